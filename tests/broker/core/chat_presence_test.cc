// ChatState's presence rules: JOIN/LEAVE lines only in small rooms, versions and counts in
// every room, published to parked polls at most once per --presence_notify_interval.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_state.h"
#include "broker/store/memory/memory_chat_store.h"
#include "tests/testing/core_fakes.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sync_chat_state.h"
#include "tests/testing/test_chat_stores.h"

namespace parley::broker {
namespace {

using ::parley::testing::CountingWaiter;
using ::parley::testing::FakeClock;

constexpr size_t kMaxEventMembers = 4;

class ChatPresenceTest : public ::testing::TestWithParam<::parley::testing::TestStore> {
 protected:
  static ChatOptions Options() {
    ChatOptions options;
    options.queue_capacity = 50;
    options.presence_events_max_members = kMaxEventMembers;
    options.presence_notify_interval = absl::Seconds(5);
    options.publish_burst = 1000;
    return options;
  }

  void Connect(const std::string& user) {
    ASSERT_TRUE(state_.Connect(user, user + "-session").ok());
  }

  ReadInput Watch(const std::string& user, uint64_t cursor,
                  absl::flat_hash_map<std::string, uint64_t> known = {}) {
    ReadInput input;
    input.user = user;
    input.cursor = cursor;
    input.watch_presence = true;
    input.presence_versions = std::move(known);
    return input;
  }

  ReadOutcome Read(const ReadInput& input, std::shared_ptr<PollWaiter> waiter = nullptr) {
    absl::StatusOr<ReadOutcome> outcome = state_.ReadOrPark(input, std::move(waiter));
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.value_or(ReadOutcome{});
  }

  uint64_t LastSeq(const std::string& user) {
    ReadInput input;
    input.user = user;
    input.max_messages = 1000;
    return Read(input).read.cursor;
  }

  // Kinds of the user's queue from its start, as "KIND:from" (JOIN/LEAVE/CHAT only).
  std::vector<std::string> Lines(const std::string& user) {
    ReadInput input;
    input.user = user;
    input.max_messages = 1000;
    std::vector<std::string> lines;
    for (const SequencedMessage& m : Read(input).read.messages) {
      const char* kind = m.message->kind == MessageKind::kJoin    ? "JOIN"
                         : m.message->kind == MessageKind::kLeave ? "LEAVE"
                                                                  : "CHAT";
      lines.push_back(absl::StrCat(kind, ":", m.message->from));
    }
    return lines;
  }

  PresenceSnapshot Lobby() { return state_.Members("lobby", {})->presence; }

