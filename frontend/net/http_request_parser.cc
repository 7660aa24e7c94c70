#include "frontend/net/http_request_parser.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace parley::frontend {
namespace {

constexpr size_t kMaxChunkSizeLine = 1024;

// RFC 9110 token characters (methods, header names).
bool IsToken(absl::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c)) continue;
    if (absl::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) ==
        absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

// The end of the head (one past its blank line), or npos; searched from `from`.
size_t FindHeadEnd(absl::string_view input, size_t from) {
  for (size_t at = input.find('\n', from); at != absl::string_view::npos;
       at = input.find('\n', at + 1)) {
    if (at + 1 < input.size() && input[at + 1] == '\n') return at + 2;
    if (at + 2 < input.size() && input[at + 1] == '\r' && input[at + 2] == '\n') return at + 3;
  }
  return absl::string_view::npos;
}

absl::string_view WithoutCr(absl::string_view line) {
  absl::ConsumeSuffix(&line, "\r");
  return line;
}

// Adds the parameters of `query` to `params` as httplib::detail::parse_query_text would
// (pairs split at '&' and '=', empty pieces skipped, the last '=' piece the value, a pair
// repeated verbatim taken once) when nothing in it needs decoding or trimming ('%', '+',
// blanks) and it has few pairs; returns false, adding nothing, otherwise.
constexpr size_t kMaxPlainQueryPairs = 16;
bool AddPlainQuery(absl::string_view query, RequestPool& pool, httplib::Params& params) {
  if (query.find_first_of("%+ \t") != absl::string_view::npos) return false;
  if (static_cast<size_t>(std::count(query.begin(), query.end(), '&')) >= kMaxPlainQueryPairs) {
    return false;
  }
  std::array<absl::string_view, kMaxPlainQueryPairs> seen;
  size_t seen_count = 0;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    if (std::find(seen.begin(), seen.begin() + seen_count, pair) != seen.begin() + seen_count) {
      continue;
    }
    seen[seen_count++] = pair;
    absl::string_view key;
    absl::string_view value;
    for (absl::string_view piece : absl::StrSplit(pair, '=', absl::SkipEmpty())) {
      (key.empty() ? key : value) = piece;
    }
    if (!key.empty()) pool.AddParam(params, key, value);
  }
  return true;
}

}  // namespace

void HttpRequestParser::Reset() {
  stage_ = Stage::kHead;
  started_ = false;
  keep_alive_ = true;
  expects_continue_ = false;
  remaining_ = 0;
  scanned_ = 0;
  trailer_bytes_ = 0;
  if (pool_ != nullptr) {
    pool_->Clear(request_);
  } else {
    request_ = httplib::Request();
  }
  if (!error_.message.empty()) error_ = RequestError();
}

httplib::Request HttpRequestParser::TakeRequest() {
  return std::exchange(request_, pool_ != nullptr ? pool_->Take() : httplib::Request());
}

void HttpRequestParser::AddHeader(absl::string_view name, absl::string_view value) {
  if (pool_ != nullptr) {
    pool_->AddHeader(request_.headers, name, value);
  } else {
    request_.headers.emplace(std::string(name), std::string(value));
  }
}

HttpRequestParser::Status HttpRequestParser::Fail(int status, std::string code,
                                                  std::string message) {
  error_ = {status, std::move(code), std::move(message)};
  keep_alive_ = false;
  stage_ = Stage::kDone;
  return Status::kError;
}

HttpRequestParser::Status HttpRequestParser::Complete() {
  stage_ = Stage::kDone;
  // A form's fields join the query's in `params`, as cpp-httplib's own server does.
  if (absl::StartsWithIgnoreCase(request_.get_header_value("Content-Type"),
                                 "application/x-www-form-urlencoded")) {
    httplib::detail::parse_query_text(request_.body, request_.params);
  }
  return Status::kComplete;
}

