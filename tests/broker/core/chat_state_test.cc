#include "broker/core/chat_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "broker/core/chat_errors.h"
#include "broker/core/holder_tag.h"
#include "broker/store/memory/memory_chat_store.h"
#include "tests/testing/core_fakes.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sync_chat_state.h"
#include "tests/testing/test_chat_stores.h"

namespace parley::broker {
namespace {

using ::parley::testing::CountingWaiter;
using ::parley::testing::TextMessage;

using ::parley::testing::FakeClock;

ReadInput Read(std::string user, uint64_t cursor, size_t max, bool consume, uint64_t epoch) {
  ReadInput input;
  input.user = std::move(user);
  input.cursor = cursor;
  input.max_messages = max;
  input.consume = consume;
  input.epoch = epoch;
  return input;
}

class ChatStateTest : public ::testing::TestWithParam<::parley::testing::TestStore> {
 protected:
  static ChatOptions Options() {
    ChatOptions options;
    options.queue_capacity = 50;
    options.history = 5;
    options.max_text_bytes = 16;
    return options;
  }

  void Connect(const std::string& user) {
    ASSERT_TRUE(state_.Connect(user, user + "-session").ok());
  }

  // Everything in the user's queue (cursor 0), as "KIND:room:from:to:text" strings.
  std::vector<std::string> Queue(const std::string& user, uint64_t cursor = 0) {
    absl::StatusOr<ReadOutcome> outcome =
        state_.ReadOrPark(Read(user, cursor, 0, false, 0), nullptr);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    std::vector<std::string> out;
    if (!outcome.ok()) return out;
    for (const SequencedMessage& m : outcome->read.messages) {
      static const char* kKinds[] = {"CHAT", "DIRECT", "JOIN", "LEAVE", "SYSTEM"};
      out.push_back(std::string(kKinds[static_cast<int>(m.message->kind)]) + ":" + m.message->room +
                    ":" + m.message->from + ":" + m.message->to + ":" + m.message->text);
    }
    return out;
  }

  uint64_t LastSeq(const std::string& user) {
    return state_.ReadOrPark(Read(user, 0, 1000, false, 0), nullptr)->read.cursor;
  }

  absl::StatusOr<PublishResult> Say(const std::string& user, const std::string& room,
                                    const std::string& text, const std::string& key = "") {
    return state_.Publish({user, room, "", text, key});
  }

  FakeClock clock_;
  std::unique_ptr<ChatStore> store_ = ::parley::testing::MakeTestStore(GetParam(), Options());
  ChatState chat_{Options(), &clock_, store_.get()};
  ::parley::testing::SyncChatState state_{&chat_,
                                          [this] { ::parley::testing::Settle(store_.get()); }};
};

TEST_P(ChatStateTest, ConnectCreatesQueueInLobbyAndAnnouncesJoin) {
  absl::StatusOr<ConnectResult> alice = state_.Connect("alice", "s1");
  ASSERT_TRUE(alice.ok());
  EXPECT_TRUE(alice->created);
  EXPECT_NE(alice->epoch, 0u);
  Connect("bob");
  EXPECT_EQ(Queue("alice"), (std::vector<std::string>{"JOIN:lobby:alice::", "JOIN:lobby:bob::"}));
  EXPECT_EQ(Queue("bob"), (std::vector<std::string>{"JOIN:lobby:bob::"}));
}

TEST_P(ChatStateTest, ConnectReturnsTheCurrentCursor) {
  Connect("alice");
  Connect("bob");
  absl::StatusOr<ConnectResult> again = state_.Connect("alice", "alice-session");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->cursor, 2u);
  EXPECT_TRUE(Queue("alice", again->cursor).empty());
}

TEST_P(ChatStateTest, NameHeldByAnotherLiveSessionIsRefused) {
  absl::StatusOr<ConnectResult> first = state_.Connect("alice", "s1");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<ConnectResult> other = state_.Connect("alice", "s2");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<ConnectResult> same = state_.Connect("alice", "s1");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->epoch, first->epoch);
}

TEST_P(ChatStateTest, NameOfAnExpiredHolderCanBeTakenWithANewEpoch) {
  absl::StatusOr<ConnectResult> first = state_.Connect("alice", "s1");
  clock_.Advance(absl::Minutes(11));
  absl::StatusOr<ConnectResult> second = state_.Connect("alice", "s2");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->created);
  EXPECT_NE(second->epoch, first->epoch);
}

