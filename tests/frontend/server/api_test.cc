// The JSON API end to end: posting, long polls, cursors, rooms.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "parley/v1/broker.pb.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/parley_stack.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::FromJson;
using ::parley::testing::ParleyStack;
using ::parley::testing::WaitFor;

std::vector<std::string> Texts(const v1::PollResponse& polled) {
  std::vector<std::string> texts;
  for (const v1::Message& message : polled.messages()) {
    if (message.kind() == v1::CHAT || message.kind() == v1::DIRECT) {
      texts.push_back(message.text());
    }
  }
  return texts;
}

class ApiTest : public ::testing::Test {
 protected:
  v1::PollResponse Poll(const std::string& token, uint64_t cursor, int wait_s = 0) {
    httplib::Result result =
        stack_.Get(token, absl::StrCat("/api/poll?cursor=", cursor, "&wait=", wait_s));
    EXPECT_TRUE(result);
    if (!result) return {};
    EXPECT_EQ(result->status, 200) << result->body;
    return FromJson<v1::PollResponse>(result->body);
  }

  uint64_t CursorNow(const std::string& token) {
    return FromJson<v1::SessionInfo>(stack_.Get(token, "/api/session")->body).cursor();
  }

  ParleyStack stack_;
};

TEST_F(ApiTest, PostThenPoll) {
  const std::string alice = stack_.LogIn("alice");
  const uint64_t cursor = CursorNow(alice);
  httplib::Result sent = stack_.Say(alice, "hello");
  ASSERT_EQ(sent->status, 200) << sent->body;
  EXPECT_EQ(FromJson<v1::PublishResponse>(sent->body).message().text(), "hello");
  const v1::PollResponse polled = Poll(alice, cursor);
  EXPECT_THAT(Texts(polled), ::testing::ElementsAre("hello"));
  EXPECT_EQ(polled.cursor(), cursor + 1);
}

TEST_F(ApiTest, LongPollIsWokenByAnotherUsersPost) {
  const std::string alice = stack_.LogIn("alice");
  const std::string bob = stack_.LogIn("bob");
  const uint64_t cursor = CursorNow(bob);
  v1::PollResponse polled;
  absl::Time answered;
  std::thread poller([&] {
    polled = Poll(bob, cursor, 20);
    answered = absl::Now();
  });
  ASSERT_TRUE(WaitFor([&] { return stack_.broker().ParkedPolls() == 1; }));
  const absl::Time posted = absl::Now();
  ASSERT_EQ(stack_.Say(alice, "wake up")->status, 200);
  poller.join();
  EXPECT_THAT(Texts(polled), ::testing::ElementsAre("wake up"));
  EXPECT_LT(answered - posted, absl::Seconds(5));  // not the 20 s wait
}

TEST_F(ApiTest, WaitExpiryAnswers200Empty) {
  const std::string alice = stack_.LogIn("alice");
  const uint64_t cursor = CursorNow(alice);
  const absl::Time asked = absl::Now();
  const v1::PollResponse polled = Poll(alice, cursor, 1);
  EXPECT_GE(absl::Now() - asked, absl::Milliseconds(950));  // it waited the second asked for
  EXPECT_EQ(polled.messages_size(), 0);
  EXPECT_EQ(polled.cursor(), cursor);
}

TEST_F(ApiTest, CursorResumeAfterAPauseLosesNothing) {
  const std::string alice = stack_.LogIn("alice");
  const std::string bob = stack_.LogIn("bob");
  uint64_t cursor = CursorNow(bob);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(stack_.Say(alice, absl::StrCat("m", i))->status, 200);
  std::vector<std::string> seen;
  while (seen.size() < 5) {  // small batches, as a slow client would read them
    httplib::Result result =
        stack_.Get(bob, absl::StrCat("/api/poll?cursor=", cursor, "&wait=0&max=2"));
    const v1::PollResponse polled = FromJson<v1::PollResponse>(result->body);
    ASSERT_GT(polled.messages_size(), 0);
    for (const std::string& text : Texts(polled)) seen.push_back(text);
    cursor = polled.cursor();
  }
  EXPECT_THAT(seen, ::testing::ElementsAre("m0", "m1", "m2", "m3", "m4"));
}