HttpRequestParser::Status HttpRequestParser::Feed(std::string& input) {
  if (stage_ == Stage::kDone) return error_.message.empty() ? Status::kComplete : Status::kError;
  if (stage_ != Stage::kHead) return FeedBody(input);
  // Empty lines before a request line are skipped (RFC 9112 2.2).
  while (!started_ && !input.empty() && (input[0] == '\r' || input[0] == '\n')) {
    if (input[0] == '\r' && input.size() < 2) return Status::kNeedMore;
    input.erase(0, input[0] == '\r' && input[1] == '\n' ? 2 : 1);
  }
  if (input.empty()) return Status::kNeedMore;
  started_ = true;
  const size_t end = FindHeadEnd(input, scanned_);
  if (end == std::string::npos) {
    const size_t first_line = input.find('\n');
    if (first_line == std::string::npos && input.size() > limits_.max_request_line) {
      return Fail(414, "uri_too_long", "the request line is longer than 8 KiB");
    }
    if (input.size() > limits_.max_header_bytes) {
      return Fail(
          431, "headers_too_large",
          absl::StrCat("the request head is larger than ", limits_.max_header_bytes, " bytes"));
    }
    const size_t last_line = input.rfind('\n');
    if (input.size() - (last_line == std::string::npos ? 0 : last_line + 1) >
        limits_.max_header_line) {
      return Fail(431, "headers_too_large", "a header line is longer than 8 KiB");
    }
    scanned_ = input.size() < 2 ? 0 : input.size() - 2;
    return Status::kNeedMore;
  }
  const Status head = ParseHead(absl::string_view(input).substr(0, end));
  input.erase(0, end);
  if (head != Status::kHeadComplete) return head;
  if (stage_ == Stage::kDone) return Status::kComplete;  // no body
  return Status::kHeadComplete;
}

bool HttpRequestParser::ParseRequestLine(absl::string_view line) {
  // Exactly three parts, one space apart.
  const size_t first = line.find(' ');
  const size_t second = first == absl::string_view::npos ? first : line.find(' ', first + 1);
  if (second == absl::string_view::npos || line.find(' ', second + 1) != absl::string_view::npos) {
    return false;
  }
  const absl::string_view method = line.substr(0, first);
  const absl::string_view target = line.substr(first + 1, second - first - 1);
  const absl::string_view version = line.substr(second + 1);
  if (!IsToken(method) || target.empty()) return false;
  request_.method.assign(method.data(), method.size());
  request_.target.assign(target.data(), target.size());
  request_.version.assign(version.data(), version.size());
  const size_t query = target.find('?');
  const absl::string_view path = target.substr(0, query);
  if (path.find('%') == absl::string_view::npos) {
    request_.path.assign(path.data(), path.size());  // decoding would not change it
  } else {
    request_.path = httplib::detail::decode_url(std::string(path), false);
  }
  if (query != absl::string_view::npos) {
    const absl::string_view text = target.substr(query + 1);
    if (pool_ == nullptr || !AddPlainQuery(text, *pool_, request_.params)) {
      httplib::detail::parse_query_text(std::string(text), request_.params);
    }
  }
  return true;
}

