#ifndef PARLEY_TESTS_TESTING_REDIS_SERVER_H_
#define PARLEY_TESTS_TESTING_REDIS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace parley::testing {

// A redis-server of the test's own (Debian's, installed by scripts/install-deps.sh) on a free
// loopback port, with its data in a fresh temporary directory: AOF on (appendfsync everysec,
// or always), no RDB snapshots, maxmemory-policy noeviction. Stopped and its directory
// removed on destruction. Used from one test thread.
class RedisServer {
 public:
  struct Options {
    bool appendfsync_always = false;
    std::string password;  // requirepass, when not empty
  };

  RedisServer() : RedisServer(Options()) {}
  explicit RedisServer(Options options);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT", as --redis takes it
  bool running() const { return process_ != nullptr; }

  // SIGKILL: what was not yet fsynced is lost, as in a crash.
  void Kill();
  // SIGTERM and wait: a clean shutdown.
  void Stop();
  // Starts again on the same port and directory (so from its AOF); waits until it serves.
  void Start();
  // SIGSTOP / SIGCONT: a Redis that keeps its connections but answers nothing.
  void Freeze();
  void Thaw();

  // Runs one command with a short-lived synchronous connection; the reply rendered as text
  // (arrays one element per line), or the error.
  absl::StatusOr<std::string> Run(const std::vector<std::string>& command);

 private:
  bool Launch();

  const Options options_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_REDIS_SERVER_H_
