// QueueMirror alone: what a broker may answer without Redis, from a read that found nothing and
// the shard's numbered notifications after it (the Redis store's use of it is tested in
// redis_chat_store_test.cc).

#include "broker/store/redis/queue_mirror.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/core_fakes.h"

namespace parley::broker::redis {
namespace {

using ::parley::testing::TextMessage;

constexpr uint64_t kEpoch = 7;

ReadInput Poll(const std::string& user, uint64_t cursor) {
  ReadInput input;
  input.user = user;
  input.cursor = cursor;
  input.epoch = kEpoch;
  input.may_park = true;
  return input;
}

std::vector<std::pair<uint64_t, std::string>> Lines(const std::optional<StoreRead>& read) {
  std::vector<std::pair<uint64_t, std::string>> lines;
  if (!read.has_value()) return {{0, "(not answered from the mirror)"}};
  for (const SequencedMessage& m : read->read.messages) lines.emplace_back(m.seq, m.message->text);
  return lines;
}

// A room notification's lines, as the store would parse them.
auto Parsed(std::vector<MessagePtr> lines) {
  return [lines = std::move(lines)]() -> absl::StatusOr<std::vector<MessagePtr>> { return lines; };
}

class QueueMirrorTest : public ::testing::Test {
 protected:
  // alice's queue ends at seq 3, she is in the lobby and "tea", as of notification 10.
  void LearnAlice() {
    mirror_.Learn(mirror_.generation(), "alice", kEpoch, 3, {"lobby", "tea"}, 10);
  }