HttpRequestParser::Status HttpRequestParser::ParseHead(absl::string_view head) {
  if (head.size() > limits_.max_header_bytes) {
    return Fail(
        431, "headers_too_large",
        absl::StrCat("the request head is larger than ", limits_.max_header_bytes, " bytes"));
  }
  // `head` ends with its blank line (Feed found it), and has no other: its lines up to that.
  absl::string_view rest = head;
  auto next_line = [&rest] {
    const size_t end = rest.find('\n');
    const absl::string_view line = WithoutCr(rest.substr(0, end));
    rest = end == absl::string_view::npos ? absl::string_view() : rest.substr(end + 1);
    return line;
  };
  const absl::string_view request_line = next_line();
  if (request_line.empty()) return Fail(400, "bad_request", "empty request");
  if (request_line.size() > limits_.max_request_line) {
    return Fail(414, "uri_too_long", "the request line is longer than 8 KiB");
  }
  if (!ParseRequestLine(request_line)) {
    return Fail(400, "bad_request", "malformed request line");
  }
  if (request_.version != "HTTP/1.1" && request_.version != "HTTP/1.0") {
    if (absl::StartsWith(request_.version, "HTTP/")) {
      return Fail(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
    }
    return Fail(400, "bad_request", "malformed request line");
  }
  // Every line but the request line and the blank one is a header.
  if (static_cast<size_t>(std::count(rest.begin(), rest.end(), '\n')) - 1 > limits_.max_headers) {
    return Fail(431, "too_many_headers",
                absl::StrCat("more than ", limits_.max_headers, " headers"));
  }
  for (absl::string_view line = next_line(); !line.empty(); line = next_line()) {
    if (line.size() > limits_.max_header_line) {
      return Fail(431, "headers_too_large", "a header line is longer than 8 KiB");
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
      return Fail(400, "bad_request", "malformed header line");  // also obsolete folding
    }
    AddHeader(line.substr(0, colon), absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  const bool http11 = request_.version == "HTTP/1.1";
  if (http11 && !request_.has_header("Host")) {
    return Fail(400, "bad_request", "an HTTP/1.1 request needs a Host header");
  }
  const std::string connection = absl::AsciiStrToLower(request_.get_header_value("Connection"));
  keep_alive_ = http11 ? !absl::StrContains(connection, "close")
                       : absl::StrContains(connection, "keep-alive");
  if (request_.has_header("Expect")) {
    if (!absl::EqualsIgnoreCase(request_.get_header_value("Expect"), "100-continue")) {
      return Fail(417, "expectation_failed", "only Expect: 100-continue is understood");
    }
    expects_continue_ = http11;
  }
  if (request_.has_header("Transfer-Encoding")) {
    if (request_.has_header("Content-Length")) {
      return Fail(400, "bad_request", "both Content-Length and Transfer-Encoding");
    }
    if (!absl::EqualsIgnoreCase(request_.get_header_value("Transfer-Encoding"), "chunked") ||
        request_.get_header_value_count("Transfer-Encoding") != 1) {
      return Fail(501, "not_implemented", "only the chunked transfer coding is understood");
    }
    stage_ = Stage::kChunkSize;
    return Status::kHeadComplete;
  }
  uint64_t length = 0;
  const size_t lengths = request_.get_header_value_count("Content-Length");
  for (size_t i = 0; i < lengths; ++i) {
    const std::string value = request_.get_header_value("Content-Length", i);
    uint64_t parsed = 0;
    if (value.empty() || !std::all_of(value.begin(), value.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(value, &parsed) || (i > 0 && parsed != length)) {
      return Fail(400, "bad_request", "malformed Content-Length");
    }
    length = parsed;
  }
  if (length > limits_.max_body_bytes) {
    return Fail(413, "too_large",
                absl::StrCat("the body is larger than ", limits_.max_body_bytes, " bytes"));
  }
  remaining_ = length;
  stage_ = length > 0 ? Stage::kBody : Stage::kDone;
  return Status::kHeadComplete;
}

HttpRequestParser::Status HttpRequestParser::FeedBody(std::string& input) {
  while (true) {
    switch (stage_) {
      case Stage::kBody:
      case Stage::kChunkData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size()));
        request_.body.append(input, 0, take);
        input.erase(0, take);
        remaining_ -= take;
        if (remaining_ > 0) return Status::kNeedMore;
        if (stage_ == Stage::kBody) return Complete();
        stage_ = Stage::kChunkEnd;
        break;
      }
      case Stage::kChunkSize: {
        const size_t end = input.find('\n');
        if (end == std::string::npos) {
          if (input.size() > kMaxChunkSizeLine) return Fail(400, "bad_request", "bad chunk size");
          return Status::kNeedMore;
        }
        absl::string_view size_text = WithoutCr(absl::string_view(input).substr(0, end));
        size_text = size_text.substr(0, size_text.find(';'));  // extensions are ignored
        size_text = absl::StripAsciiWhitespace(size_text);
        uint64_t size = 0;
        if (size_text.empty() || size_text.size() > 15 || !absl::SimpleHexAtoi(size_text, &size) ||
            !std::all_of(size_text.begin(), size_text.end(), absl::ascii_isxdigit)) {
          return Fail(400, "bad_request", "bad chunk size");
        }
        input.erase(0, end + 1);
        if (request_.body.size() + size > limits_.max_body_bytes) {
          return Fail(413, "too_large",
                      absl::StrCat("the body is larger than ", limits_.max_body_bytes, " bytes"));
        }
        remaining_ = size;
        stage_ = size == 0 ? Stage::kTrailers : Stage::kChunkData;
        break;
      }
      case Stage::kChunkEnd:
        if (input.empty() || (input[0] == '\r' && input.size() < 2)) return Status::kNeedMore;
        if (absl::StartsWith(input, "\r\n")) {
          input.erase(0, 2);
        } else if (input[0] == '\n') {
          input.erase(0, 1);
        } else {
          return Fail(400, "bad_request", "a chunk does not end with CRLF");
        }
        stage_ = Stage::kChunkSize;
        break;
      case Stage::kTrailers: {
        const size_t end = input.find('\n');
        if (end == std::string::npos) {
          if (input.size() > limits_.max_header_line) {
            return Fail(431, "headers_too_large", "a trailer line is longer than 8 KiB");
          }
          return Status::kNeedMore;
        }
        const bool last = WithoutCr(absl::string_view(input).substr(0, end)).empty();
        input.erase(0, end + 1);  // trailer fields are not used
        trailer_bytes_ += end + 1;
        if (trailer_bytes_ > limits_.max_header_bytes) {
          return Fail(431, "headers_too_large", "the trailers are too large");
        }
        if (last) return Complete();
        break;
      }
      case Stage::kHead:
      case Stage::kDone:
        return Status::kError;  // not reached: Feed routes these
    }
  }
}

}  // namespace parley::frontend
