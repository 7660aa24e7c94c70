#include "frontend/server/connection_stream.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"

namespace parley::frontend {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 408:
      return "Request Timeout";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Bad Request";
  }
}

// poll() for `events` on `socket`, retried on EINTR, for at most `timeout` (>= 0).
bool PollFor(int socket, short events, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (true) {
    const int64_t millis = std::max<int64_t>(
        0, absl::ToInt64Milliseconds(absl::Ceil(until - absl::Now(), absl::Milliseconds(1))));
    pollfd entry{socket, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::min<int64_t>(millis, 1 << 30)));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

void IpAndPort(const sockaddr_storage& address, socklen_t length, std::string& ip, int& port) {
  char host[NI_MAXHOST] = {};
  char service[NI_MAXSERV] = {};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host, sizeof host, service,
                    sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

}  // namespace

ConnectionStream::ConnectionStream(int socket, const RequestReadLimits& limits)
    : socket_(socket), limits_(limits) {}

void ConnectionStream::BeginRequest() {
  deadline_ = absl::Now() + limits_.request_timeout;
  in_head_ = true;
  head_bytes_ = 0;
  head_lines_ = 0;
  line_bytes_ = 0;
}

bool ConnectionStream::WaitReadable() const {
  const absl::Duration left = deadline_ - absl::Now();
  return left > absl::ZeroDuration() && PollFor(socket_, POLLIN, left);
}

bool ConnectionStream::is_readable() const {
  return !rejected_ && (read_pos_ < read_end_ || WaitReadable());
}

bool ConnectionStream::is_writable() const {
  return !rejected_ && PollFor(socket_, POLLOUT, limits_.write_timeout);
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (rejected_) return -1;
  if (read_pos_ == read_end_) {
    if (!WaitReadable()) {
      // Silence on a fresh request is an idle connection going away, not an error to report.
      if (head_bytes_ > 0 || !in_head_) {
        Reject(408, "request_timeout",
               absl::StrCat("the request did not arrive within ",
                            absl::FormatDuration(limits_.request_timeout)));
      }
      return -1;
    }
    ssize_t received;
    do {
      received = ::recv(socket_, buffer_.data(), buffer_.size(), 0);
    } while (received < 0 && errno == EINTR);
    if (received <= 0) return received;
    read_pos_ = 0;
    read_end_ = static_cast<size_t>(received);
  }
  const size_t count = std::min(size, read_end_ - read_pos_);
  const char* bytes = buffer_.data() + read_pos_;
  if (in_head_ && !CountHead(bytes, count)) return -1;
  std::memcpy(ptr, bytes, count);
  read_pos_ += count;
  return static_cast<ssize_t>(count);
}

bool ConnectionStream::CountHead(const char* bytes, size_t size) {
  for (size_t i = 0; i < size && in_head_; ++i) {
    ++head_bytes_;
    if (bytes[i] == '\n') {
      if (head_lines_ > 0 && line_bytes_ == 0) {
        in_head_ = false;  // the blank line: what follows is the body
        break;
      }
      ++head_lines_;
      line_bytes_ = 0;
    } else if (bytes[i] != '\r') {
      ++line_bytes_;
    }
    if (head_lines_ == 0 && line_bytes_ > limits_.max_request_line_bytes) {
      Reject(414, "uri_too_long",
             absl::StrCat("the request line is over ", limits_.max_request_line_bytes, " bytes"));
      return false;
    }
    if (line_bytes_ > limits_.max_request_line_bytes || head_bytes_ > limits_.max_header_bytes) {
      Reject(431, "headers_too_large",
             absl::StrCat("the request headers are over ", limits_.max_header_bytes,
                          " bytes (or one is over ", limits_.max_request_line_bytes, ")"));
      return false;
    }
    if (head_lines_ > limits_.max_header_lines + 1) {  // the request line is not a header
      Reject(431, "too_many_headers",
             absl::StrCat("the request has over ", limits_.max_header_lines, " headers"));
      return false;
    }
  }
  return true;
}

void ConnectionStream::Reject(int status, const char* code, const std::string& message) {
  httplib::Response response;
  AddSecurityHeaders(response);
  WriteError(response, {status, code, message});
  std::string answer = absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status), "\r\n");
  for (const auto& [name, value] : response.headers)
    absl::StrAppend(&answer, name, ": ", value, "\r\n");
  absl::StrAppend(&answer, "Content-Length: ", response.body.size(),
                  "\r\nConnection: close\r\n\r\n", response.body);
  size_t sent = 0;
  while (sent < answer.size() && PollFor(socket_, POLLOUT, limits_.write_timeout)) {
    const ssize_t n = ::send(socket_, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
    if (n <= 0 && errno != EINTR) break;
    if (n > 0) sent += static_cast<size_t>(n);
  }
  rejected_ = true;
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  ssize_t sent;
  do {
    sent = ::send(socket_, ptr, size, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return sent;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(socket_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    IpAndPort(address, length, ip, port);
  }
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    IpAndPort(address, length, ip, port);
  }
}

}  // namespace parley::frontend
