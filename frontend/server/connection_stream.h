#ifndef PARLEY_FRONTEND_SERVER_CONNECTION_STREAM_H_
#define PARLEY_FRONTEND_SERVER_CONNECTION_STREAM_H_

#include <httplib.h>

#include <array>
#include <cstddef>
#include <string>

#include "absl/time/time.h"

namespace parley::frontend {

// The limits a ConnectionStream enforces while a request is read.
struct RequestReadLimits {
  // The whole request (line, headers, body) must arrive within this, however it trickles.
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);  // per send, as cpp-httplib does
  size_t max_request_line_bytes = 8 * 1024;          // beyond: 414
  size_t max_header_bytes = 16 * 1024;               // request line + headers; beyond: 431
  size_t max_header_lines = 100;                     // headers; beyond: 431
};

// One client connection, as the byte stream cpp-httplib parses requests from. It replaces
// cpp-httplib 0.11.4's SocketStream because that one bounds each recv, not the request: a
// client trickling a byte every few seconds could hold a thread forever (slowloris), and a
// request line or header block had no total size cap. This stream gives each request one
// deadline, counts the bytes and lines of its head, and when a limit is broken answers the
// client itself (408, 414 or 431, JSON, Connection: close) and fails every later read and
// write so cpp-httplib drops the connection.
//
// Lives on the stack of the one worker thread that serves the connection; not thread-safe.
// Does not own the socket.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int socket, const RequestReadLimits& limits);

  // Starts the next request on this connection: resets the head counters and the deadline.
  void BeginRequest();
  // True once the stream has answered a broken limit itself; the connection must close.
  bool rejected() const { return rejected_; }
  // True when bytes of the next request are already buffered (pipelining).
  bool HasBufferedBytes() const { return read_pos_ < read_end_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return socket_; }

 private:
  // Waits until the socket is readable or the request's deadline passes.
  bool WaitReadable() const;
  // Counts `bytes` handed to cpp-httplib against the head limits; false if one broke.
  bool CountHead(const char* bytes, size_t size);
  void Reject(int status, const char* code, const std::string& message);

  const int socket_;
  const RequestReadLimits limits_;
  absl::Time deadline_ = absl::InfiniteFuture();

  std::array<char, 4096> buffer_;
  size_t read_pos_ = 0;
  size_t read_end_ = 0;

  // The head of the current request, as handed out so far.
  bool in_head_ = true;
  size_t head_bytes_ = 0;
  size_t head_lines_ = 0;
  size_t line_bytes_ = 0;  // of the current line, without its end
  bool rejected_ = false;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SERVER_CONNECTION_STREAM_H_