TEST_F(ApiTest, TwoPollersOfOneUserBothGetEverything) {
  const std::string alice = stack_.LogIn("alice");
  const uint64_t cursor = CursorNow(alice);
  v1::PollResponse tab1, tab2;
  std::thread first([&] { tab1 = Poll(alice, cursor, 20); });
  std::thread second([&] { tab2 = Poll(alice, cursor, 20); });
  ASSERT_TRUE(WaitFor([&] { return stack_.broker().ParkedPolls() == 2; }));
  ASSERT_EQ(stack_.Say(alice, "both")->status, 200);
  first.join();
  second.join();
  EXPECT_THAT(Texts(tab1), ::testing::ElementsAre("both"));
  EXPECT_THAT(Texts(tab2), ::testing::ElementsAre("both"));
}

TEST_F(ApiTest, RetriedSendWithTheSameClientIdIsDeliveredOnce) {
  const std::string alice = stack_.LogIn("alice");
  const uint64_t cursor = CursorNow(alice);
  const auto first = FromJson<v1::PublishResponse>(stack_.Say(alice, "once", "lobby", "c-1")->body);
  const auto retry = FromJson<v1::PublishResponse>(stack_.Say(alice, "once", "lobby", "c-1")->body);
  EXPECT_TRUE(retry.duplicate());
  EXPECT_EQ(retry.message().id(), first.message().id());
  EXPECT_THAT(Texts(Poll(alice, cursor)), ::testing::ElementsAre("once"));
}

TEST_F(ApiTest, DirectMessagesReachOnlyTheirTwoParties) {
  const std::string alice = stack_.LogIn("alice");
  const std::string bob = stack_.LogIn("bob");
  const std::string carol = stack_.LogIn("carol");
  const uint64_t bob_cursor = CursorNow(bob), carol_cursor = CursorNow(carol);
  httplib::Result sent =
      stack_.PostJson(alice, "/api/messages", R"({"to":"bob","text":"psst","clientId":"d1"})");
  ASSERT_EQ(sent->status, 200) << sent->body;
  EXPECT_THAT(Texts(Poll(bob, bob_cursor)), ::testing::ElementsAre("psst"));
  EXPECT_TRUE(Texts(Poll(carol, carol_cursor)).empty());
}

// A direct message says who holds each name (fromHolder, toHolder); a send that
// names the holder it means is refused once the name is someone else's.
TEST_F(ApiTest, ADirectMessageMeantForWhoHeldANameBeforeIsRefused) {
  const std::string alice = stack_.LogIn("alice");
  const std::string bob = stack_.LogIn("bob");
  const uint64_t bob_cursor = CursorNow(bob);
  httplib::Result sent =
      stack_.PostJson(alice, "/api/messages", R"({"to":"bob","text":"hi","clientId":"h1"})");
  ASSERT_EQ(sent->status, 200) << sent->body;
  const std::string bob_holder = FromJson<v1::PublishResponse>(sent->body).message().to_holder();
  ASSERT_EQ(bob_holder.size(), 16u) << sent->body;
  const v1::PollResponse got = Poll(bob, bob_cursor);
  ASSERT_EQ(got.messages_size(), 1);
  EXPECT_EQ(got.messages(0).from_holder().size(), 16u);
  EXPECT_EQ(got.messages(0).to_holder(), bob_holder);

  // bob logs out; someone else logs in as bob and writes to alice: another holder.
  ASSERT_EQ(stack_.Client()->Delete("/api/session", {{"Authorization", "Bearer " + bob}})->status,
            200);
  const std::string newcomer = stack_.LogIn("bob");
  const uint64_t alice_cursor = CursorNow(alice);
  ASSERT_EQ(stack_.PostJson(newcomer, "/api/messages", R"({"to":"alice","text":"hey"})")->status,
            200);
  const uint64_t newcomer_cursor = CursorNow(newcomer);
  const v1::PollResponse to_alice = Poll(alice, alice_cursor);
  ASSERT_EQ(to_alice.messages_size(), 1);
  EXPECT_NE(to_alice.messages(0).from_holder(), bob_holder);
  EXPECT_EQ(to_alice.messages(0).from_holder().size(), 16u);

  httplib::Result refused = stack_.PostJson(
      alice, "/api/messages",
      absl::StrCat(R"({"to":"bob","text":"the code is 1234","toHolder":")", bob_holder, R"("})"));
  ASSERT_EQ(refused->status, 409) << refused->body;
  EXPECT_EQ(FromJson<v1::ErrorBody>(refused->body).error().code(), "recipient_changed");
  EXPECT_TRUE(Texts(Poll(newcomer, newcomer_cursor)).empty());
  httplib::Result bad = stack_.PostJson(
      alice, "/api/messages", R"({"room":"lobby","text":"x","toHolder":"0123456789abcdef"})");
  EXPECT_EQ(bad->status, 400) << bad->body;
}

