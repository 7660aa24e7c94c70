#ifndef PARLEY_FRONTEND_NET_HTTP_REQUEST_PARSER_H_
#define PARLEY_FRONTEND_NET_HTTP_REQUEST_PARSER_H_

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "frontend/net/request_pool.h"

namespace parley::frontend {

// What a request may be at most (the frontend's flags and fixed caps).
struct RequestLimits {
  size_t max_request_line = 8 * 1024;   // 414 beyond
  size_t max_header_bytes = 16 * 1024;  // request line + headers: 431 beyond
  size_t max_header_line = 8 * 1024;    // one header: 431 beyond
  size_t max_headers = 100;             // 431 beyond
  size_t max_body_bytes = 16 * 1024;    // 413 beyond
};

// Why a request was refused: the HTTP status and the JSON error code to answer with.
struct RequestError {
  int status = 400;
  std::string code = "bad_request";
  std::string message;
};

// An incremental HTTP/1.1 request parser: request line, headers, and a body by Content-Length
// or chunked transfer coding (extensions and trailers skipped). Fed whatever bytes arrived;
// keeps no copy of them beyond the request it builds. cpp-httplib 0.11.4 keeps its own
// parser private, so this is ours; the request it fills is httplib's public `Request`
// (query and form bodies decoded with httplib's public `detail::parse_query_text`).
//
// With a RequestPool the request it fills is a recycled one, its headers and query parameters
// in recycled nodes; a query or path that needs decoding is left to httplib's helpers.
//
// Not thread-safe: one per connection, used on the connection's loop thread.
class HttpRequestParser {
 public:
  enum class Status { kNeedMore, kHeadComplete, kComplete, kError };

  // `pool` (null: none) is the loop's, outliving the parser.
  explicit HttpRequestParser(const RequestLimits& limits, RequestPool* pool = nullptr)
      : limits_(limits), pool_(pool) {}

  // Consumes bytes from the front of `input` (what it used is erased; a pipelined next
  // request stays). kHeadComplete is returned once, when the head is in and a body is still
  // to come (the caller may answer `Expect: 100-continue` then); feed on until kComplete.
  // After kComplete or kError, Reset() before the next request.
  Status Feed(std::string& input);
  void Reset();

  // Valid from kHeadComplete (head) / kComplete (body).
  httplib::Request& request() { return request_; }
  // The complete request, moved out; the parser holds an empty one (from the pool) instead.
  httplib::Request TakeRequest();
  bool keep_alive() const { return keep_alive_; }
  bool expects_continue() const { return expects_continue_; }
  // True once any byte of the current request has arrived.
  bool started() const { return started_; }
  const RequestError& error() const { return error_; }

 private:
  enum class Stage { kHead, kBody, kChunkSize, kChunkData, kChunkEnd, kTrailers, kDone };

  Status Fail(int status, std::string code, std::string message);
  Status Complete();
  Status ParseHead(absl::string_view head);
  bool ParseRequestLine(absl::string_view line);
  void AddHeader(absl::string_view name, absl::string_view value);
  Status FeedBody(std::string& input);

  const RequestLimits limits_;
  RequestPool* const pool_;
  Stage stage_ = Stage::kHead;
  bool started_ = false;
  bool keep_alive_ = true;
  bool expects_continue_ = false;
  uint64_t remaining_ = 0;  // body or chunk bytes still to read
  size_t scanned_ = 0;      // bytes of the head already searched for its end
  size_t trailer_bytes_ = 0;
  httplib::Request request_;
  RequestError error_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_NET_HTTP_REQUEST_PARSER_H_
