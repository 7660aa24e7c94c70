// chat.lua's answers read by name into each operation's typed reply: fields in any order, and
// an answer the script should not give (an unknown outcome, a missing or mistyped field) is
// INTERNAL naming the operation and the field, never a default read as if it were an answer.

#include "broker/store/redis/chat_replies.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "broker/store/redis/script_reply.h"

namespace parley::broker::redis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

RedisReply Str(const std::string& value) {
  RedisReply reply;
  reply.type = RedisReply::Type::kString;
  reply.str = value;
  return reply;
}

RedisReply Int(int64_t value) {
  RedisReply reply;
  reply.type = RedisReply::Type::kInteger;
  reply.integer = value;
  return reply;
}

RedisReply Arr(std::initializer_list<RedisReply> elements) {
  RedisReply reply;
  reply.type = RedisReply::Type::kArray;
  reply.elements = elements;
  return reply;
}

TEST(ChatRepliesTest, FieldsAreReadByNameInWhateverOrderTheyCome) {
  const RedisReply resumed =
      Arr({Str("resumed"), Str("pending"), Arr({Str("games")}), Str("seq"), Str("12"), Str("rooms"),
           Arr({Str("lobby"), Str("games")}), Str("went_online"), Int(1), Str("epoch"),
           Str("18446744073709551615"), Str("admit"), Arr({Str("team")})});
  absl::StatusOr<ClaimReply> claim = ParseClaim(resumed);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->outcome, ClaimReply::Outcome::kResumed);
  EXPECT_EQ(claim->epoch, 18446744073709551615u);  // a uint64 epoch, as a string
  EXPECT_EQ(claim->seq, 12u);
  EXPECT_TRUE(claim->went_online);
  EXPECT_THAT(claim->rooms, ElementsAre("lobby", "games"));
  EXPECT_THAT(claim->pending, ElementsAre("games"));
  EXPECT_THAT(claim->admit, ElementsAre("team"));
}

TEST(ChatRepliesTest, AMissingFieldIsAnInternalErrorNamingItNotAZero) {
  const RedisReply no_cursor =
      Arr({Str("ok"), Str("epoch"), Int(7), Str("epoch_changed"), Int(0), Str("gap"), Int(0),
           Str("missed"), Int(0), Str("went_online"), Int(0), Str("rooms"), Arr({}), Str("entries"),
           Arr({}), Str("seq"), Int(3), Str("event"), Int(9)});
  absl::StatusOr<ReadReply> read = ParseRead(no_cursor);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(read.status().message(), HasSubstr("read"));
  EXPECT_THAT(read.status().message(), HasSubstr("'cursor' missing"));
}

TEST(ChatRepliesTest, AFieldOfTheWrongTypeIsAnInternalError) {
  absl::StatusOr<DeliverReply> delivered =
      ParseDeliver(Arr({Str("behind"), Str("applied"), Str("many")}));
  ASSERT_FALSE(delivered.ok());
  EXPECT_THAT(delivered.status().message(), HasSubstr("'applied' is not a count"));

  absl::StatusOr<std::optional<std::vector<std::string>>> rooms =
      ParseRoomsOf(Arr({Str("ok"), Str("rooms"), Str("lobby")}));
  ASSERT_FALSE(rooms.ok());
  EXPECT_THAT(rooms.status().message(), HasSubstr("'rooms' is not an array"));
}

TEST(ChatRepliesTest, AnUnknownOutcomeIsAnInternalErrorNamingTheOperation) {
  absl::StatusOr<MemberLeaveReply> left = ParseMemberLeave(Arr({Str("maybe")}));
  ASSERT_FALSE(left.ok());
  EXPECT_EQ(left.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(left.status().message(), HasSubstr("member_leave"));
  EXPECT_THAT(left.status().message(), HasSubstr("'maybe'"));
  // Not an answer at all (a script from another version, say).
  EXPECT_EQ(ParseCounts(Int(3)).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ParseOk("touch", Arr({})).code(), absl::StatusCode::kInternal);
}

TEST(ChatRepliesTest, EachOutcomeReadsOnlyItsOwnFields) {
  // 'member' carries the presence only; 'joined' also the line and the shard's writes.
  absl::StatusOr<RoomJoinReply> member = ParseRoomJoin(
      Arr({Str("member"), Str("version"), Int(4), Str("members"), Int(2), Str("online"), Int(1),
           Str("mode"), Int(0), Str("published_version"), Int(3)}));
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_FALSE(member->joined);
  EXPECT_EQ(member->presence.members, 2u);
  absl::StatusOr<RoomJoinReply> joined = ParseRoomJoin(Arr({Str("joined"),
                                                            Str("created"),
                                                            Int(1),
                                                            Str("n"),
                                                            Int(5),
                                                            Str("epoch"),
                                                            Str("99"),
                                                            Str("version"),
                                                            Int(4),
                                                            Str("members"),
                                                            Int(2),
                                                            Str("online"),
                                                            Int(1),
                                                            Str("mode"),
                                                            Int(1),
                                                            Str("published_version"),
                                                            Int(3),
                                                            Str("writes"),
                                                            Int(40),
                                                            Str("event"),
                                                            Int(41),
                                                            Str("shards"),
                                                            Arr({Str("0"), Str("2")})}));
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_TRUE(joined->joined);
  EXPECT_TRUE(joined->created);
  EXPECT_EQ(joined->line.n, 5u);
  EXPECT_EQ(joined->line.epoch, "99");
  EXPECT_THAT(joined->line.shards, ElementsAre(0u, 2u));
  EXPECT_EQ(joined->presence.mode, PresenceMode::kCounts);
  EXPECT_EQ(joined->writes.writes, 40u);
  EXPECT_EQ(joined->writes.event, 41u);
  // 'joined' without its line is the script's mistake.
  EXPECT_FALSE(ParseRoomJoin(Arr({Str("joined"), Str("created"), Int(0)})).ok());
}

TEST(ChatRepliesTest, ReadManyAnswersEachReadOnItsOwnAndChecksTheCount) {
  const RedisReply many =
      Arr({Str("ok"), Str("reads"), Arr({Arr({Str("missing")}), Arr({Str("sideways")})})});
  absl::StatusOr<std::vector<absl::StatusOr<ReadReply>>> reads = ParseReadMany(many, 2);
  ASSERT_TRUE(reads.ok()) << reads.status();
  ASSERT_EQ(reads->size(), 2u);
  ASSERT_TRUE((*reads)[0].ok());
  EXPECT_EQ((*reads)[0]->outcome, ReadReply::Outcome::kMissing);
  EXPECT_EQ((*reads)[1].status().code(), absl::StatusCode::kInternal);  // only that one
  EXPECT_THAT(ParseReadMany(many, 3).status().message(), HasSubstr("2 reads of 3"));
}

}  // namespace
}  // namespace parley::broker::redis
