#include "broker/store/memory/room_presence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace parley::broker {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Names(const MembersPage& page) {
  std::vector<std::string> names;
  for (const MemberInfo& member : page.members) names.push_back(member.user);
  return names;
}

TEST(RoomPresenceTest, MembershipIsASortedSetAndOnlineASubsetOfIt) {
  RoomPresence room(100, 1);
  EXPECT_TRUE(room.AddMember("bob", true));
  EXPECT_TRUE(room.AddMember("alice", false));
  EXPECT_FALSE(room.AddMember("bob", false));
  EXPECT_EQ(*room.members().begin(), "alice");
  EXPECT_TRUE(room.IsOnline("bob"));
  EXPECT_FALSE(room.SetOnline("carol", true));  // not a member
  EXPECT_TRUE(room.SetOnline("alice", true));
  EXPECT_FALSE(room.SetOnline("alice", true));
  EXPECT_EQ(room.Live().online, 2u);
  EXPECT_TRUE(room.RemoveMember("alice"));
  EXPECT_FALSE(room.RemoveMember("alice"));
  EXPECT_FALSE(room.HasMember("alice"));
  EXPECT_EQ(room.Live().members, 1u);
  EXPECT_EQ(room.Live().online, 1u);
}

TEST(RoomPresenceTest, ModeSwitchesToCountsPastTheMaximumAndBackAtThreeQuarters) {
  RoomPresence room(8, 1);
  for (int i = 1; i <= 8; ++i) room.AddMember(absl::StrCat("u", i), true);
  EXPECT_EQ(room.mode(), PresenceMode::kEvents);
  room.AddMember("u9", true);
  EXPECT_EQ(room.mode(), PresenceMode::kCounts);
  // No flapping at the edge: 8 and 7 members stay in COUNTS, 6 (three quarters) goes back.
  room.RemoveMember("u9");
  EXPECT_EQ(room.mode(), PresenceMode::kCounts);
  room.AddMember("u9", true);
  room.RemoveMember("u9");
  room.RemoveMember("u8");
  EXPECT_EQ(room.mode(), PresenceMode::kCounts);
  room.RemoveMember("u7");
  EXPECT_EQ(room.mode(), PresenceMode::kEvents);
  EXPECT_EQ(room.Live().mode, PresenceMode::kEvents);
}

TEST(RoomPresenceTest, PublishedSnapshotMovesOnlyOnPublish) {
  RoomPresence room(100, 7);
  EXPECT_EQ(room.published().version, 7u);
  EXPECT_EQ(room.version(), room.published().version);
  room.AddMember("alice", true);
  room.Changed(9);
  EXPECT_NE(room.version(), room.published().version);
  EXPECT_EQ(room.published().members, 0u);
  room.Publish(absl::UnixEpoch());
  EXPECT_EQ(room.version(), room.published().version);
  EXPECT_EQ(room.published().version, 9u);
  EXPECT_EQ(room.published().members, 1u);
  EXPECT_EQ(room.published_at(), absl::UnixEpoch());
}

TEST(RoomPresenceTest, ListPagesByNameWithPrefixAndOnlineOnly) {
  RoomPresence room(100, 1);
  for (const char* name : {"dave", "alice", "carol", "bob", "bea", "eve"}) {
    room.AddMember(name, name[0] != 'b' && name[0] != 'd');
  }
  MembersPage first = room.List({2, "", false, ""});
  EXPECT_THAT(Names(first), ElementsAre("alice", "bea"));
  EXPECT_TRUE(first.members[0].online);
  EXPECT_FALSE(first.members[1].online);
  EXPECT_EQ(first.next_after, "bea");
  MembersPage second = room.List({2, first.next_after, false, ""});
  EXPECT_THAT(Names(second), ElementsAre("bob", "carol"));
  MembersPage last = room.List({2, "carol", false, ""});
  EXPECT_THAT(Names(last), ElementsAre("dave", "eve"));
  EXPECT_EQ(last.next_after, "");  // nothing after eve
  // Online only: the first page is not filled with offline names.
  MembersPage online = room.List({2, "", true, ""});
  EXPECT_THAT(Names(online), ElementsAre("alice", "carol"));
  EXPECT_TRUE(online.members[1].online);
  EXPECT_THAT(Names(room.List({2, online.next_after, true, ""})), ElementsAre("eve"));
  // A prefix finds one name in a large room; `after` pages within it.
  EXPECT_THAT(Names(room.List({0, "", false, "b"})), ElementsAre("bea", "bob"));
  EXPECT_THAT(Names(room.List({0, "bea", false, "b"})), ElementsAre("bob"));
  EXPECT_THAT(Names(room.List({0, "", false, "bo"})), ElementsAre("bob"));
  EXPECT_THAT(Names(room.List({0, "", false, "zed"})), ElementsAre());
  // The default page size applies to 0.
  RoomPresence big(0, 1);
  for (int i = 0; i < 250; ++i) big.AddMember(absl::StrCat("user", 1000 + i), false);
  EXPECT_EQ(big.List({}).members.size(), kDefaultMembersPage);
}

// Paging while members come and go: everyone who is a member for the whole walk is listed
// exactly once; nobody is listed twice.
TEST(RoomPresenceTest, PagingListsEveryStayingMemberExactlyOnceWhileOthersComeAndGo) {
  RoomPresence room(0, 1);
  std::vector<std::string> staying;
  for (int i = 0; i < 1000; ++i) {
    staying.push_back(absl::StrCat("stay", 10000 + i * 7));
    room.AddMember(staying.back(), i % 3 == 0);
  }
  absl::BitGen random;
  int churn = 0;
  absl::flat_hash_map<std::string, int> seen;
  std::string after;
  do {
    MembersPage page = room.List({37, after, false, ""});
    for (const MemberInfo& member : page.members) ++seen[member.user];
    after = page.next_after;
    // Between pages: some join (before and after the cursor), some who joined leave.
    for (int i = 0; i < 20; ++i) {
      const std::string name = absl::StrCat("stay", absl::Uniform(random, 10000, 17000), "x");
      if (absl::Bernoulli(random, 0.5)) {
        room.AddMember(name, true);
      } else {
        room.RemoveMember(name);
      }
      ++churn;
    }
  } while (!after.empty());
  for (const std::string& name : staying) EXPECT_EQ(seen[name], 1) << name;
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
  EXPECT_GT(churn, 500);
}

}  // namespace
}  // namespace parley::broker
