#ifndef PARLEY_TESTS_TESTING_SILENT_PROXY_H_
#define PARLEY_TESTS_TESTING_SILENT_PROXY_H_

#include <atomic>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace parley::testing {

// A TCP forwarder on 127.0.0.1 in front of a loopback port: each connection accepted gets
// its own connection to the target, and one thread copies both ways. Silence() stops copying
// on the connections open now without closing or resetting them, which to their peers looks
// like a machine that vanished (no FIN, no RST, nothing answers); connections made later are
// forwarded as before. Cut() is the crash instead. Thread-safe.
class SilentProxy {
 public:
  explicit SilentProxy(int target_port);
  ~SilentProxy();
  SilentProxy(const SilentProxy&) = delete;
  SilentProxy& operator=(const SilentProxy&) = delete;

  int port() const { return port_; }
  int connections_accepted() const { return accepted_.load(); }
  void Silence();
  // Resets every connection and refuses new ones (the listening socket closes): to its peers,
  // a machine whose process crashed.
  void Cut();

 private:
  struct Pair {
    int client;
    int target;
    bool silent = false;
  };
  void Run();

  const int target_port_;
  std::atomic<int> listen_fd_{-1};
  int port_ = 0;
  int wake_[2] = {-1, -1};  // a pipe: Silence() and the destructor wake the thread
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  absl::Mutex mu_;
  std::vector<Pair> pairs_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_SILENT_PROXY_H_
