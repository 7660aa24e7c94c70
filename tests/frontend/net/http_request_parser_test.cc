#include "frontend/net/http_request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace parley::frontend {
namespace {

using Status = HttpRequestParser::Status;

// Feeds `bytes` in pieces of `step` and returns the last status.
Status FeedInPieces(HttpRequestParser& parser, const std::string& bytes, size_t step,
                    std::string* rest = nullptr) {
  std::string input;
  Status status = Status::kNeedMore;
  for (size_t at = 0; at < bytes.size(); at += step) {
    input.append(bytes, at, step);
    do {
      status = parser.Feed(input);
    } while (status == Status::kHeadComplete);
    if (status == Status::kComplete || status == Status::kError) {
      input.append(bytes, std::min(bytes.size(), at + step), std::string::npos);
      break;
    }
  }
  if (rest != nullptr) *rest = input;
  return status;
}

TEST(HttpRequestParserTest, AGetInOnePieceOrOneByteAtATime) {
  const std::string get =
      "GET /api/poll?cursor=5&presence=lobby%3A3 HTTP/1.1\r\nHost: x\r\nX-A:  b \r\n\r\n";
  RequestPool pool;
  pool.Bind();
  for (auto [step, with_pool] : {std::pair{get.size(), false}, std::pair{size_t{1}, false},
                                 std::pair{size_t{7}, false}, std::pair{get.size(), true}}) {
    HttpRequestParser parser({}, with_pool ? &pool : nullptr);
    ASSERT_EQ(FeedInPieces(parser, get, step), Status::kComplete) << step;
    const httplib::Request& request = parser.request();
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.path, "/api/poll");
    EXPECT_EQ(request.target, "/api/poll?cursor=5&presence=lobby%3A3");
    EXPECT_EQ(request.get_param_value("cursor"), "5");
    EXPECT_EQ(request.get_param_value("presence"), "lobby:3");
    EXPECT_EQ(request.get_header_value("x-a"), "b");  // names case-insensitive, value trimmed
    EXPECT_TRUE(parser.keep_alive());
  }
}

TEST(HttpRequestParserTest, BodiesByLengthAndChunkedAndPipelinedRequestsStayInTheInput) {
  const std::string post =
      "POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  const std::string chunked =
      "POST /put_post/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{1000}}) {
    HttpRequestParser parser({});
    std::string rest;
    ASSERT_EQ(FeedInPieces(parser, post + chunked, step, &rest), Status::kComplete);
    EXPECT_EQ(parser.request().body, "hello");
    parser.Reset();
    ASSERT_EQ(FeedInPieces(parser, rest, step, &rest), Status::kComplete);
    EXPECT_EQ(parser.request().body, "abcde");
    EXPECT_EQ(parser.request().path, "/put_post/a");
    EXPECT_EQ(rest, "");
  }
}

TEST(HttpRequestParserTest, KeepAliveFollowsVersionAndConnection) {
  struct Case {
    std::string head;
    bool keep_alive;
  };
  for (const Case& c : {Case{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
                        Case{"GET / HTTP/1.0\r\n\r\n", false},
                        Case{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true}}) {
    HttpRequestParser parser({});
    std::string input = c.head;
    ASSERT_EQ(parser.Feed(input), Status::kComplete) << c.head;
    EXPECT_EQ(parser.keep_alive(), c.keep_alive) << c.head;
  }
}

TEST(HttpRequestParserTest, ExpectContinueIsReportedWithTheHead) {
  HttpRequestParser parser({});
  std::string input =
      "POST /api/messages HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(parser.Feed(input), Status::kHeadComplete);
  EXPECT_TRUE(parser.expects_continue());
  EXPECT_EQ(parser.Feed(input), Status::kNeedMore);
  input = "ok";
  EXPECT_EQ(parser.Feed(input), Status::kComplete);
  EXPECT_EQ(parser.request().body, "ok");
}

TEST(HttpRequestParserTest, EveryLimitAndMalformationHasItsStatus) {
  RequestLimits limits;
  limits.max_body_bytes = 10;
  const std::string big_header(9000, 'a');
  struct Case {
    std::string bytes;
    int status;
    std::string code;
  };
  std::string many_headers = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) absl::StrAppend(&many_headers, "X-", i, ": v\r\n");
  many_headers += "\r\n";
  const Case cases[] = {
      {"GET /" + std::string(9000, 'a'), 414, "uri_too_long"},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + big_header, 431, "headers_too_large"},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + big_header + "\r\n\r\n", 431, "headers_too_large"},
      {"GET / HTTP/1.1\r\n" + std::string(17000, 'h'), 431, "headers_too_large"},
      {many_headers, 431, "too_many_headers"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 413, "too_large"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n", 413,
       "too_large"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400,
       "bad_request"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
       "bad_request"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "bad_request"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
       "bad_request"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc", 400,
       "bad_request"},
      {"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417, "expectation_failed"},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"},
      {"GET / FTP/1.0\r\n\r\n", 400, "bad_request"},
      {"GET /\r\n\r\n", 400, "bad_request"},
      {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\n\r\n", 400, "bad_request"},  // no Host
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n", 400, "bad_request"},
  };
  RequestPool pool;
  pool.Bind();
  for (const Case& c : cases) {
    HttpRequestParser parser(limits, &pool);
    ASSERT_EQ(FeedInPieces(parser, c.bytes, c.bytes.size()), Status::kError)
        << c.bytes.substr(0, 80);
    EXPECT_EQ(parser.error().status, c.status) << c.bytes.substr(0, 80);
    EXPECT_EQ(parser.error().code, c.code) << c.bytes.substr(0, 80);
    EXPECT_FALSE(parser.keep_alive());
  }
}

