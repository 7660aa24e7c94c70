// Raw bytes through the event-loop server's request parser (frontend/net), fed in pieces of
// the sizes the input itself chooses, as reads from a socket would arrive. Checks what the
// server relies on: every request either completes within the limits or is refused with one
// of the statuses the server answers with, and the parser always makes progress. Requests
// come from a RequestPool, as on the server, and are given back to it: a recycled request's
// path and query parameters must be what httplib's own helpers make of its target.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "frontend/net/http_request_parser.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using parley::frontend::HttpRequestParser;
  static const std::set<int> kRefusals = {400, 413, 414, 417, 431, 501, 505};
  parley::frontend::RequestLimits limits;
  limits.max_body_bytes = 1024;
  static parley::frontend::RequestPool* pool = [] {
    auto* made = new parley::frontend::RequestPool();
    made->Bind();
    return made;
  }();
  HttpRequestParser parser(limits, pool);
  std::string input;
  size_t at = 0;
  while (at < size) {
    // The first byte of each piece says how long the piece is.
    const size_t piece = std::min<size_t>(size - at - 1, 1 + data[at] % 64);
    input.append(reinterpret_cast<const char*>(data + at + 1), piece);
    at += 1 + piece;
    while (true) {
      const size_t before = input.size();
      const HttpRequestParser::Status status = parser.Feed(input);
      Check(input.size() <= before);
      if (status == HttpRequestParser::Status::kHeadComplete) continue;
      if (status == HttpRequestParser::Status::kError) {
        Check(kRefusals.count(parser.error().status) == 1);
        Check(!parser.error().code.empty() && !parser.keep_alive());
        return 0;  // the server closes the connection
      }
      if (status == HttpRequestParser::Status::kComplete) {
        httplib::Request request = parser.TakeRequest();
        Check(request.body.size() <= limits.max_body_bytes);
        Check(!request.method.empty() && !request.target.empty());
        const size_t query = request.target.find('?');
        Check(request.path == httplib::detail::decode_url(request.target.substr(0, query), false));
        if (!absl::StartsWithIgnoreCase(request.get_header_value("Content-Type"),
                                        "application/x-www-form-urlencoded")) {
          httplib::Params expected;
          if (query != std::string::npos) {
            httplib::detail::parse_query_text(request.target.substr(query + 1), expected);
          }
          Check(request.params == expected);
        }
        pool->Give(std::move(request));
        parser.Reset();
        if (!input.empty()) continue;  // a pipelined request
      }
      break;  // kNeedMore (or nothing left after a request)
    }
    // A connection never buffers more than a request head may hold.
    Check(input.size() <= limits.max_header_bytes);
  }
  return 0;
}
