#ifndef PARLEY_COMMON_HTTP_LISTENER_H_
#define PARLEY_COMMON_HTTP_LISTENER_H_

#include <httplib.h>

#include <chrono>
#include <thread>

namespace parley {

// Runs `server`'s accept loop (after bind_to_port) on a new thread and returns once the loop
// is running. cpp-httplib 0.11.4's stop() does nothing before that point, so a SIGTERM
// right after start-up would otherwise leave the loop running and the join hanging (found
// by a test that stops the programs as soon as they log their port). Header-only: for
// targets that link cpp-httplib.
inline std::thread ListenInBackground(httplib::Server& server) {
  std::thread listener([&server] { server.listen_after_bind(); });
  // listen_after_bind sets is_running at once; it only fails to if the socket is bad, so
  // the wait is bounded rather than trusted.
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return listener;
}

}  // namespace parley

#endif  // PARLEY_COMMON_HTTP_LISTENER_H_