TEST_F(ApiTest, RoomsJoinLeaveHistoryAndMembers) {
  const std::string alice = stack_.LogIn("alice");
  const std::string bob = stack_.LogIn("bob");
  httplib::Result created = stack_.PostJson(alice, "/api/rooms/games/join", "");
  ASSERT_EQ(created->status, 200);
  const auto first_join = FromJson<v1::JoinResponse>(created->body);
  EXPECT_TRUE(first_join.created());
  EXPECT_TRUE(first_join.joined());
  EXPECT_EQ(first_join.presence().room(), "games");
  EXPECT_EQ(first_join.presence().members(), 1u);
  ASSERT_EQ(stack_.Say(alice, "first", "games")->status, 200);
  EXPECT_EQ(stack_.Say(bob, "not yet", "games")->status, 409);  // not a member
  httplib::Result joined = stack_.PostJson(bob, "/api/rooms/games/join", "");
  ASSERT_EQ(joined->status, 200);
  const auto second_join = FromJson<v1::JoinResponse>(joined->body);
  EXPECT_FALSE(second_join.created());
  EXPECT_TRUE(second_join.joined());
  EXPECT_EQ(second_join.presence().members(), 2u);
  EXPECT_FALSE(FromJson<v1::JoinResponse>(stack_.PostJson(bob, "/api/rooms/games/join", "")->body)
                   .joined());  // already a member
  const auto history =
      FromJson<v1::HistoryResponse>(stack_.Get(bob, "/api/rooms/games/history?limit=10")->body);
  ASSERT_EQ(history.messages_size(), 1);
  EXPECT_EQ(history.messages(0).text(), "first");
  const auto members =
      FromJson<v1::MembersResponse>(stack_.Get(bob, "/api/rooms/games/members")->body);
  ASSERT_EQ(members.members_size(), 2);
  EXPECT_TRUE(members.members(0).online());
  EXPECT_THAT(FromJson<v1::RoomsResponse>(stack_.Get(bob, "/api/rooms")->body).rooms(),
              ::testing::ElementsAre("games", "lobby"));
  ASSERT_EQ(stack_.PostJson(bob, "/api/rooms/games/leave", "")->status, 200);
  // A retried leave is answered as done; a room never joined is 409.
  EXPECT_EQ(stack_.PostJson(bob, "/api/rooms/games/leave", "")->status, 200);
  EXPECT_EQ(stack_.PostJson(bob, "/api/rooms/chess/leave", "")->status, 409);
  EXPECT_EQ(stack_.Get(bob, "/api/rooms/nowhere/history")->status, 404);
}

// Scroll-back over HTTP: 100 lines a page unless asked, `older` to the page before, and a
// position that is not one a 400 naming `before`.
TEST_F(ApiTest, HistoryPagesWithBefore) {
  const std::string alice = stack_.LogIn("alice");
  std::vector<std::string> writers;  // six, each within the publish burst of 20
  for (int i = 0; i < 6; ++i) writers.push_back(stack_.LogIn(absl::StrCat("writer", i)));
  for (int i = 0; i < 103; ++i) {
    ASSERT_EQ(stack_.Say(writers[i % 6], absl::StrCat("line ", i))->status, 200) << i;
  }
  const auto newest =
      FromJson<v1::HistoryResponse>(stack_.Get(alice, "/api/rooms/lobby/history")->body);
  ASSERT_EQ(newest.messages_size(), 100);
  EXPECT_EQ(newest.messages(0).text(), "line 3");
  ASSERT_FALSE(newest.older().empty());
  const auto older = FromJson<v1::HistoryResponse>(
      stack_.Get(alice, "/api/rooms/lobby/history?limit=2&before=" + newest.older())->body);
  ASSERT_EQ(older.messages_size(), 2);
  EXPECT_EQ(older.messages(0).text(), "line 1");
  EXPECT_EQ(older.messages(1).text(), "line 2");
  const auto oldest = FromJson<v1::HistoryResponse>(
      stack_.Get(alice, "/api/rooms/lobby/history?limit=2&before=" + older.older())->body);
  ASSERT_EQ(oldest.messages_size(), 1);
  EXPECT_EQ(oldest.messages(0).text(), "line 0");
  EXPECT_EQ(oldest.older(), "");  // the start of the room
  httplib::Result bad = stack_.Get(alice, "/api/rooms/lobby/history?before=yesterday");
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, ::testing::HasSubstr("before must be a history position"));
}

