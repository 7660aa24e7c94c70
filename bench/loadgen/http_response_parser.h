#ifndef PARLEY_BENCH_LOADGEN_HTTP_RESPONSE_PARSER_H_
#define PARLEY_BENCH_LOADGEN_HTTP_RESPONSE_PARSER_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace parley::bench {

// One HTTP/1.1 response: status, headers (names lower-cased) and body.
struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Incremental parser for responses on a keep-alive connection: feed bytes as they arrive,
// take a response when one is complete. Handles Content-Length and chunked bodies.
// Single-threaded (one per connection).
class HttpResponseParser {
 public:
  void Feed(absl::string_view bytes) { buffer_.append(bytes.data(), bytes.size()); }
  // A complete response if the buffer holds one (removed from the buffer); nullopt if more
  // bytes are needed. Sets *malformed on a response that cannot be parsed.
  std::optional<HttpResponse> Take(bool* malformed);
  void Reset() { buffer_.clear(); }

 private:
  std::string buffer_;
};

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_HTTP_RESPONSE_PARSER_H_