  FakeClock clock_;
  std::unique_ptr<ChatStore> store_ = ::parley::testing::MakeTestStore(GetParam(), Options());
  ChatState chat_{Options(), &clock_, store_.get()};
  ::parley::testing::SyncChatState state_{&chat_,
                                          [this] { ::parley::testing::Settle(store_.get()); }};
};

TEST_P(ChatPresenceTest, ASmallRoomSendsJoinAndLeaveLinesToEveryMember) {
  Connect("alice");
  Connect("bob");
  Connect("carol");
  ASSERT_TRUE(state_.Disconnect("carol", "carol-session").ok());
  EXPECT_THAT(Lines("alice"),
              ::testing::ElementsAre("JOIN:alice", "JOIN:bob", "JOIN:carol", "LEAVE:carol"));
  EXPECT_EQ(Lobby().mode, PresenceMode::kEvents);
}

TEST_P(ChatPresenceTest, ALargeRoomSendsNoPresenceLinesAndItsMembersQueuesDoNotGrow) {
  for (size_t i = 1; i <= kMaxEventMembers; ++i) Connect(absl::StrCat("u", i));
  const uint64_t before = LastSeq("u1");
  EXPECT_EQ(before, kMaxEventMembers);  // the JOINs of a small room
  Connect("u5");                        // the room grows past the maximum: no JOIN out
  EXPECT_EQ(Lobby().mode, PresenceMode::kCounts);
  for (int i = 6; i <= 20; ++i) Connect(absl::StrCat("u", i));
  ASSERT_TRUE(state_.Join("u1", "side").ok());
  ASSERT_TRUE(state_.Disconnect("u7", "u7-session").ok());
  LastSeq("u1");  // u1 and u2 stay active; every other user expires
  LastSeq("u2");
  clock_.Advance(absl::Minutes(11));
  LastSeq("u1");
  LastSeq("u2");
  EXPECT_EQ(state_.Sweep().expired, 17u);
  EXPECT_EQ(LastSeq("u2"), before);  // not one line for 16 joins, a logout and 17 expiries
  // The joiner's own queue still hears of its own joins, so its other tabs learn of them.
  Connect("late");
  EXPECT_THAT(Lines("late"), ::testing::ElementsAre("JOIN:late"));
  EXPECT_EQ(Lobby().members, 3u);
  EXPECT_EQ(Lobby().mode, PresenceMode::kEvents);  // 3 <= three quarters of 4
}

TEST_P(ChatPresenceTest, AStormOfLoginsIntoALargeRoomPushesOutNoUnreadChatLine) {
  Connect("alice");
  Connect("bob");
  const uint64_t cursor = LastSeq("alice");
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(state_.Publish({"bob", "lobby", "", "hi", ""}).ok());
  for (int i = 0; i < 500; ++i) Connect(absl::StrCat("storm", i));  // queue_capacity is 50
  ReadInput input;
  input.user = "alice";
  input.cursor = cursor;
  input.max_messages = 50;
  ReadOutcome unread = Read(input);
  EXPECT_FALSE(unread.read.gap);
  // The 40 lines, and the JOINs of the first two of the storm while the room was small.
  ASSERT_EQ(unread.read.messages.size(), 42u);
  int chat = 0;
  for (const SequencedMessage& m : unread.read.messages)
    chat += m.message->kind == MessageKind::kChat;
  EXPECT_EQ(chat, 40);
}

TEST_P(ChatPresenceTest, TheFirstWatchingReadListsEveryRoomAndThenParksUntilPublished) {
  Connect("alice");
  ASSERT_TRUE(state_.Join("alice", "side").ok());
  const uint64_t cursor = LastSeq("alice");
  ReadOutcome first = Read(Watch("alice", cursor), std::make_shared<CountingWaiter>());
  EXPECT_FALSE(first.parked);  // no messages, but the client knew no versions
  ASSERT_EQ(first.presence.size(), 2u);
  EXPECT_EQ(first.presence[0].room, "lobby");
  EXPECT_EQ(first.presence[1].room, "side");
  EXPECT_EQ(first.presence[0].presence.members, 1u);
  EXPECT_EQ(first.presence[0].presence.online, 1u);
  // Knowing the live versions, the next read parks even though nothing was published yet.
  absl::flat_hash_map<std::string, uint64_t> known;
  for (const RoomPresenceInfo& room : first.presence) known[room.room] = room.presence.version;
  auto waiter = std::make_shared<CountingWaiter>();
  EXPECT_TRUE(Read(Watch("alice", cursor, known), waiter).parked);
  ASSERT_TRUE(state_.PublishDuePresence().ok());  // publishes the changes alice already knows
  EXPECT_EQ(waiter->wakes, 1);  // woken, and a read finds nothing newer than it knows:
  EXPECT_TRUE(Read(Watch("alice", cursor, known), waiter).parked);
  EXPECT_EQ(state_.Stats().parked_polls, 1u);
}

TEST_P(ChatPresenceTest, AParkedPollSeesAPresenceChangeAtMostOncePerInterval) {
  for (size_t i = 1; i <= kMaxEventMembers + 1; ++i) Connect(absl::StrCat("u", i));
  ASSERT_EQ(Lobby().mode, PresenceMode::kCounts);
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  const uint64_t cursor = LastSeq("u1");
  ReadOutcome first = Read(Watch("u1", cursor));
  ASSERT_EQ(first.presence.size(), 1u);
  absl::flat_hash_map<std::string, uint64_t> known{{"lobby", first.presence[0].presence.version}};

  auto waiter = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(Read(Watch("u1", cursor, known), waiter).parked);
  Connect("newcomer");  // a change in a large room: no line, no wake yet
  EXPECT_EQ(waiter->wakes, 0);
  ASSERT_TRUE(state_.PublishDuePresence().ok());  // the last publish was just now: not due
  EXPECT_EQ(waiter->wakes, 0);
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  EXPECT_EQ(waiter->wakes, 1);
  ReadOutcome woken = Read(Watch("u1", cursor, known), waiter);
  EXPECT_FALSE(woken.parked);
  EXPECT_TRUE(woken.read.messages.empty());
  ASSERT_EQ(woken.presence.size(), 1u);
  EXPECT_GT(woken.presence[0].presence.version, known["lobby"]);
  EXPECT_EQ(woken.presence[0].presence.members, kMaxEventMembers + 2);
  EXPECT_EQ(woken.presence[0].presence.mode, PresenceMode::kCounts);
  known["lobby"] = woken.presence[0].presence.version;

  // More changes within the interval wake nobody until it has passed.
  auto again = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(Read(Watch("u1", cursor, known), again).parked);
  Connect("another");
  ASSERT_TRUE(state_.Disconnect("u3", "u3-session").ok());
  clock_.Advance(absl::Seconds(4));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  EXPECT_EQ(again->wakes, 0);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  EXPECT_EQ(again->wakes, 1);
  ReadOutcome later = Read(Watch("u1", cursor, known), again);
  ASSERT_EQ(later.presence.size(), 1u);
  EXPECT_EQ(later.presence[0].presence.members, kMaxEventMembers + 2);  // +another -u3
  // A poll that does not watch presence is never woken by it.
  auto plain = std::make_shared<CountingWaiter>();
  ReadInput unwatched;
  unwatched.user = "u2";
  unwatched.cursor = LastSeq("u2");
  ASSERT_TRUE(Read(unwatched, plain).parked);
  Connect("third");
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  EXPECT_EQ(plain->wakes, 0);
  EXPECT_GE(state_.Stats().presence_notifies, 3u);
}

TEST_P(ChatPresenceTest, PresenceRidesOnAnAnswerWithMessages) {
  Connect("alice");
  Connect("bob");
  const uint64_t cursor = LastSeq("alice");
  ReadOutcome first = Read(Watch("alice", cursor));
  absl::flat_hash_map<std::string, uint64_t> known{{"lobby", first.presence[0].presence.version}};
  ASSERT_TRUE(state_.Join("bob", "side").ok());  // not alice's room: not listed for her
  ASSERT_TRUE(state_.Publish({"bob", "lobby", "", "hello", ""}).ok());
  ReadOutcome answer = Read(Watch("alice", cursor, known));
  ASSERT_EQ(answer.read.messages.size(), 1u);
  EXPECT_TRUE(answer.presence.empty());  // nothing changed in the lobby
  Connect("carol");
  ReadOutcome with_join = Read(Watch("alice", answer.read.cursor, known));
  ASSERT_EQ(with_join.presence.size(), 1u);  // the JOIN line, and the version with it
  EXPECT_EQ(with_join.presence[0].presence.members, 3u);
}

TEST_P(ChatPresenceTest, GoingOfflineBumpsEachRoomOncePerSweep) {
  for (int i = 1; i <= 6; ++i) Connect(absl::StrCat("u", i));
  const uint64_t version = Lobby().version;
  EXPECT_EQ(Lobby().online, 6u);
  clock_.Advance(absl::Seconds(31));
  LastSeq("u1");  // u1 polled: still online
  EXPECT_EQ(state_.Sweep().went_offline, 5u);
  EXPECT_EQ(Lobby().online, 1u);
  EXPECT_EQ(Lobby().version, version + 1);
  EXPECT_EQ(state_.Sweep().went_offline, 0u);
  EXPECT_EQ(Lobby().version, version + 1);
  LastSeq("u2");  // back online at once
  EXPECT_EQ(Lobby().online, 2u);
  EXPECT_EQ(Lobby().version, version + 2);
}

TEST_P(ChatPresenceTest, MembersChecksItsQuery) {
  Connect("alice");
  EXPECT_EQ(state_.Members("lobby", {1001, "", false, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Members("lobby", {0, "a b", false, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Members("lobby", {0, "", false, "a/"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.Members("nowhere", {}).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<MembersResult> page = state_.Members("lobby", {1000, "", true, "al"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->page.members.size(), 1u);
  EXPECT_EQ(page->presence.members, 1u);
}

TEST_P(ChatPresenceTest, JoinAndRoomsTellTheMode) {
  for (size_t i = 1; i <= kMaxEventMembers + 1; ++i) Connect(absl::StrCat("u", i));
  absl::StatusOr<JoinResult> joined = state_.Join("u1", "side");
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->presence.mode, PresenceMode::kEvents);
  EXPECT_EQ(joined->presence.members, 1u);
  absl::StatusOr<std::vector<RoomPresenceInfo>> rooms = state_.RoomsOf("u1");
  ASSERT_TRUE(rooms.ok());
  ASSERT_EQ(rooms->size(), 2u);
  EXPECT_EQ((*rooms)[0].room, "lobby");
  EXPECT_EQ((*rooms)[0].presence.mode, PresenceMode::kCounts);
  EXPECT_EQ((*rooms)[1].presence.mode, PresenceMode::kEvents);
}

}  // namespace
}  // namespace parley::broker

namespace parley::broker {
namespace {

TEST_P(ChatPresenceTest, RoomsOverAThousandPublishLessOftenInProportion) {
  for (size_t i = 0; i < 2 * kPresenceWakeMembers; ++i) Connect(absl::StrCat("u", i));
  clock_.Advance(absl::Seconds(20));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  const uint64_t cursor = LastSeq("u0");
  ReadOutcome first = Read(Watch("u0", cursor));
  absl::flat_hash_map<std::string, uint64_t> known{{"lobby", first.presence[0].presence.version}};
  auto waiter = std::make_shared<CountingWaiter>();
  ASSERT_TRUE(Read(Watch("u0", cursor, known), waiter).parked);
  Connect("newcomer");
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  EXPECT_EQ(waiter->wakes, 0);  // 2,001 members: every 10.005 s, not every 5 s
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(state_.PublishDuePresence().ok());
  EXPECT_EQ(waiter->wakes, 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, ChatPresenceTest,
                         ::testing::Values(::parley::testing::TestStore::kMemory,
                                           ::parley::testing::TestStore::kMemoryAnsweringLater,
                                           ::parley::testing::TestStore::kRedis),
                         ::parley::testing::TestStoreName);

}  // namespace
}  // namespace parley::broker