  QueueMirror mirror_{4};
  absl::Time now_ = absl::FromUnixSeconds(1000);
};

TEST_F(QueueMirrorTest, APollWithNothingNewIsAnsweredWithTheUsersRooms) {
  EXPECT_EQ(mirror_.Read(Poll("alice", 3), 10, now_), std::nullopt);  // nothing known yet
  LearnAlice();
  const std::optional<StoreRead> read = mirror_.Read(Poll("alice", 3), 10, now_);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->read.messages.empty());
  EXPECT_EQ(read->read.cursor, 3u);
  EXPECT_EQ(read->epoch, kEpoch);
  EXPECT_EQ(read->rooms, (std::vector<std::string>{"lobby", "tea"}));
}

TEST_F(QueueMirrorTest, RoomLinesAfterTheReadAreEachMembersNextSeqs) {
  LearnAlice();
  mirror_.Learn(mirror_.generation(), "bob", kEpoch, 40, {"lobby"}, 10);
  mirror_.RoomLines(9, "lobby", Parsed({TextMessage("seen by the read")}));  // before it: not again
  mirror_.RoomLines(10, "lobby", Parsed({TextMessage("also seen")}));
  mirror_.RoomLines(11, "tea", Parsed({TextMessage("one"), TextMessage("two")}));
  mirror_.RoomLines(12, "lobby", Parsed({TextMessage("three")}));
  EXPECT_EQ(Lines(mirror_.Read(Poll("alice", 3), 10, now_)),
            (std::vector<std::pair<uint64_t, std::string>>{{4, "one"}, {5, "two"}, {6, "three"}}));
  EXPECT_EQ(Lines(mirror_.Read(Poll("bob", 40), 10, now_)),
            (std::vector<std::pair<uint64_t, std::string>>{{41, "three"}}));
  // At most max_messages, from the cursor on.
  const std::optional<StoreRead> two = mirror_.Read(Poll("alice", 4), 1, now_);
  EXPECT_EQ(Lines(two), (std::vector<std::pair<uint64_t, std::string>>{{5, "two"}}));
  EXPECT_EQ(two->read.cursor, 5u);
  EXPECT_TRUE(two->rooms.empty());  // not parking: no rooms needed
}

TEST_F(QueueMirrorTest, OnlyAParkingReadInTheUsersEpochWithACursorItHoldsIsAnswered) {
  LearnAlice();
  uint64_t event = 10;
  for (const char* text : {"4", "5", "6", "7", "8", "9"}) {
    mirror_.RoomLines(++event, "lobby", Parsed({TextMessage(text)}));
  }
  // The last four lines are kept (seqs 6..9): a cursor before 5 is Redis's to answer.
  EXPECT_EQ(mirror_.Read(Poll("alice", 4), 10, now_), std::nullopt);
  EXPECT_EQ(Lines(mirror_.Read(Poll("alice", 5), 1, now_)),
            (std::vector<std::pair<uint64_t, std::string>>{{6, "6"}}));
  EXPECT_EQ(mirror_.Read(Poll("alice", 10), 10, now_), std::nullopt);  // beyond the newest
  ReadInput returns_at_once = Poll("alice", 9);
  returns_at_once.may_park = false;
  EXPECT_EQ(mirror_.Read(returns_at_once, 10, now_), std::nullopt);
  ReadInput other_epoch = Poll("alice", 9);
  other_epoch.epoch = kEpoch + 1;
  EXPECT_EQ(mirror_.Read(other_epoch, 10, now_), std::nullopt);
  ReadInput consume = Poll("alice", 9);
  consume.consume = true;
  EXPECT_EQ(mirror_.Read(consume, 10, now_), std::nullopt);
  ReadInput presence = Poll("alice", 9);
  presence.watch_presence = true;
  EXPECT_EQ(mirror_.Read(presence, 10, now_), std::nullopt);
  ReadInput epoch_unknown = Poll("alice", 9);
  epoch_unknown.epoch = 0;
  EXPECT_NE(mirror_.Read(epoch_unknown, 10, now_), std::nullopt);
}

TEST_F(QueueMirrorTest, AUserWhoseRecordChangedIsForgotten) {
  LearnAlice();
  mirror_.Learn(mirror_.generation(), "bob", kEpoch, 40, {"lobby"}, 10);
  mirror_.UserChanged(10, "alice");  // the read saw it
  EXPECT_NE(mirror_.Read(Poll("alice", 3), 10, now_), std::nullopt);
  mirror_.UserChanged(11, "alice");
  EXPECT_EQ(mirror_.Read(Poll("alice", 3), 10, now_), std::nullopt);
  EXPECT_NE(mirror_.Read(Poll("bob", 40), 10, now_), std::nullopt);
  // Nor is she in the room index any more.
  mirror_.RoomLines(12, "lobby", Parsed({TextMessage("x")}));
  EXPECT_EQ(mirror_.users(), 1u);
}

TEST_F(QueueMirrorTest, ABreakInTheNumbersForgetsEverythingAndReadsSentBeforeTeachNothing) {
  LearnAlice();
  const uint64_t before = mirror_.generation();
  mirror_.RoomLines(11, "lobby", Parsed({TextMessage("one")}));
  mirror_.RoomLines(13, "lobby", Parsed({TextMessage("after a lost one")}));
  EXPECT_EQ(mirror_.Read(Poll("alice", 3), 10, now_), std::nullopt);
  mirror_.Learn(before, "alice", kEpoch, 3, {"lobby"}, 13);
  EXPECT_EQ(mirror_.Read(Poll("alice", 3), 10, now_), std::nullopt);
  mirror_.Learn(mirror_.generation(), "alice", kEpoch, 5, {"lobby"}, 13);
  EXPECT_NE(mirror_.Read(Poll("alice", 5), 10, now_), std::nullopt);

  mirror_.Resubscribed();
  EXPECT_EQ(mirror_.Read(Poll("alice", 5), 10, now_), std::nullopt);
  mirror_.Learn(mirror_.generation(), "alice", kEpoch, 5, {"lobby"}, 13);
  mirror_.EveryUserChanged(14);  // a fenced shard: every epoch changes
  EXPECT_EQ(mirror_.Read(Poll("alice", 5), 10, now_), std::nullopt);
}

TEST_F(QueueMirrorTest, ARoomsLinesAreParsedOnlyForAKnownMemberAndUnparsableOnesForgetAll) {
  LearnAlice();
  int parsed = 0;
  auto count = [&]() -> absl::StatusOr<std::vector<MessagePtr>> {
    ++parsed;
    return std::vector<MessagePtr>{TextMessage("x")};
  };
  mirror_.RoomLines(11, "garden", count);  // no member known here
  EXPECT_EQ(parsed, 0);
  mirror_.RoomLines(12, "tea", count);
  EXPECT_EQ(parsed, 1);
  EXPECT_EQ(Lines(mirror_.Read(Poll("alice", 3), 10, now_)),
            (std::vector<std::pair<uint64_t, std::string>>{{4, "x"}}));

  mirror_.RoomLines(13, "tea", []() -> absl::StatusOr<std::vector<MessagePtr>> {
    return absl::DataLossError("not a packed line");
  });
  EXPECT_EQ(mirror_.Read(Poll("alice", 4), 10, now_), std::nullopt);
  EXPECT_EQ(mirror_.users(), 0u);
}

TEST_F(QueueMirrorTest, AReadAnsweredAfterLaterNotificationsTeachesNothing) {
  mirror_.RoomLines(10, "lobby", Parsed({TextMessage("one")}));
  mirror_.RoomLines(11, "lobby", Parsed({TextMessage("two")}));
  mirror_.Learn(mirror_.generation(), "alice", kEpoch, 3, {"lobby"}, 10);  // "two" is not in it
  EXPECT_EQ(mirror_.Read(Poll("alice", 3), 10, now_), std::nullopt);
}

TEST_F(QueueMirrorTest, ReadsWaitUntilTheBrokersOwnWritesHaveBeenSeen) {
  LearnAlice();
  mirror_.RoomLines(11, "lobby", Parsed({TextMessage("one")}));
  mirror_.Wrote(12);  // a publish acknowledged here, its notification still on its way
  EXPECT_EQ(mirror_.Read(Poll("alice", 4), 10, now_), std::nullopt);
  mirror_.RoomLines(12, "lobby", Parsed({TextMessage("two")}));
  EXPECT_EQ(Lines(mirror_.Read(Poll("alice", 4), 10, now_)),
            (std::vector<std::pair<uint64_t, std::string>>{{5, "two"}}));
}

TEST_F(QueueMirrorTest, AnsweredUsersAreReportedOnceAndIdleOnesForgottenAtTheSecondSweep) {
  LearnAlice();
  mirror_.Learn(mirror_.generation(), "bob", kEpoch, 40, {"lobby"}, 10);
  ASSERT_TRUE(mirror_.Read(Poll("alice", 3), 10, now_).has_value());
  ASSERT_TRUE(mirror_.Read(Poll("alice", 3), 10, now_ + absl::Seconds(2)).has_value());
  EXPECT_EQ(mirror_.TakeAnswered(),
            (std::vector<std::pair<std::string, absl::Time>>{{"alice", now_ + absl::Seconds(2)}}));
  EXPECT_TRUE(mirror_.TakeAnswered().empty());  // bob's second idle sweep, alice's first
  EXPECT_EQ(mirror_.users(), 1u);
  EXPECT_TRUE(mirror_.TakeAnswered().empty());
  EXPECT_EQ(mirror_.users(), 0u);
}

}  // namespace
}  // namespace parley::broker::redis