TEST_P(ChatStateTest, DisconnectNeedsTheHoldingSessionAndFreesTheQueue) {
  Connect("alice");
  Connect("bob");
  EXPECT_EQ(state_.Disconnect("alice", "wrong").code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(state_.Disconnect("alice", "alice-session").ok());
  EXPECT_EQ(state_.ReadOrPark(Read("alice", 0, 0, false, 0), nullptr).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Queue("bob").back(), "LEAVE:lobby:alice::");
  EXPECT_EQ(state_.Stats().users, 1u);
  EXPECT_EQ(state_.Disconnect("alice", "alice-session").code(), absl::StatusCode::kNotFound);
}

TEST_P(ChatStateTest, ADisconnectEndsItsSessionWhateverElseItFinds) {
  Connect("alice");
  // Another session's, or one whose user is gone: the answer says so, and the session ends
  // anyway (a frontend reports these as a logout done).
  EXPECT_EQ(state_.Disconnect("alice", "stale-tab").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(state_.Disconnect("ghost", "ghost-tab").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.Connect("carol", "stale-tab").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(state_.Connect("ghost", "ghost-tab").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(state_.Connect("alice", "alice-session").ok());  // alice's own is untouched
}

TEST_P(ChatStateTest, ALoggedOutSessionCannotConnectAgainUntilForgotten) {
  Connect("alice");
  const absl::Time logged_out = clock_.Now();
  ASSERT_TRUE(state_.Disconnect("alice", "alice-session").ok());
  // A replayed token carries the old session id: refused, whatever name it asks for.
  EXPECT_EQ(state_.Connect("alice", "alice-session").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(state_.Connect("alice2", "alice-session").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(state_.Connect("alice", "a-new-session").ok());  // logging in again works
  // An idle-expired (not logged-out) session may come back.
  Connect("bob");
  clock_.Advance(absl::Hours(1));
  ASSERT_GE(state_.Sweep().expired, 1u);
  EXPECT_TRUE(state_.Connect("bob", "bob-session").ok());
  // The logout is remembered for ended_session_memory (24 h by default: a session token
  // lives 12 h), to the end: refused a minute before, sweeps or not.
  const absl::Duration memory = absl::Hours(24);  // the documented default, as a number
  ASSERT_LT(clock_.Now(), logged_out + memory - absl::Minutes(1));
  clock_.Advance(logged_out + memory - absl::Minutes(1) - clock_.Now());
  state_.Sweep();
  EXPECT_EQ(state_.Connect("carol", "alice-session").status().code(),
            absl::StatusCode::kUnauthenticated);
  // Then forgotten: the tokens that carried it have long expired.
  clock_.Advance(absl::Minutes(2));
  state_.Sweep();
  EXPECT_TRUE(state_.Connect("carol", "alice-session").ok());
}

// Each test sets limits of its own, then starts the chat on the store under test.
class ChatStateLimitsTest : public ::testing::TestWithParam<::parley::testing::TestStore> {
 protected:
  ::parley::testing::SyncChatState& Start(const ChatOptions& options) {
    store_ = ::parley::testing::MakeTestStore(GetParam(), options);
    chat_ = std::make_unique<ChatState>(options, &clock_, store_.get());
    state_ = std::make_unique<::parley::testing::SyncChatState>(
        chat_.get(), [this] { ::parley::testing::Settle(store_.get()); });
    return *state_;
  }

  FakeClock clock_;
  std::unique_ptr<ChatStore> store_;
  std::unique_ptr<ChatState> chat_;
  std::unique_ptr<::parley::testing::SyncChatState> state_;
};

TEST_P(ChatStateLimitsTest, EachUserPublishesAtMostTheBurstThenTheRate) {
  ChatOptions options;
  options.publish_rate = 2;
  options.publish_burst = 3;
  ::parley::testing::SyncChatState& state = Start(options);
  ASSERT_TRUE(state.Connect("alice", "a").ok());
  ASSERT_TRUE(state.Connect("bob", "b").ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(state.Publish({"alice", "lobby", "", "hi", ""}).ok());
  absl::StatusOr<PublishResult> limited = state.Publish({"alice", "lobby", "", "hi", ""});
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(limited.status().message(), "retry in 50")) << limited.status();
  EXPECT_TRUE(state.Publish({"bob", "lobby", "", "hi", ""}).ok());  // per user
  clock_.Advance(absl::Milliseconds(500));                          // one token back at 2/s
  EXPECT_TRUE(state.Publish({"alice", "lobby", "", "hi", "k1"}).ok());
  EXPECT_FALSE(state.Publish({"alice", "lobby", "", "hi", ""}).ok());
  // A retry of a message already stored is answered from the cache, not counted.
  absl::StatusOr<PublishResult> retry = state.Publish({"alice", "lobby", "", "hi", "k1"});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(state.Stats().publishes_limited, 2u);
}

TEST_P(ChatStateLimitsTest, EndedSessionsAreBounded) {
  if (GetParam() == ::parley::testing::TestStore::kRedis) {
    GTEST_SKIP() << "Redis bounds logged-out sessions by their expiry alone";
  }
  ChatOptions options;
  options.max_ended_sessions = 2;
  ::parley::testing::SyncChatState& state = Start(options);
  for (const char* user : {"a", "b", "c"}) {
    ASSERT_TRUE(state.Connect(user, std::string(user) + "-s").ok());
    ASSERT_TRUE(state.Disconnect(user, std::string(user) + "-s").ok());
  }
  EXPECT_TRUE(state.Connect("a", "a-s").ok());  // the oldest was forgotten
  EXPECT_EQ(state.Connect("c", "c-s").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_P(ChatStateLimitsTest, UsersWithKeptDirectMessagesAreBounded) {
  if (GetParam() == ::parley::testing::TestStore::kRedis) {
    GTEST_SKIP() << "Redis bounds kept messages by its maxmemory (STORE_FULL)";
  }
  ChatOptions options;
  options.max_held_users = 2;
  ::parley::testing::SyncChatState& state = Start(options);
  ASSERT_TRUE(state.Connect("alice", "alice-s").ok());
  auto keep = [&](const std::string& to) {
    return state.Publish({"alice", "", to, "later", "", false, to + "-app"}).status();
  };
  ASSERT_TRUE(keep("bob").ok());
  ASSERT_TRUE(keep("carol").ok());
  ASSERT_TRUE(keep("bob").ok());  // one already kept for: no new box
  const absl::Status full = keep("dave");
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_EQ(ErrorReason(full), kReasonStoreFull);
  // Nothing kept was dropped to make room.
  ASSERT_TRUE(state.Connect("bob", "bob-app").ok());
  absl::StatusOr<ReadOutcome> bob = state.ReadOrPark(Read("bob", 0, 0, false, 0), nullptr);
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->read.messages.size(), 3u);  // two kept, then the lobby JOIN
}

TEST_P(ChatStateTest, RoomMessageReachesEveryMemberIncludingSender) {
  Connect("alice");
  Connect("bob");
  Connect("carol");
  ASSERT_TRUE(state_.Join("alice", "games").ok());
  ASSERT_TRUE(state_.Join("bob", "games").ok());
  const uint64_t carol_before = LastSeq("carol");
  absl::StatusOr<PublishResult> sent = Say("alice", "games", "hi");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->recipients, 2u);
  EXPECT_EQ(Queue("alice").back(), "CHAT:games:alice::hi");
  EXPECT_EQ(Queue("bob").back(), "CHAT:games:alice::hi");
  EXPECT_TRUE(Queue("carol", carol_before).empty());
}

TEST_P(ChatStateTest, OneStoredMessageIsSharedByEveryQueue) {
  if (GetParam() == ::parley::testing::TestStore::kRedis) {
    GTEST_SKIP() << "Redis keeps a copy of the message in each queue";
  }
  Connect("alice");
  Connect("bob");
  absl::StatusOr<PublishResult> sent = Say("alice", "lobby", "hi");
  ASSERT_TRUE(sent.ok());
  auto last = [&](const std::string& user) {
    return state_.ReadOrPark(Read(user, LastSeq(user) - 1, 0, false, 0), nullptr)
        ->read.messages.back()
        .message;
  };
  EXPECT_EQ(last("alice").get(), sent->message.get());
  EXPECT_EQ(last("bob").get(), sent->message.get());
}

TEST_P(ChatStateTest, DirectMessageReachesOnlyItsTwoParties) {
  Connect("alice");
  Connect("bob");
  Connect("carol");
  const uint64_t carol_before = LastSeq("carol");
  absl::StatusOr<PublishResult> sent = state_.Publish({"alice", "", "bob", "psst", ""});
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->recipients, 2u);
  EXPECT_EQ(Queue("alice").back(), "DIRECT::alice:bob:psst");
  EXPECT_EQ(Queue("bob").back(), "DIRECT::alice:bob:psst");
  EXPECT_TRUE(Queue("carol", carol_before).empty());
}

TEST_P(ChatStateTest, PublishChecksSenderTargetMembershipAndText) {
  Connect("alice");
  EXPECT_EQ(Say("nobody", "lobby", "x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Say("alice", "nowhere", "x").status().code(), absl::StatusCode::kNotFound);
  Connect("bob");
  ASSERT_TRUE(state_.Join("bob", "private").ok());
  EXPECT_EQ(Say("alice", "private", "x").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(state_.Publish({"alice", "", "ghost", "x", ""}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.Publish({"alice", "lobby", "bob", "x", ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Publish({"alice", "", "", "x", ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Say("alice", "lobby", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Say("alice", "lobby", std::string(17, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Say("alice", "lobby", "x", "bad key").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Stats().messages_published, 0u);
}

TEST_P(ChatStateTest, RepeatedIdempotencyKeyReturnsFirstResultAndDeliversNothing) {
  Connect("alice");
  Connect("bob");
  absl::StatusOr<PublishResult> first = Say("alice", "lobby", "once", "k1");
  ASSERT_TRUE(first.ok());
  const uint64_t bob_after_first = LastSeq("bob");
  absl::StatusOr<PublishResult> again = Say("alice", "lobby", "once", "k1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_FALSE(first->duplicate);
  EXPECT_EQ(again->message->id, first->message->id);
  EXPECT_EQ(again->recipients, first->recipients);
  EXPECT_EQ(LastSeq("bob"), bob_after_first);
  // Another sender's same key is a different message.
  EXPECT_FALSE(Say("bob", "lobby", "mine", "k1")->duplicate);
  // After the window the key is forgotten.
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  EXPECT_FALSE(Say("alice", "lobby", "again", "k1")->duplicate);
}

TEST_P(ChatStateTest, JoinAndLeaveAnnounceToMembersAndEmptyRoomsAreFreed) {
  Connect("alice");
  Connect("bob");
  absl::StatusOr<JoinResult> created = state_.Join("alice", "games");
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->created);
  EXPECT_TRUE(created->joined);
  absl::StatusOr<JoinResult> bob_joins = state_.Join("bob", "games");
  EXPECT_FALSE(bob_joins->created);
  EXPECT_EQ(Queue("alice").back(), "JOIN:games:bob::");
  const uint64_t bob_before = LastSeq("bob");
  absl::StatusOr<JoinResult> twice = state_.Join("bob", "games");
  EXPECT_FALSE(twice->joined);
  EXPECT_EQ(LastSeq("bob"), bob_before);

  ASSERT_TRUE(state_.Leave("bob", "games").ok());
  EXPECT_EQ(Queue("alice").back(), "LEAVE:games:bob::");
  // Left: a retry within the idempotency window is answered as done (its first try may have
  // finished after its answer was lost), and adds no second LEAVE.
  EXPECT_TRUE(state_.Leave("bob", "games").ok());
  EXPECT_EQ(Queue("alice").back(), "LEAVE:games:bob::");
  const std::vector<std::string> alice_lines = Queue("alice");
  EXPECT_EQ(std::count(alice_lines.begin(), alice_lines.end(), "LEAVE:games:bob::"), 1);
  clock_.Advance(state_.options().idempotency_window);
  EXPECT_EQ(state_.Leave("bob", "games").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(state_.Leave("alice", "chess").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(state_.Stats().rooms, 2u);
  ASSERT_TRUE(state_.Leave("alice", "games").ok());
  EXPECT_EQ(state_.Stats().rooms, 1u);
  EXPECT_EQ(state_.History("games", 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ChatStateTest, LobbyCannotBeLeft) {
  Connect("alice");
  EXPECT_EQ(state_.Leave("alice", "lobby").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(ChatStateTest, HistoryKeepsTheLastChatMessagesOnly) {
  Connect("alice");
  for (int i = 1; i <= 7; ++i) ASSERT_TRUE(Say("alice", "lobby", std::to_string(i)).ok());
  absl::StatusOr<std::vector<MessagePtr>> history = state_.History("lobby", 0);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 5u);  // options: history = 5; JOINs are not history
  EXPECT_EQ((*history)[0]->text, "3");
  EXPECT_EQ(history->back()->text, "7");
  EXPECT_EQ(state_.History("lobby", 2)->front()->text, "6");
}

// Scroll-back: pages of `limit` lines, each from the previous one's `older`, until the oldest
// kept line; the last page says so with an empty `older`.
TEST_P(ChatStateTest, HistoryPagesBackToTheOldestKeptLine) {
  Connect("alice");
  for (int i = 1; i <= 7; ++i) ASSERT_TRUE(Say("alice", "lobby", std::to_string(i)).ok());
  std::vector<std::string> read;
  std::string before;
  int pages = 0;
  do {
    absl::StatusOr<HistoryPage> page = state_.HistoryPage("lobby", {.limit = 2, .before = before});
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_FALSE(page->messages.empty());
    for (auto it = page->messages.rbegin(); it != page->messages.rend(); ++it) {
      read.push_back((*it)->text);
    }
    before = page->older;
    ASSERT_LT(++pages, 5);
  } while (!before.empty());
  EXPECT_EQ(read, (std::vector<std::string>{"7", "6", "5", "4", "3"}));  // history = 5
  EXPECT_EQ(pages, 3);
  // A line written meanwhile does not shift the pages: the one before "5" is still "4".
  absl::StatusOr<HistoryPage> newest = state_.HistoryPage("lobby", {.limit = 3, .before = ""});
  ASSERT_TRUE(newest.ok());
  ASSERT_TRUE(Say("alice", "lobby", "8").ok());
  absl::StatusOr<HistoryPage> older =
      state_.HistoryPage("lobby", {.limit = 1, .before = newest->older});
  ASSERT_TRUE(older.ok());
  ASSERT_EQ(older->messages.size(), 1u);
  EXPECT_EQ(older->messages[0]->text, "4");
}

// A direct message to someone not connected: NOT_FOUND, unless the caller names the session
// the user will come back with; then it is kept for that session alone, first in the queue a
// Connect with it creates, for offline_dm_ttl.
TEST_P(ChatStateTest, ADirectMessageToSomeoneAwayIsKeptForTheirSession) {
  Connect("alice");
  auto dm = [&](const std::string& text, const std::string& hold_for) {
    return state_.Publish({"alice", "", "bob", text, "", false, hold_for});
  };
  EXPECT_EQ(dm("lost", "").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<PublishResult> kept = dm("one", "bob-app");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->recipients, 0u);
  ASSERT_TRUE(dm("two", "bob-app").ok());
  EXPECT_EQ(Queue("alice").back(), "DIRECT::alice:bob:two");  // the sender's own copy

  // Another session with the name gets none of them, and may not take them away.
  ASSERT_TRUE(state_.Connect("bob", "someone-else").ok());
  EXPECT_EQ(Queue("bob"), (std::vector<std::string>{"JOIN:lobby:bob::"}));
  ASSERT_TRUE(state_.Disconnect("bob", "someone-else").ok());

  // The session they were kept for finds them first, once.
  ASSERT_TRUE(state_.Connect("bob", "bob-app").ok());
  EXPECT_EQ(Queue("bob"), (std::vector<std::string>{"DIRECT::alice:bob:one",
                                                    "DIRECT::alice:bob:two", "JOIN:lobby:bob::"}));
  // Connected now: a held publish is delivered as any other.
  absl::StatusOr<PublishResult> live = dm("three", "bob-app");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->recipients, 2u);
}

TEST_P(ChatStateTest, KeptDirectMessagesForAnotherSessionOrPastTheirTimeAreDropped) {
  Connect("alice");
  auto dm = [&](const std::string& to, const std::string& text, const std::string& hold_for) {
    return state_.Publish({"alice", "", to, text, "", false, hold_for});
  };
  ASSERT_TRUE(dm("bob", "for old", "s-old").ok());
  ASSERT_TRUE(dm("bob", "for new", "s-new").ok());  // supersedes the ones before
  ASSERT_TRUE(dm("carol", "too late", "s-carol").ok());
  clock_.Advance(absl::Hours(24 * 7) - absl::Minutes(1));
  ASSERT_TRUE(state_.Connect("bob", "s-new").ok());
  EXPECT_EQ(Queue("bob"),
            (std::vector<std::string>{"DIRECT::alice:bob:for new", "JOIN:lobby:bob::"}));
  clock_.Advance(absl::Minutes(2));  // past --offline_dm_ttl for carol's
  ASSERT_TRUE(state_.Connect("carol", "s-carol").ok());
  EXPECT_EQ(Queue("carol"), (std::vector<std::string>{"JOIN:lobby:carol::"}));
  // Only for a direct message, and a session is a token.
  EXPECT_EQ(state_.Publish({"alice", "lobby", "", "x", "", false, "s"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dm("dave", "x", std::string(129, 's')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Who holds a name travels with direct messages (from_holder, to_holder), so a
// writer can insist on the person they wrote to (to_holder): after the name changes hands, a
// line meant for the one before is refused, not read by the newcomer.
TEST_P(ChatStateTest, ADirectMessageSaysWhoHoldsEachNameAndGoesOnlyToTheOneMeant) {
  EXPECT_EQ(HolderTag("abc"), "a9993e364706816a");  // SHA-1("abc"), as chat.lua has it too
  Connect("alice");
  Connect("bob");
  auto dm = [&](const std::string& text, const std::string& to_holder,
                const std::string& session = "alice-session") {
    PublishInput input{"alice", "", "bob", text, ""};
    input.sender_session = session;
    input.to_holder = to_holder;
    return state_.Publish(input);
  };
  const std::string bob = HolderTag("bob-session");
  absl::StatusOr<PublishResult> first = dm("hello", "");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->message->to_holder, bob);
  EXPECT_EQ(first->message->from_holder, HolderTag("alice-session"));
  // Both stored copies say who wrote and who it went to.
  for (const char* reader : {"alice", "bob"}) {
    absl::StatusOr<ReadOutcome> read = state_.ReadOrPark(Read(reader, 0, 0, false, 0), nullptr);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->read.messages.back().message->from_holder, HolderTag("alice-session"));
    EXPECT_EQ(read->read.messages.back().message->to_holder, bob) << reader;
  }
  ASSERT_TRUE(dm("still you?", bob).ok());

  // bob logs out and someone else takes the name.
  ASSERT_TRUE(state_.Disconnect("bob", "bob-session").ok());
  ASSERT_TRUE(state_.Connect("bob", "new-bob").ok());
  const uint64_t newcomer_before = LastSeq("bob");
  absl::Status refused = dm("code 1234", bob).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_EQ(ErrorReason(refused), kReasonHolderChanged);
  EXPECT_TRUE(Queue("bob", newcomer_before).empty());
  absl::StatusOr<PublishResult> fresh = dm("hi, who is this?", "");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->message->to_holder, HolderTag("new-bob"));

  // Only the session holding the sender's name may write as it.
  EXPECT_EQ(dm("forged", "", "not-alice").status().code(), absl::StatusCode::kUnauthenticated);
  // A holder is 16 hex digits, for a user's direct message only.
  EXPECT_EQ(dm("x", "xyz").status().code(), absl::StatusCode::kInvalidArgument);
  PublishInput to_room{"alice", "lobby", "", "x", ""};
  to_room.to_holder = bob;
  EXPECT_EQ(state_.Publish(to_room).status().code(), absl::StatusCode::kInvalidArgument);

  // Kept for someone away: for the holder they come back as, and only if that is the one meant.
  auto keep = [&](const std::string& to_holder) {
    PublishInput input{"alice", "", "carol", "later", "", false, "carol-app"};
    input.to_holder = to_holder;
    return state_.Publish(input);
  };
  EXPECT_EQ(keep(bob).status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<PublishResult> kept = keep(HolderTag("carol-app"));
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->message->to_holder, HolderTag("carol-app"));
  ASSERT_TRUE(state_.Connect("carol", "carol-app").ok());
  absl::StatusOr<ReadOutcome> carol = state_.ReadOrPark(Read("carol", 0, 0, false, 0), nullptr);
  ASSERT_TRUE(carol.ok());
  EXPECT_EQ(carol->read.messages.front().message->to_holder, HolderTag("carol-app"));
}

TEST_P(ChatStateTest, HistoryRefusesAPositionItDoesNotUse) {
  Connect("alice");
  for (const char* before :
       {"x", "1-", "-1", "1-2-3", "1.5", "123456789012345678901234567890123456789012"}) {
    EXPECT_EQ(state_.HistoryPage("lobby", {.limit = 2, .before = before}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << before;
  }
  // Each store's own form only: the memory store counts lines, Redis names stream entries.
  const char* foreign =
      GetParam() == ::parley::testing::TestStore::kRedis ? "12" : "1700000000000-0";
  EXPECT_EQ(state_.HistoryPage("lobby", {.limit = 2, .before = foreign}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(ChatStateTest, PresenceFollowsPollsWithinTheWindow) {
  Connect("alice");
  Connect("bob");
  auto online = [&](const std::string& user) {
    absl::StatusOr<MembersResult> members = state_.Members("lobby", {});
    EXPECT_TRUE(members.ok());
    for (const MemberInfo& m : members.ok() ? members->page.members : std::vector<MemberInfo>{}) {
      if (m.user == user) return m.online;
    }
    ADD_FAILURE() << user << " not a member";
    return false;
  };
  EXPECT_TRUE(online("alice"));  // Connect counts as activity
  clock_.Advance(absl::Seconds(29));
  EXPECT_EQ(state_.Sweep().went_offline, 0u);
  clock_.Advance(absl::Seconds(2));
  EXPECT_TRUE(online("alice"));  // offline is noticed by the sweep, not by the passing time
  EXPECT_EQ(state_.Sweep().went_offline, 2u);
  EXPECT_FALSE(online("alice"));
  EXPECT_FALSE(online("bob"));
  // A poll brings the user back at once; a parked one keeps them online however long ago
  // it began, and for presence_window after the last sweep that saw it parked.
  auto waiter = std::make_shared<CountingWaiter>();
  const uint64_t cursor = LastSeq("alice");
  EXPECT_TRUE(online("alice"));
  clock_.Advance(absl::Seconds(31));
  ASSERT_TRUE(state_.ReadOrPark(Read("alice", cursor, 0, false, 0), waiter)->parked);
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(state_.Sweep().went_offline, 0u);
  EXPECT_TRUE(online("alice"));
  ASSERT_TRUE(state_.Unpark("alice", waiter.get()));
  clock_.Advance(absl::Seconds(29));
  EXPECT_EQ(state_.Sweep().went_offline, 0u);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(state_.Sweep().went_offline, 1u);
  EXPECT_FALSE(online("alice"));
  EXPECT_EQ(state_.Members("lobby", {})->presence.online, 0u);
}

TEST_P(ChatStateTest, IdleUsersExpireLeaveTheirRoomsAndFreeTheirQueues) {
  Connect("alice");
  Connect("bob");
  ASSERT_TRUE(state_.Join("alice", "games").ok());
  ASSERT_TRUE(state_.Join("bob", "games").ok());
  clock_.Advance(absl::Minutes(9));
  LastSeq("bob");  // bob polls
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(state_.Sweep().expired, 1u);
  EXPECT_EQ(state_.Stats().users, 1u);
  EXPECT_THAT(Queue("bob"),
              ::testing::IsSupersetOf({"LEAVE:games:alice::", "LEAVE:lobby:alice::"}));
  absl::StatusOr<MembersResult> members = state_.Members("games", {});
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->page.members.size(), 1u);
  EXPECT_EQ(members->page.members[0].user, "bob");
}

// Idle expiry by the injected clock alone: the name is free for another session, under a new
// epoch, and a poll of the ended queue is refused, or told of the new epoch at once.
TEST_P(ChatStateTest, AnExpiredUsersNameIsFreeAndItsOldPollsAreNotParked) {
  absl::StatusOr<ConnectResult> first = state_.Connect("alice", "s1");
  ASSERT_TRUE(first.ok());
  const uint64_t cursor = LastSeq("alice");
  clock_.Advance(absl::Minutes(11));
  EXPECT_EQ(state_.Sweep().expired, 1u);
  auto ended = std::make_shared<CountingWaiter>();
  EXPECT_EQ(state_.ReadOrPark(Read("alice", cursor, 0, false, first->epoch), ended).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<ConnectResult> second = state_.Connect("alice", "s2");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->created);
  EXPECT_NE(second->epoch, first->epoch);
  auto stale = std::make_shared<CountingWaiter>();
  absl::StatusOr<ReadOutcome> told =
      state_.ReadOrPark(Read("alice", cursor, 0, false, first->epoch), stale);
  ASSERT_TRUE(told.ok()) << told.status();
  EXPECT_FALSE(told->parked);
  EXPECT_EQ(told->epoch, second->epoch);
  EXPECT_EQ(state_.Stats().parked_polls, 0u);
}

TEST_P(ChatStateTest, ParkedUserDoesNotExpire) {
  Connect("alice");
  auto waiter = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(state_.ReadOrPark(Read("alice", LastSeq("alice"), 0, false, 0), waiter)->parked);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(state_.Sweep().expired, 0u);
  EXPECT_EQ(state_.Stats().users, 1u);
}

TEST_P(ChatStateTest, ADisconnectWakesTheUsersParkedPolls) {
  Connect("alice");
  auto waiter = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(state_.ReadOrPark(Read("alice", LastSeq("alice"), 0, false, 0), waiter)->parked);
  ASSERT_TRUE(state_.Disconnect("alice", "alice-session").ok());
  EXPECT_EQ(waiter->wakes, 1);
}

TEST_P(ChatStateTest, ParkedWaiterIsWokenOnceByAPublish) {
  Connect("alice");
  Connect("bob");
  auto waiter = std::make_shared<CountingWaiter>();
  absl::StatusOr<ReadOutcome> outcome =
      state_.ReadOrPark(Read("bob", LastSeq("bob"), 0, false, 0), waiter);
  ASSERT_TRUE(outcome->parked);
  EXPECT_EQ(state_.Stats().parked_polls, 1u);
  ASSERT_TRUE(Say("alice", "lobby", "wake").ok());
  EXPECT_EQ(waiter->wakes, 1);
  EXPECT_EQ(state_.Stats().parked_polls, 0u);
  ASSERT_TRUE(Say("alice", "lobby", "again").ok());
  EXPECT_EQ(waiter->wakes, 1);
}

TEST_P(ChatStateTest, AJoinWakesTheJoinersParkedPollAndItsNextParkHearsTheNewRoom) {
  Connect("alice");
  Connect("bob");
  ASSERT_TRUE(state_.Join("bob", "games").ok());
  auto waiter = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(state_.ReadOrPark(Read("alice", LastSeq("alice"), 0, false, 0), waiter)->parked);
  ASSERT_TRUE(state_.Join("alice", "games").ok());  // from another tab
  EXPECT_EQ(waiter->wakes, 1);                      // its own JOIN line arrived
  auto again = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(state_.ReadOrPark(Read("alice", LastSeq("alice"), 0, false, 0), again)->parked);
  ASSERT_TRUE(Say("bob", "games", "hi").ok());
  EXPECT_EQ(again->wakes, 1);
}

TEST_P(ChatStateTest, ReadWithMessagesDoesNotPark) {
  Connect("alice");
  auto waiter = std::make_shared<CountingWaiter>();
  absl::StatusOr<ReadOutcome> outcome = state_.ReadOrPark(Read("alice", 0, 0, false, 0), waiter);
  EXPECT_FALSE(outcome->parked);
  EXPECT_EQ(outcome->read.messages.size(), 1u);
  EXPECT_EQ(state_.Stats().parked_polls, 0u);
}

TEST_P(ChatStateTest, DrainWakesEveryWaiterAndStopsParking) {
  Connect("alice");
  auto waiter = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(state_.ReadOrPark(Read("alice", LastSeq("alice"), 0, false, 0), waiter)->parked);
  state_.BeginDrain();
  EXPECT_EQ(waiter->wakes, 1);
  absl::StatusOr<ReadOutcome> after =
      state_.ReadOrPark(Read("alice", LastSeq("alice"), 0, false, 0), waiter);
  EXPECT_FALSE(after->parked);
  EXPECT_TRUE(after->draining);
  EXPECT_EQ(state_.Connect("newcomer", "s").status().code(), absl::StatusCode::kUnavailable);
}

TEST_P(ChatStateTest, CursorBeyondTheQueueIsOutOfRange) {
  Connect("alice");
  absl::StatusOr<ReadOutcome> outcome = state_.ReadOrPark(Read("alice", 99, 0, false, 0), nullptr);
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(outcome.status().message().find("cursor 99"), absl::string_view::npos);
}

TEST_P(ChatStateTest, OldEpochIsAnsweredAtOnceFromTheStartWithGap) {
  const uint64_t epoch = state_.Connect("alice", "s")->epoch;
  auto waiter = std::make_shared<CountingWaiter>();
  absl::StatusOr<ReadOutcome> outcome =
      state_.ReadOrPark(Read("alice", 99, 0, false, epoch + 1), waiter);
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->parked);
  EXPECT_TRUE(outcome->read.gap);
  EXPECT_EQ(outcome->epoch, epoch);
  EXPECT_EQ(outcome->read.messages.size(), 1u);  // the JOIN
}

TEST_P(ChatStateTest, ConsumeModeDeliversEachMessageOnceOneAtATime) {
  Connect("alice");
  ASSERT_TRUE(Say("alice", "lobby", "a").ok());
  ASSERT_TRUE(Say("alice", "lobby", "b").ok());
  auto consume = [&] {
    absl::StatusOr<ReadOutcome> o = state_.ReadOrPark(Read("alice", 0, 0, true, 0), nullptr);
    return o->read.messages.empty() ? std::string("-") : o->read.messages[0].message->text;
  };
  EXPECT_EQ(consume(), "");  // the JOIN
  EXPECT_EQ(consume(), "a");
  EXPECT_EQ(consume(), "b");
  EXPECT_EQ(consume(), "-");
}

TEST_P(ChatStateTest, BadNamesAreRejectedEverywhere) {
  EXPECT_EQ(state_.Connect("bad name", "s").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Connect("alice", "").status().code(), absl::StatusCode::kInvalidArgument);
  Connect("alice");
  EXPECT_EQ(state_.Join("alice", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Join("alice", std::string(33, 'r')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Members("a/b", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.History("a b", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.ReadOrPark(Read("", 0, 0, false, 0), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(ChatStateTest, MessageIdsAreUnique) {
  Connect("alice");
  absl::StatusOr<PublishResult> a = Say("alice", "lobby", "a");
  absl::StatusOr<PublishResult> b = Say("alice", "lobby", "b");
  EXPECT_NE(a->message->id, b->message->id);
  MemoryChatStore other_store(Options());
  ChatState other_chat(Options(), &clock_, &other_store);  // another broker process's generator
  ::parley::testing::SyncChatState other(&other_chat);
  ASSERT_TRUE(other.Connect("alice", "s").ok());
  EXPECT_NE(other.Publish({"alice", "lobby", "", "a", ""})->message->id, a->message->id);
}

INSTANTIATE_TEST_SUITE_P(Stores, ChatStateTest,
                         ::testing::Values(::parley::testing::TestStore::kMemory,
                                           ::parley::testing::TestStore::kMemoryAnsweringLater,
                                           ::parley::testing::TestStore::kRedis),
                         ::parley::testing::TestStoreName);
INSTANTIATE_TEST_SUITE_P(Stores, ChatStateLimitsTest,
                         ::testing::Values(::parley::testing::TestStore::kMemory,
                                           ::parley::testing::TestStore::kMemoryAnsweringLater,
                                           ::parley::testing::TestStore::kRedis),
                         ::parley::testing::TestStoreName);

}  // namespace
}  // namespace parley::broker
