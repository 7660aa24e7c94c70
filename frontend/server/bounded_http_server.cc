#include "frontend/server/bounded_http_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "absl/time/clock.h"

namespace parley::frontend {
namespace {

// The connection this worker thread is serving (process_and_close_socket sets it).
thread_local ServedConnection* serving = nullptr;

// After answering a broken limit, the client may still be sending: read and drop what comes
// for a moment, so closing does not reset the connection before the answer is read.
void DrainBeforeClose(int socket) {
  ::shutdown(socket, SHUT_WR);
  char sink[4096];
  size_t drained = 0;
  pollfd entry{socket, POLLIN, 0};
  while (drained < 256 * 1024 && ::poll(&entry, 1, 500) > 0) {
    const ssize_t n = ::recv(socket, sink, sizeof sink, 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

}  // namespace

BoundedHttpServer::BoundedHttpServer() : stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

BoundedHttpServer::~BoundedHttpServer() {
  if (stop_event_ >= 0) ::close(stop_event_);
}

void BoundedHttpServer::SetLimits(const RequestReadLimits& limits,
                                  absl::Duration keep_alive_timeout,
                                  size_t keep_alive_max_requests) {
  limits_ = limits;
  keep_alive_timeout_ = keep_alive_timeout;
  keep_alive_max_requests_ = keep_alive_max_requests;
}

void BoundedHttpServer::Interrupt() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(stop_event_, &one, sizeof one);
}

bool BoundedHttpServer::WaitForRequest(int socket, absl::Duration timeout) const {
  const absl::Time until = absl::Now() + timeout;
  while (true) {
    const int64_t millis = absl::ToInt64Milliseconds(until - absl::Now());
    if (millis <= 0) return false;
    pollfd entries[2] = {{socket, POLLIN, 0}, {stop_event_, POLLIN, 0}};
    const int ready = ::poll(entries, 2, static_cast<int>(std::min<int64_t>(millis, 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0 && entries[1].revents == 0 && entries[0].revents != 0;
  }
}

ServedConnection* BoundedHttpServer::Serving() { return serving; }

bool BoundedHttpServer::process_and_close_socket(socket_t sock) {
  ServedConnection connection;
  connection.socket = sock;
  serving = &connection;
  const bool ok = ServeConnection(sock);
  if (connection.on_close) connection.on_close();
  serving = nullptr;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

bool BoundedHttpServer::ServeConnection(int sock) {
  ConnectionStream stream(sock, limits_);
  bool ok = false;
  stream.BeginRequest();  // the first request's deadline runs from the accept
  for (size_t served = 0; served < keep_alive_max_requests_ && is_running(); ++served) {
    if (served == 0) {
      if (!WaitForRequest(sock, limits_.request_timeout)) break;
    } else {
      if (!stream.HasBufferedBytes() && !WaitForRequest(sock, keep_alive_timeout_)) break;
      stream.BeginRequest();
    }
    bool close_requested = false;
    ok = process_request(stream, served + 1 == keep_alive_max_requests_, close_requested, nullptr);
    if (!ok || close_requested || stream.rejected()) break;
  }
  if (stream.rejected()) DrainBeforeClose(sock);
  return ok;
}

}  // namespace parley::frontend
