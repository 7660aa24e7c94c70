// The frontend when the broker goes away and comes back, under many held polls, and on
// shutdown.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "parley/v1/broker.pb.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/parley_stack.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/silent_proxy.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::FromJson;
using ::parley::testing::ParleyStack;
using ::parley::testing::RawConnection;
using ::parley::testing::SilentProxy;
using ::parley::testing::WaitFor;

TEST(ResilienceTest, BrokerDownMeans503FastAndRestartNeedsNoFrontendRestart) {
  ParleyStack stack;
  const std::string alice = stack.LogIn("alice");
  stack.StopBroker();

  for (const char* what : {"poll", "post"}) {
    const absl::Time started = absl::Now();
    httplib::Result result =
        std::string(what) == "poll"
            ? stack.Get(alice, "/api/poll?cursor=0&wait=20")
            : stack.PostJson(alice, "/api/messages", R"({"room":"lobby","text":"hi"})");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 503) << what << ": " << result->body;
    EXPECT_FALSE(result->get_header_value("Retry-After").empty()) << what;
    EXPECT_LT(absl::Now() - started, absl::Seconds(10)) << what;  // not the poll's 20 s
  }
  // The frontend stays in rotation (it answers, with Retry-After); the broker's state is
  // told apart.
  EXPECT_EQ(stack.Client()->Get("/readyz")->status, 200);
  httplib::Result broker_state = stack.Client()->Get("/readyz/broker");
  ASSERT_TRUE(broker_state);
  EXPECT_EQ(broker_state->status, 503) << broker_state->body;

  stack.StartBroker();  // same port, empty state: alice's session is reconnected on use
  ASSERT_TRUE(WaitFor([&] { return stack.Client()->Get("/readyz/broker")->status == 200; },
                      absl::Seconds(10)));
  httplib::Result sent =
      stack.PostJson(alice, "/api/messages", R"({"room":"lobby","text":"back"})");
  EXPECT_EQ(sent->status, 200) << sent->body;
  const auto polled =
      FromJson<v1::PollResponse>(stack.Get(alice, "/api/poll?cursor=0&wait=0")->body);
  ASSERT_GT(polled.messages_size(), 0);
  EXPECT_EQ(polled.messages(polled.messages_size() - 1).text(), "back");
}

// A broker that hangs (its connection stays open and nothing answers, as with a stopped
// process or a vanished machine) gives 503 once --broker_timeout has passed, not a hang.
// (A held long poll cannot tell a hung broker from a quiet one; its stream's keepalive finds
// the silence: PollStreamKeepaliveTest.ABrokerGoneSilentIsNoticedInSecondsAndThePollMovesOn.)
TEST(ResilienceTest, AHungBrokerMeans503WithinTheBrokerTimeout) {
  ParleyStack stack;
  const std::string broker_address = stack.broker().address();
  int broker_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(broker_address.substr(broker_address.rfind(':') + 1), &broker_port));
  SilentProxy proxy(broker_port);
  FrontendOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.broker = absl::StrCat("127.0.0.1:", proxy.port());
  options.broker_timeout = absl::Seconds(1);
  auto frontend = FrontendServer::Start(options, ParleyStack::kSecret);
  ASSERT_TRUE(frontend.ok()) << frontend.status();
  httplib::Client client("127.0.0.1", (*frontend)->port());
  client.set_read_timeout(30, 0);  // a hang shows as one, not as the client giving up
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_EQ(login->status, 200) << login->body;
  const httplib::Headers auth = {
      {"Authorization", "Bearer " + FromJson<v1::SessionInfo>(login->body).token()}};

  proxy.Silence();
  for (const char* what : {"post", "rooms", "login"}) {
    const absl::Time started = absl::Now();
    const std::string which = what;
    httplib::Result result =
        which == "post"    ? client.Post("/api/messages", auth, R"({"room":"lobby","text":"hi"})",
                                         "application/json")
        : which == "rooms" ? client.Get("/api/rooms", auth)
                           : client.Post("/api/session", R"({"name":"bob"})", "application/json");
    const absl::Duration took = absl::Now() - started;
    ASSERT_TRUE(result) << what;
    EXPECT_EQ(result->status, 503) << what << ": " << result->body;
    EXPECT_FALSE(result->get_header_value("Retry-After").empty()) << what;
    EXPECT_GE(took, absl::Milliseconds(900)) << what;  // it waited for the broker
    EXPECT_LT(took, absl::Seconds(10)) << what;        // and not for ever
  }
  (*frontend)->Shutdown();
}

