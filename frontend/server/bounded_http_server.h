#ifndef PARLEY_FRONTEND_SERVER_BOUNDED_HTTP_SERVER_H_
#define PARLEY_FRONTEND_SERVER_BOUNDED_HTTP_SERVER_H_

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "frontend/server/connection_stream.h"

namespace parley::frontend {

// A connection as its handlers may see it: the connection loop keeps one on its stack and
// points a thread-local at it while it serves the connection. Only that worker thread
// touches it.
struct ServedConnection {
  int socket = -1;
  // For HangupWatcher: its registration of this socket (0: none yet).
  uint64_t hangup_id = 0;
  // Runs once when the connection ends, before its socket is closed.
  std::function<void()> on_close;
};

// cpp-httplib's Server with our own connection loop (its private virtual
// process_and_close_socket, overridden): every request is read through a ConnectionStream
// (whole-request deadline, head size caps answered with 408/414/431), and an idle keep-alive
// connection waits in one poll() on its socket and a stop signal instead of cpp-httplib
// 0.11.4's 10 ms polling loop, which cost a core at 2,000 idle connections (bench/README.md).
//
// Configure (SetLimits) before listening. The connection loop runs on the task queue's
// worker threads, one connection per thread; Interrupt() may be called from any thread.
class BoundedHttpServer final : public httplib::Server {
 public:
  BoundedHttpServer();
  ~BoundedHttpServer() override;

  void SetLimits(const RequestReadLimits& limits, absl::Duration keep_alive_timeout,
                 size_t keep_alive_max_requests);
  // Wakes every idle keep-alive connection so it closes (for shutdown). Idempotent.
  void Interrupt();
  // The connection the calling worker thread is serving (for a handler), or null on any
  // other thread.
  static ServedConnection* Serving();

 private:
  bool process_and_close_socket(socket_t sock) override;
  // The loop of requests on one connection; false if the last one failed.
  bool ServeConnection(int sock);
  // Waits up to `timeout` for the next request's first byte; false on timeout or Interrupt.
  bool WaitForRequest(int socket, absl::Duration timeout) const;

  RequestReadLimits limits_;
  absl::Duration keep_alive_timeout_ = absl::Seconds(5);
  size_t keep_alive_max_requests_ = 1000;
  const int stop_event_;  // eventfd, readable once Interrupt() ran
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SERVER_BOUNDED_HTTP_SERVER_H_