// Two members make the lobby large; presence is published every 100 ms at most.
broker::BrokerServerOptions SmallPresenceThreshold() {
  broker::BrokerServerOptions options;
  options.chat.presence_events_max_members = 2;
  options.chat.presence_notify_interval = absl::Milliseconds(100);
  return options;
}

TEST(ApiPresenceTest, APollWatchingPresenceIsToldOfALargeRoomsChangesWithoutLines) {
  ParleyStack stack({}, SmallPresenceThreshold());
  const std::string alice = stack.LogIn("alice");
  stack.LogIn("bob");
  stack.LogIn("carol");
  const uint64_t cursor =
      FromJson<v1::SessionInfo>(stack.Get(alice, "/api/session")->body).cursor();
  // The first watching poll knows no versions: answered at once with every room.
  auto first = FromJson<v1::PollResponse>(
      stack.Get(alice, absl::StrCat("/api/poll?wait=10&presence=&cursor=", cursor))->body);
  ASSERT_EQ(first.presence_size(), 1);
  EXPECT_EQ(first.presence(0).room(), "lobby");
  EXPECT_EQ(first.presence(0).members(), 3u);
  EXPECT_EQ(first.presence(0).mode(), v1::PRESENCE_MODE_COUNTS);
  const std::string known = absl::StrCat("lobby:", first.presence(0).version());

  // Parked knowing that version; dave's login ends it with the new count and no JOIN line.
  std::optional<v1::PollResponse> woken;
  absl::Time asked;
  std::thread poller([&] {
    asked = absl::Now();
    httplib::Result result =
        stack.Get(alice, absl::StrCat("/api/poll?wait=20&cursor=", cursor, "&presence=", known));
    if (result && result->status == 200) woken = FromJson<v1::PollResponse>(result->body);
  });
  ASSERT_TRUE(WaitFor([&] { return stack.broker().server().state().parked_polls() == 1; }));
  stack.LogIn("dave");
  poller.join();
  ASSERT_TRUE(woken.has_value());
  EXPECT_LT(absl::Now() - asked, absl::Seconds(10));  // ended by the change, not the wait
  EXPECT_EQ(woken->messages_size(), 0);
  ASSERT_EQ(woken->presence_size(), 1);
  EXPECT_EQ(woken->presence(0).members(), 4u);
  EXPECT_EQ(woken->presence(0).online(), 4u);

  // A poll without presence= is not told.
  auto plain = FromJson<v1::PollResponse>(
      stack.Get(alice, absl::StrCat("/api/poll?wait=0&cursor=", cursor))->body);
  EXPECT_EQ(plain.presence_size(), 0);
  for (const char* bad : {"lobby", "lobby:", "lobby:x", "lo/bby:1", "lobby:1:2", "lobby:-1"}) {
    httplib::Result refused = stack.Get(alice, absl::StrCat("/api/poll?wait=0&presence=", bad));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad;
    EXPECT_THAT(refused->body, ::testing::HasSubstr("presence")) << bad;
  }
  // At most 200 pairs (api.md): 200 are taken, 201 refused.
  std::string pairs;
  for (int i = 0; i < 201; ++i) absl::StrAppend(&pairs, i == 0 ? "" : ",", "room", i, ":1");
  const std::string two_hundred = pairs.substr(0, pairs.rfind(','));
  EXPECT_EQ(
      stack.Get(alice, absl::StrCat("/api/poll?wait=0&cursor=", cursor, "&presence=", two_hundred))
          ->status,
      200);
  httplib::Result too_many =
      stack.Get(alice, absl::StrCat("/api/poll?wait=0&cursor=", cursor, "&presence=", pairs));
  ASSERT_TRUE(too_many);
  EXPECT_EQ(too_many->status, 400);
  EXPECT_THAT(too_many->body, ::testing::HasSubstr("at most 200 rooms"));
}

