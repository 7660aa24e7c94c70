#include "bench/loadgen/http_response_parser.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace parley::bench {

std::optional<HttpResponse> HttpResponseParser::Take(bool* malformed) {
  *malformed = false;
  const size_t head_end = buffer_.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(buffer_).substr(0, head_end), "\r\n");
  // "HTTP/1.1 200 OK"
  if (lines.empty() || lines[0].size() < 12 ||
      !absl::SimpleAtoi(lines[0].substr(9, 3), &response.status)) {
    *malformed = true;
    return std::nullopt;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  size_t body_start = head_end + 4;
  if (absl::EqualsIgnoreCase(response.Header("transfer-encoding"), "chunked")) {
    size_t at = body_start;
    std::string body;
    while (true) {
      const size_t line_end = buffer_.find("\r\n", at);
      if (line_end == std::string::npos) return std::nullopt;
      size_t size = 0;
      std::string size_text = buffer_.substr(at, line_end - at);
      size_text = size_text.substr(0, size_text.find(';'));
      if (!absl::SimpleHexAtoi(size_text, &size)) {
        *malformed = true;
        return std::nullopt;
      }
      if (buffer_.size() < line_end + 2 + size + 2) return std::nullopt;
      body.append(buffer_, line_end + 2, size);
      at = line_end + 2 + size + 2;
      if (size == 0) break;
    }
    response.body = std::move(body);
    buffer_.erase(0, at);
    return response;
  }
  size_t length = 0;
  const std::string content_length = response.Header("content-length");
  if (!content_length.empty() && !absl::SimpleAtoi(content_length, &length)) {
    *malformed = true;
    return std::nullopt;
  }
  if (buffer_.size() < body_start + length) return std::nullopt;
  response.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return response;
}

}  // namespace parley::bench
