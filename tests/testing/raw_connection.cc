#include "tests/testing/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/time/clock.h"

namespace parley::testing {

RawConnection::RawConnection(int port, uint32_t source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(source);
  if (source != INADDR_LOOPBACK &&
      ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
      (errno != EINTR || !FinishInterruptedConnect())) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    errno = error;
  }
}

// A signal (libFuzzer's SIGALRM watchdog, installed without SA_RESTART) can interrupt a
// connect that waits for the handshake; the handshake goes on, and calling connect again
// would fail with EALREADY. So wait until the socket is writable and read its outcome.
bool RawConnection::FinishInterruptedConnect() {
  pollfd entry{fd_, POLLOUT, 0};
  while (::poll(&entry, 1, -1) < 0) {
    if (errno != EINTR) return false;
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return false;
  errno = error;
  return error == 0;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

bool RawConnection::CloseWrite() { return ::shutdown(fd_, SHUT_WR) == 0; }

RawConnection::ReadResult RawConnection::ReadOnce(absl::Time give_up) {
  char buffer[4096];
  while (true) {
    const int64_t millis = absl::ToInt64Milliseconds(give_up - absl::Now());
    if (millis <= 0) return ReadResult::kTimedOut;
    pollfd entry{fd_, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(millis)) <= 0) continue;
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ReadResult::kClosed;
    received_.append(buffer, static_cast<size_t>(n));
    return ReadResult::kData;
  }
}

bool RawConnection::ReadUntilClosed(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    const ReadResult result = ReadOnce(give_up);
    if (result != ReadResult::kData) return result == ReadResult::kClosed;
  }
}

bool RawConnection::ReadUntilContains(absl::string_view needle, absl::Duration timeout, int count) {
  const absl::Time give_up = absl::Now() + timeout;
  auto found = [&] {
    int seen = 0;
    for (size_t at = received_.find(needle.data(), 0, needle.size()); at != std::string::npos;
         at = received_.find(needle.data(), at + needle.size(), needle.size())) {
      if (++seen >= count) return true;
    }
    return false;
  };
  while (!found()) {
    if (ReadOnce(give_up) != ReadResult::kData) return found();
  }
  return true;
}

bool RawConnection::PeerClosed() {
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      received_.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }
}

void RawConnection::Reset() {
  linger reset{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace parley::testing
