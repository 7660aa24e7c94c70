// Clients that send too slowly or too much: each is cut off with a clear answer, and none of
// them can keep the frontend from serving everyone else.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/parley_stack.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::ParleyStack;
using ::parley::testing::RawConnection;
using ::parley::testing::WaitFor;

// Long enough that "at once" below (at most 1.5 s on a loaded machine) comes well before it.
constexpr absl::Duration kRequestTimeout = absl::Seconds(3);
// A trickle no deadline cuts goes on this long; one cut by kRequestTimeout ends well inside
// kCutWithin, whatever the load (the margin is for sanitizer builds on a busy machine).
constexpr absl::Duration kTrickleFor = absl::Seconds(30);
const absl::Duration kCutWithin = kRequestTimeout + absl::Seconds(10);

FrontendOptions ShortTimeouts() {
  FrontendOptions options;
  options.read_timeout = kRequestTimeout;
  return options;
}

// Sends `head` then one more header byte every 100 ms until the frontend closes the
// connection, for at most `give_up`. Returns how long the connection lasted, or give_up.
absl::Duration Trickle(RawConnection& connection, const std::string& head, absl::Duration give_up) {
  const absl::Time started = absl::Now();
  EXPECT_TRUE(connection.Send(head));
  while (absl::Now() - started < give_up) {
    if (connection.PeerClosed() || !connection.Send("x")) return absl::Now() - started;
    absl::SleepFor(absl::Milliseconds(100));  // the client's trickle rate, not a wait
  }
  return give_up;
}

void ExpectJsonAnswer(const std::string& answer, int status, const std::string& code) {
  EXPECT_TRUE(absl::StartsWith(answer, absl::StrCat("HTTP/1.1 ", status, " "))) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "Content-Type: application/json")) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "Connection: close")) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "X-Content-Type-Options: nosniff")) << answer;
  EXPECT_TRUE(absl::StrContains(answer, absl::StrCat(R"("code":")", code, "\""))) << answer;
}

TEST(SlowClientTest, TrickledHeadersAreCutWhenTheRequestTimeoutPasses) {
  ParleyStack stack(ShortTimeouts());
  RawConnection connection(stack.port());
  ASSERT_TRUE(connection.ok());
  // Each byte comes well inside any per-read timeout; only a whole-request deadline ends it.
  const absl::Duration lasted =
      Trickle(connection, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", kTrickleFor);
  EXPECT_LT(lasted, kCutWithin);
  ASSERT_TRUE(connection.ReadUntilClosed(absl::Seconds(5)));
  ExpectJsonAnswer(connection.received(), 408, "request_timeout");
  EXPECT_TRUE(WaitFor([&] { return stack.frontend().open_connections() == 0; }));
}

TEST(SlowClientTest, TrickledBodiesAreCutToo) {
  ParleyStack stack(ShortTimeouts());
  RawConnection connection(stack.port());
  ASSERT_TRUE(connection.ok());
  const absl::Duration lasted =
      Trickle(connection,
              "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Content-Length: 1000\r\n\r\n{\"name\":\"",
              kTrickleFor);
  EXPECT_LT(lasted, kCutWithin);
  connection.ReadUntilClosed(absl::Seconds(5));
  ExpectJsonAnswer(connection.received(), 408, "request_timeout");
}

TEST(SlowClientTest, AConnectionThatNeverSpeaksIsClosedQuietly) {
  ParleyStack stack(ShortTimeouts());
  RawConnection connection(stack.port());
  ASSERT_TRUE(connection.ok());
  ASSERT_TRUE(connection.ReadUntilClosed(kRequestTimeout + absl::Seconds(3)));
  EXPECT_EQ(connection.received(), "");
}

TEST(SlowClientTest, SlowClientsFillingThePoolGetNobodyStuck) {
  FrontendOptions options = ShortTimeouts();
  options.max_connections = 4;
  ParleyStack stack(options);
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<RawConnection>(stack.port()));
    ASSERT_TRUE(slow.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  }
  ASSERT_TRUE(WaitFor([&] { return stack.frontend().open_connections() == 4; }));
  // While the pool is full of slow clients, a new client is told so at once: before their
  // deadline has cut any of them.
  httplib::Result refused = stack.Client()->Get("/healthz");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->body.find("at_capacity"), std::string::npos);
  for (auto& connection : slow) EXPECT_FALSE(connection->PeerClosed());
  // ...and once their deadline has cut them off, it is served.
  for (auto& connection : slow) EXPECT_TRUE(connection->ReadUntilClosed(absl::Seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return stack.frontend().open_connections() == 0; }));
  httplib::Result served = stack.Client()->Get("/healthz");
  ASSERT_TRUE(served) << httplib::to_string(served.error());
  // Once seen under ASan in CI with a status not 200; its body says which answer it was.
  EXPECT_EQ(served->status, 200) << served->body;
}