TEST(HttpRequestParserTest, LeadingEmptyLinesAreSkippedAndStartedTellsABytesArrival) {
  HttpRequestParser parser({});
  std::string input = "\r\n\r\n";
  EXPECT_EQ(parser.Feed(input), Status::kNeedMore);
  EXPECT_FALSE(parser.started());
  input += "GET / HTTP/1.1\r\nHo";
  EXPECT_EQ(parser.Feed(input), Status::kNeedMore);
  EXPECT_TRUE(parser.started());
  input += "st: x\r\n\r\n";
  EXPECT_EQ(parser.Feed(input), Status::kComplete);
}

// With a pool, a plain query is split by our own code and anything else by httplib's: the
// parameters must be what httplib alone makes of it, whichever way a query goes.
TEST(HttpRequestParserTest, WithAPoolTheQueryIsReadAsHttplibReadsIt) {
  std::string many;
  for (int i = 0; i < 20; ++i) absl::StrAppend(&many, "k", i, "=v&");
  const std::string queries[] = {
      "a=1&b=2", "a=1&a=1", "a=1&a=2&a=1", "=x",       "a=", "a", "a=b=c",  "&&a=1&",
      "a=%41",   "a=+b",    "a=%zz&b=%",   "a=1&=&==", many, "",  "x=1;y=2"};
  RequestPool pool;
  pool.Bind();
  HttpRequestParser parser({}, &pool);
  for (const std::string& query : queries) {
    const std::string get = "GET /p?" + query + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(FeedInPieces(parser, get, get.size()), Status::kComplete) << query;
    httplib::Params expected;
    httplib::detail::parse_query_text(query, expected);
    httplib::Request request = parser.TakeRequest();
    EXPECT_EQ(request.params, expected) << query;
    pool.Give(std::move(request));
    parser.Reset();
  }
}

// A recycled request starts empty: nothing of the request it carried before shows through.
TEST(HttpRequestParserTest, ARecycledRequestCarriesNothingOver) {
  RequestPool pool;
  pool.Bind();
  HttpRequestParser parser({}, &pool);
  const std::string first =
      "POST /first?a=1&b=2 HTTP/1.1\r\nHost: one\r\nX-Only-First: yes\r\n"
      "Content-Length: 5\r\n\r\nhello";
  ASSERT_EQ(FeedInPieces(parser, first, first.size()), Status::kComplete);
  httplib::Request taken = parser.TakeRequest();
  taken.remote_addr = "10.0.0.1";
  parser.Reset();
  EXPECT_EQ(taken.body, "hello");  // the taken request is its own
  EXPECT_EQ(taken.get_header_value("X-Only-First"), "yes");
  pool.Give(std::move(taken));
  EXPECT_EQ(pool.kept_requests(), 1u);

  // The parser fills what it holds (a new request), and takes the recycled one in its place.
  parser.Reset();
  const std::string second = "GET /second HTTP/1.1\r\nHost: two\r\n\r\n";
  ASSERT_EQ(FeedInPieces(parser, second, second.size()), Status::kComplete);
  EXPECT_EQ(parser.TakeRequest().path, "/second");
  EXPECT_EQ(pool.kept_requests(), 0u);

  parser.Reset();
  const std::string third = "GET /third HTTP/1.1\r\nHost: three\r\n\r\n";
  ASSERT_EQ(FeedInPieces(parser, third, third.size()), Status::kComplete);
  httplib::Request request = parser.TakeRequest();  // the recycled one
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/third");
  EXPECT_EQ(request.target, "/third");
  EXPECT_TRUE(request.params.empty());
  EXPECT_TRUE(request.body.empty());
  EXPECT_TRUE(request.remote_addr.empty());
  EXPECT_FALSE(request.has_header("X-Only-First"));
  EXPECT_FALSE(request.has_header("Content-Length"));
  EXPECT_EQ(request.get_header_value("Host"), "three");
  EXPECT_EQ(request.headers.size(), 1u);
}

}  // namespace
}  // namespace parley::frontend