// What docs/operations.md says an in-memory broker's restart loses, item by item, and what
// users keep. (The Redis store loses none of it:
// RedisTopologyTest.AllBrokersRestartedKeepEveryEpochCursorAndMessage and
// RedisTopologyTest.AReplayedTokenAfterLogoutStaysRefusedAcrossABrokerRestart.)
TEST(ResilienceTest, AnInMemoryBrokersRestartLosesWhatTheOperationsGuideSays) {
  ParleyStack stack;
  const std::string alice = stack.LogIn("alice");
  const std::string bob = stack.LogIn("bob");
  const std::string carol = stack.LogIn("carol");
  ASSERT_EQ(stack.PostJson(alice, "/api/rooms/games/join", "")->status, 200);
  ASSERT_EQ(stack.Say(alice, "in the history", "games", "h1")->status, 200);
  const auto before = FromJson<v1::SessionInfo>(stack.Get(bob, "/api/session")->body);
  ASSERT_EQ(stack.Say(alice, "unread by bob", "lobby", "k1")->status, 200);
  // Until the restart, the key is remembered: its resend is a duplicate.
  httplib::Result remembered = stack.Say(alice, "unread by bob", "lobby", "k1");
  ASSERT_EQ(remembered->status, 200);
  ASSERT_TRUE(FromJson<v1::PublishResponse>(remembered->body).duplicate());
  auto client = stack.Client();
  ASSERT_EQ(client->Delete("/api/session", {{"Authorization", "Bearer " + carol}})->status, 200);
  ASSERT_EQ(stack.Get(carol, "/api/session")->status, 401);  // logged out

  stack.StopBroker();
  stack.StartBroker();
  ASSERT_TRUE(WaitFor([&] { return stack.Client()->Get("/readyz/broker")->status == 200; }));

  // Lost: bob's unread line (his old epoch is answered at once, with the gap)...
  httplib::Result polled =
      stack.Get(bob, absl::StrCat("/api/poll?wait=0&cursor=0&epoch=", before.epoch()));
  ASSERT_EQ(polled->status, 200) << polled->body;
  const auto answer = FromJson<v1::PollResponse>(polled->body);
  EXPECT_TRUE(answer.gap());
  EXPECT_NE(answer.epoch(), before.epoch());
  for (const v1::Message& message : answer.messages()) EXPECT_NE(message.text(), "unread by bob");
  // ...the room and its history, the logout (carol's token works again), and the
  // idempotency key (the same clientId is stored again).
  EXPECT_EQ(stack.Get(alice, "/api/rooms/games/history")->status, 404);
  EXPECT_EQ(stack.Get(carol, "/api/session")->status, 200);
  httplib::Result resent = stack.Say(alice, "unread by bob", "lobby", "k1");
  ASSERT_EQ(resent->status, 200);
  EXPECT_FALSE(FromJson<v1::PublishResponse>(resent->body).duplicate());
  // Kept: the session and the name (bob's token still works, as bob).
  EXPECT_EQ(FromJson<v1::SessionInfo>(stack.Get(bob, "/api/session")->body).user(), "bob");
}