TEST(ApiPresenceTest, MembersPagesByNameWithCountsOnlineOnlyAndPrefix) {
  ParleyStack stack({}, SmallPresenceThreshold());
  const std::string alice = stack.LogIn("alice");
  for (const char* name : {"bob", "dave", "carol", "dan"}) stack.LogIn(name);
  auto first =
      FromJson<v1::MembersResponse>(stack.Get(alice, "/api/rooms/lobby/members?limit=2")->body);
  ASSERT_EQ(first.members_size(), 2);
  EXPECT_EQ(first.members(0).user(), "alice");
  EXPECT_EQ(first.members(1).user(), "bob");
  EXPECT_EQ(first.next_after(), "bob");
  EXPECT_EQ(first.presence().members(), 5u);
  EXPECT_EQ(first.presence().online(), 5u);
  EXPECT_EQ(first.presence().mode(), v1::PRESENCE_MODE_COUNTS);
  auto rest = FromJson<v1::MembersResponse>(
      stack.Get(alice, "/api/rooms/lobby/members?limit=10&after=bob")->body);
  ASSERT_EQ(rest.members_size(), 3);
  EXPECT_EQ(rest.members(0).user(), "carol");
  EXPECT_EQ(rest.next_after(), "");
  auto online = FromJson<v1::MembersResponse>(
      stack.Get(alice, "/api/rooms/lobby/members?online=true&prefix=da")->body);
  ASSERT_EQ(online.members_size(), 2);
  EXPECT_EQ(online.members(0).user(), "dan");
  EXPECT_TRUE(online.members(1).online());
  for (const char* bad : {"limit=1001", "limit=x", "online=maybe", "after=a%20b", "prefix=a/b"}) {
    httplib::Result refused = stack.Get(alice, absl::StrCat("/api/rooms/lobby/members?", bad));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad;
  }
  EXPECT_EQ(stack.Get(alice, "/api/rooms/nowhere/members")->status, 404);
}

TEST(ApiLimitsTest, PublishingFasterThanTheDefaultBurstAndRateIs429WithRetryAfter) {
  // The broker's clock stands still unless moved: exactly the burst, then the rate.
  ::parley::testing::FakeClock broker_clock(absl::Now());
  ParleyStack stack({}, {}, &broker_clock);
  const std::string alice = stack.LogIn("alice");
  auto say_until_refused = [&](std::optional<httplib::Response>* refused) {
    int accepted = 0;
    for (int i = 0; i < 100; ++i) {
      httplib::Result sent = stack.Say(alice, "spam");
      if (sent->status != 200) {
        *refused = *sent;
        break;
      }
      ++accepted;
    }
    return accepted;
  };
  std::optional<httplib::Response> refused;
  EXPECT_EQ(say_until_refused(&refused), 20);  // --publish_burst's default
  ASSERT_TRUE(refused.has_value()) << "never limited";
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_NE(refused->body.find(R"("code":"rate_limited")"), std::string::npos) << refused->body;
  // A second later, --publish_rate's default: 5 more.
  broker_clock.Advance(absl::Seconds(1));
  refused.reset();
  EXPECT_EQ(say_until_refused(&refused), 5);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 429);
  // Another user is not affected.
  EXPECT_EQ(stack.Say(stack.LogIn("bob"), "hello")->status, 200);
}

// A refused publish is not stored under its clientId: the same clientId, sent again once the
// limit allows, is stored and delivered, once.
TEST_F(ApiTest, APublishRefusedWith429IsNotRememberedAndItsRetryIsDeliveredOnce) {
  const std::string alice = stack_.LogIn("alice");
  const uint64_t cursor = CursorNow(alice);
  int sent = 0;
  while (stack_.Say(alice, "filler", "lobby", absl::StrCat("filler-", sent))->status == 200) {
    ASSERT_LT(++sent, 100) << "never limited";
  }
  ASSERT_EQ(stack_.Say(alice, "late", "lobby", "late-1")->status, 429);
  ASSERT_TRUE(WaitFor([&] { return stack_.Say(alice, "late", "lobby", "late-1")->status == 200; }));
  httplib::Result again = stack_.Say(alice, "late", "lobby", "late-1");
  ASSERT_EQ(again->status, 200);
  EXPECT_TRUE(FromJson<v1::PublishResponse>(again->body).duplicate());
  const std::vector<std::string> texts = Texts(Poll(alice, cursor));
  EXPECT_EQ(std::count(texts.begin(), texts.end(), "late"), 1) << ::testing::PrintToString(texts);
  EXPECT_EQ(texts.back(), "late");
}