TEST(SlowClientTest, OversizedHeadsGet431Or414) {
  ParleyStack stack;
  {
    RawConnection connection(stack.port());
    std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 20; ++i)
      absl::StrAppend(&head, "X-Big-", i, ": ", std::string(1000, 'a'), "\r\n");
    connection.Send(absl::StrCat(head, "\r\n"));
    ASSERT_TRUE(connection.ReadUntilClosed(absl::Seconds(5)));
    ExpectJsonAnswer(connection.received(), 431, "headers_too_large");
  }
  {
    RawConnection connection(stack.port());
    connection.Send(absl::StrCat(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-One: ", std::string(9000, 'a'), "\r\n\r\n"));
    ASSERT_TRUE(connection.ReadUntilClosed(absl::Seconds(5)));
    ExpectJsonAnswer(connection.received(), 431, "headers_too_large");
  }
  for (int headers : {100, 101}) {  // Host, Connection and the rest X-n
    RawConnection connection(stack.port());
    std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    for (int i = 2; i < headers; ++i) absl::StrAppend(&head, "X-", i, ": 1\r\n");
    connection.Send(absl::StrCat(head, "\r\n"));
    ASSERT_TRUE(connection.ReadUntilClosed(absl::Seconds(5)));
    if (headers == 100) {
      EXPECT_TRUE(absl::StartsWith(connection.received(), "HTTP/1.1 200 "))
          << connection.received();
    } else {
      ExpectJsonAnswer(connection.received(), 431, "too_many_headers");
    }
  }
  {
    RawConnection connection(stack.port());
    connection.Send(
        absl::StrCat("GET /", std::string(10'000, 'a'), " HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(connection.ReadUntilClosed(absl::Seconds(5)));
    ExpectJsonAnswer(connection.received(), 414, "uri_too_long");
  }
  {  // A request line without end never makes the frontend buffer more than the cap.
    RawConnection connection(stack.port());
    std::string endless = "GET /";
    endless.append(1 << 20, 'a');
    connection.Send(endless);  // may fail part-way: the frontend stops reading at the cap
    ASSERT_TRUE(connection.ReadUntilClosed(absl::Seconds(5)));
    ExpectJsonAnswer(connection.received(), 414, "uri_too_long");
  }
  // A head just inside the limits is served, and so is everyone after the rejected ones.
  httplib::Headers headers;
  for (int i = 0; i < 50; ++i) headers.emplace(absl::StrCat("X-", i), std::string(100, 'b'));
  httplib::Result fine = stack.Client()->Get("/healthz", headers);
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

TEST(SlowClientTest, ManyRequestsOnOneConnectionIncludingPipelined) {
  ParleyStack stack;
  RawConnection connection(stack.port());
  std::string two;
  for (int i = 0; i < 2; ++i) absl::StrAppend(&two, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  connection.Send(
      absl::StrCat(two, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(connection.ReadUntilClosed(absl::Seconds(5)));
  const std::string& answers = connection.received();
  size_t count = 0;
  for (size_t at = answers.find("HTTP/1.1 200"); at != std::string::npos;
       at = answers.find("HTTP/1.1 200", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << answers;
}

}  // namespace
}  // namespace parley::frontend