TEST(ResilienceTest, FiveHundredHeldPollsAllAnsweredByOnePost) {
  constexpr int kPollers = 500;
  ParleyStack stack;
  const std::string poster = stack.LogIn("poster");
  std::vector<std::string> tokens;
  std::vector<uint64_t> cursors;
  for (int i = 0; i < kPollers; ++i) tokens.push_back(stack.LogIn(absl::StrCat("u", i)));
  for (const std::string& token : tokens) {
    cursors.push_back(FromJson<v1::SessionInfo>(stack.Get(token, "/api/session")->body).cursor());
  }
  std::atomic<int> delivered{0};
  std::vector<std::thread> pollers;
  for (int i = 0; i < kPollers; ++i) {
    pollers.emplace_back([&, i] {
      httplib::Result result =
          stack.Get(tokens[i], absl::StrCat("/api/poll?cursor=", cursors[i], "&wait=25"));
      if (!result || result->status != 200) return;
      const auto polled = FromJson<v1::PollResponse>(result->body);
      for (const v1::Message& message : polled.messages()) {
        if (message.text() == "to everyone") delivered.fetch_add(1);
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return stack.broker().ParkedPolls() == kPollers; }, absl::Seconds(30)))
      << stack.broker().ParkedPolls();
  ASSERT_EQ(
      stack.PostJson(poster, "/api/messages", R"({"room":"lobby","text":"to everyone"})")->status,
      200);
  for (std::thread& poller : pollers) poller.join();
  EXPECT_EQ(delivered.load(), kPollers);
}

TEST(ResilienceTest, ShutdownAnswersHeldPollsAtOnceAndTurnsNotReady) {
  ParleyStack stack;
  const std::string alice = stack.LogIn("alice");
  EXPECT_EQ(stack.Client()->Get("/readyz")->status, 200);
  int held_status = 0;
  std::string held_body;
  absl::Time answered;
  std::thread poller([&] {
    httplib::Result held = stack.Get(alice, "/api/poll?cursor=1&wait=25");
    if (held) {
      held_status = held->status;
      held_body = held->body;
    }
    answered = absl::Now();
  });
  ASSERT_TRUE(WaitFor([&] { return stack.broker().ParkedPolls() == 1; }));
  const absl::Time began = absl::Now();
  stack.frontend().BeginShutdown();
  poller.join();
  EXPECT_EQ(held_status, 200) << held_body;
  EXPECT_EQ(FromJson<v1::PollResponse>(held_body).messages_size(), 0);
  EXPECT_LT(answered - began, absl::Seconds(10));  // not the poll's 25 s
  httplib::Result ready = stack.Client()->Get("/readyz");
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(stack.Get(alice, "/api/rooms")->status, 503);
}

// Holds one 30 s poll on a raw connection, then `go_away` ends the connection. The frontend
// sees it at once (its loop watches the socket while the request is out) and cancels the poll: long
// before its 30 s, nothing of it is left (no parked waiter, open connection, server call or
// held-poll count), and the request is counted as 499. With `first_poll`, the connection first
// carries a poll that answers at once (pipelined), so the held one is the connection's second.
void ExpectHeldPollLetGoWhenClientLeaves(const std::function<void(RawConnection&)>& go_away,
                                         bool first_poll = false) {
  ParleyStack stack;
  const std::string alice = stack.LogIn("alice");
  const uint64_t cursor =
      FromJson<v1::SessionInfo>(stack.Get(alice, "/api/session")->body).cursor();
  const int64_t idle_poll_calls = stack.broker().server().live_poll_calls();
  auto connection = std::make_unique<RawConnection>(stack.port());
  ASSERT_TRUE(connection->ok());
  const auto poll = [&](int wait) {
    return absl::StrCat("GET /api/poll?wait=", wait, "&cursor=", cursor,
                        " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ", alice, "\r\n\r\n");
  };
  ASSERT_TRUE(connection->Send(absl::StrCat(first_poll ? poll(0) : "", poll(30))));
  ASSERT_TRUE(WaitFor([&] { return stack.broker().ParkedPolls() == 1; }));
  go_away(*connection);
  connection.reset();
  ASSERT_TRUE(WaitFor(
      [&] {
        return stack.broker().ParkedPolls() == 0 && stack.frontend().open_connections() == 0 &&
               stack.broker().server().live_poll_calls() == idle_poll_calls &&
               stack.Client()->Get("/metrics")->body.find("parley_frontend_held_polls 0") !=
                   std::string::npos;
      },
      absl::Seconds(15)));  // half the poll's own 30 s
  EXPECT_NE(stack.Client()->Get("/metrics")->body.find("code=\"499\""), std::string::npos);
  // The user is still served normally afterwards.
  EXPECT_EQ(stack.Get(alice, absl::StrCat("/api/poll?wait=0&cursor=", cursor))->status, 200);
}

TEST(ResilienceTest, AClientThatResetsMidPollIsLetGoAtOnce) {
  ExpectHeldPollLetGoWhenClientLeaves([](RawConnection& connection) { connection.Reset(); });
}

TEST(ResilienceTest, AClientThatClosesMidPollIsLetGoAtOnce) {
  ExpectHeldPollLetGoWhenClientLeaves([](RawConnection&) {});  // closed politely (FIN)
}

TEST(ResilienceTest, AKeepAliveClientThatLeavesDuringItsSecondPollIsLetGoAtOnce) {
  ExpectHeldPollLetGoWhenClientLeaves([](RawConnection&) {}, /*first_poll=*/true);
}

TEST(ResilienceTest, BeyondMaxConnectionsNewRequestsGet503AtOnce) {
  frontend::FrontendOptions options;
  options.max_connections = 2;
  ParleyStack stack(options);
  const std::string alice = stack.LogIn("alice");
  const std::string bob = stack.LogIn("bob");
  const uint64_t alice_cursor =
      FromJson<v1::SessionInfo>(stack.Get(alice, "/api/session")->body).cursor();
  const uint64_t bob_cursor =
      FromJson<v1::SessionInfo>(stack.Get(bob, "/api/session")->body).cursor();
  // The logins' connections are closed by their clients; until the loop has seen them go they
  // still count, and a poll arriving meanwhile would be refused (CI's loaded machine did so).
  ASSERT_TRUE(WaitFor([&] { return stack.frontend().open_connections() == 0; }));
  std::vector<std::thread> held;
  int statuses[2] = {0, 0};  // of the held polls, once answered
  held.emplace_back([&] {
    httplib::Result r = stack.Get(alice, absl::StrCat("/api/poll?wait=25&cursor=", alice_cursor));
    statuses[0] = r ? r->status : -1;
  });
  held.emplace_back([&] {
    httplib::Result r = stack.Get(bob, absl::StrCat("/api/poll?wait=25&cursor=", bob_cursor));
    statuses[1] = r ? r->status : -1;
  });
  const bool parked = WaitFor([&] { return stack.broker().ParkedPolls() == 2; }) &&
                      WaitFor([&] { return stack.frontend().open_connections() == 2; });
  if (!parked) {
    stack.frontend().BeginShutdown();  // answers the held polls
    for (std::thread& thread : held) thread.join();
    FAIL() << "the two polls did not both park; their answers: " << statuses[0] << ", "
           << statuses[1];
  }

  const absl::Time started = absl::Now();
  httplib::Result refused = stack.Client()->Get("/healthz");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->body.find("at_capacity"), std::string::npos);
  EXPECT_FALSE(refused->get_header_value("Retry-After").empty());
  EXPECT_LT(absl::Now() - started, absl::Seconds(10));  // not after the held polls' 25 s

  stack.frontend().BeginShutdown();  // answers the held polls
  for (std::thread& thread : held) thread.join();
}

}  // namespace
}  // namespace parley::frontend