TEST_F(ApiTest, TheSessionAnswerNeverCarriesTheToken) {
  const std::string alice = stack_.LogIn("alice");
  httplib::Result session = stack_.Get(alice, "/api/session");
  ASSERT_EQ(session->status, 200) << session->body;
  EXPECT_EQ(session->body.find(alice), std::string::npos) << session->body;
  const auto info = FromJson<v1::SessionInfo>(session->body);
  EXPECT_TRUE(info.token().empty()) << session->body;
  EXPECT_EQ(info.user(), "alice");
}

TEST(ApiWaitTest, APollWithoutWaitWaitsTheDefault) {
  FrontendOptions options;
  options.default_wait = absl::Seconds(1);
  ParleyStack stack(options);
  const std::string alice = stack.LogIn("alice");
  const uint64_t cursor =
      FromJson<v1::SessionInfo>(stack.Get(alice, "/api/session")->body).cursor();
  const absl::Time asked = absl::Now();
  httplib::Result polled = stack.Get(alice, absl::StrCat("/api/poll?cursor=", cursor));
  const absl::Duration waited = absl::Now() - asked;
  ASSERT_EQ(polled->status, 200) << polled->body;
  EXPECT_EQ(FromJson<v1::PollResponse>(polled->body).messages_size(), 0);
  EXPECT_GE(waited, absl::Milliseconds(950));
  EXPECT_LT(waited, absl::Seconds(10));
}

TEST_F(ApiTest, ADrainingFrontendAnswers503DrainingWithRetryAfter) {
  const std::string alice = stack_.LogIn("alice");
  stack_.frontend().BeginShutdown();
  httplib::Result refused = stack_.Say(alice, "too late");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_NE(refused->body.find(R"("code":"draining")"), std::string::npos) << refused->body;
  EXPECT_EQ(stack_.Client()->Get("/readyz")->status, 503);
}

// --max_text_chars counts code points, not bytes, the same over HTTP and gRPC.
TEST(ApiTextTest, TheCharacterLimitHoldsOverHttpAndGrpc) {
  broker::BrokerServerOptions broker_options;
  broker_options.chat.max_text_chars = 5;
  ParleyStack stack({}, broker_options);
  const std::string alice = stack.LogIn("alice");
  // 5 code points, 10 bytes: allowed.
  EXPECT_EQ(stack.Say(alice, "\u00e9\u00e9\u00e9\u00e9\u00e9")->status, 200);
  httplib::Result refused = stack.Say(alice, "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9");
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(refused->body.find("at most 5"), std::string::npos) << refused->body;

  grpc::ClientContext context;
  v1::PublishRequest request;
  request.set_sender("alice");
  request.set_room("lobby");
  request.set_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
  v1::PublishResponse response;
  const grpc::Status status = stack.broker().stub().Publish(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("at most 5"), std::string::npos) << status.error_message();
}

TEST_F(ApiTest, ASessionTheBrokerForgotIsConnectedAgainWithANewEpoch) {
  const std::string alice = stack_.LogIn("alice");
  const v1::PollResponse before = Poll(alice, 0);
  // The broker loses alice (as after a restart or expiry): restart it behind the
  // frontend's back. (A Disconnect would be a logout, which the session does not survive.)
  stack_.StopBroker();
  stack_.StartBroker();
  ASSERT_TRUE(WaitFor([&] { return stack_.Client()->Get("/readyz/broker")->status == 200; }));
  const v1::PollResponse after = Poll(alice, 0);
  EXPECT_NE(after.epoch(), before.epoch());
  EXPECT_EQ(stack_.Say(alice, "still here")->status, 200);
}

}  // namespace
}  // namespace parley::frontend
