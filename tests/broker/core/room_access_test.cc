// The server API's room access over ChatState: private rooms invisible to those they do not
// admit, access lists, kept rooms, system messages, and ending a user's sessions. Over every
// store.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/core/chat_errors.h"
#include "broker/core/chat_state.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sync_chat_state.h"
#include "tests/testing/test_chat_stores.h"

namespace parley::broker {
namespace {

using ::parley::testing::FakeClock;
using ::parley::testing::TestStore;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RoomAccessTest : public ::testing::TestWithParam<TestStore> {
 protected:
  void Connect(const std::string& user) {
    ASSERT_TRUE(state_.Connect(user, user + "-session").ok());
  }

  // The user's queue after `cursor` as "KIND:room:from:text".
  std::vector<std::string> Queue(const std::string& user, uint64_t cursor = 0) {
    ReadInput input;
    input.user = user;
    input.cursor = cursor;
    absl::StatusOr<ReadOutcome> outcome = state_.ReadOrPark(input, nullptr);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    std::vector<std::string> out;
    if (!outcome.ok()) return out;
    for (const SequencedMessage& m : outcome->read.messages) {
      static const char* kKinds[] = {"CHAT", "DIRECT", "JOIN", "LEAVE", "SYSTEM"};
      out.push_back(absl::StrCat(kKinds[static_cast<int>(m.message->kind)], ":", m.message->room,
                                 ":", m.message->from, ":", m.message->text));
    }
    return out;
  }
  uint64_t Cursor(const std::string& user) {
    ReadInput input;
    input.user = user;
    input.max_messages = 1000;
    return state_.ReadOrPark(input, nullptr)->read.cursor;
  }

  FakeClock clock_;
  std::unique_ptr<ChatStore> store_ = ::parley::testing::MakeTestStore(GetParam(), ChatOptions());
  ChatState chat_{ChatOptions(), &clock_, store_.get()};
  ::parley::testing::SyncChatState state_{&chat_,
                                          [this] { ::parley::testing::Settle(store_.get()); }};
};

TEST_P(RoomAccessTest, APrivateRoomIsNotThereForThoseItDoesNotAdmit) {
  Connect("alice");
  Connect("mallory");
  ASSERT_TRUE(state_.CreateRoom({"team", true, {"alice"}}).ok());
  ASSERT_TRUE(state_.Publish({"alice", "team", "", "secret plan", ""}).ok());

  // Every way in answers as for a room that does not exist.
  EXPECT_EQ(state_.Join("mallory", "team").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.History("team", 0, "mallory").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.Members("team", {}, "mallory").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.Publish({"mallory", "team", "", "let me in", ""}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(Queue("mallory"), ElementsAre("JOIN:lobby:mallory:"));
  // Nor is it among mallory's rooms.
  absl::StatusOr<std::vector<RoomPresenceInfo>> rooms = state_.RoomsOf("mallory");
  ASSERT_TRUE(rooms.ok());
  ASSERT_EQ(rooms->size(), 1u);
  EXPECT_EQ((*rooms)[0].room, "lobby");

  // The member and the server API (no reader) see it.
  ASSERT_TRUE(state_.History("team", 0, "alice").ok());
  EXPECT_EQ(state_.History("team", 0, "alice")->size(), 1u);
  EXPECT_EQ(state_.History("team", 0)->size(), 1u);
  EXPECT_EQ(state_.Members("team", {}, "alice")->page.members.size(), 1u);
  // A public room stays readable by anyone with a name.
  ASSERT_TRUE(state_.Join("alice", "open").ok());
  EXPECT_TRUE(state_.History("open", 0, "mallory").ok());
}

TEST_P(RoomAccessTest, AGrantedJoinPutsTheUserOnTheAccessList) {
  Connect("bob");
  ASSERT_TRUE(state_.CreateRoom({"team", true, {}}).ok());
  absl::StatusOr<JoinResult> joined = state_.Join("bob", "team", /*granted=*/true);
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_TRUE(joined->joined);
  ASSERT_TRUE(state_.Leave("bob", "team").ok());
  // On the list now: the plain join works, and the kept room outlived being empty.
  EXPECT_TRUE(state_.Join("bob", "team").ok());
}

TEST_P(RoomAccessTest, AddedMembersJoinNowOrWhenTheyConnect) {
  Connect("alice");
  absl::StatusOr<CreateRoomResult> created = state_.CreateRoom({"team", true, {"alice", "bob"}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->joined, ElementsAre("alice"));
  EXPECT_TRUE(created->room.is_private);
  EXPECT_TRUE(created->room.kept);
  EXPECT_EQ(state_.CreateRoom({"team", false, {}}).status().code(),
            absl::StatusCode::kAlreadyExists);

  Connect("bob");  // bob was on the list while away
  EXPECT_THAT(Queue("bob"), ElementsAre("JOIN:lobby:bob:", "JOIN:team:bob:"));
  Connect("carol");
  absl::StatusOr<bool> added = state_.AddMember("team", "carol");
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(*added);
  EXPECT_FALSE(*state_.AddMember("team", "carol"));  // again: fine, nothing new
  EXPECT_EQ(state_.AddMember("nowhere", "carol").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.Members("team", {})->page.members.size(), 3u);
}

TEST_P(RoomAccessTest, AMemberWhoLeftAKeptRoomIsNotPulledBackByTheirNextConnect) {
  ASSERT_TRUE(state_.CreateRoom({"team", true, {"bob"}}).ok());
  Connect("bob");
  ASSERT_TRUE(state_.Leave("bob", "team").ok());
  Connect("bob");  // the same session again, as a tab's next poll does
  absl::StatusOr<std::vector<RoomPresenceInfo>> rooms = state_.RoomsOf("bob");
  ASSERT_TRUE(rooms.ok());
  ASSERT_EQ(rooms->size(), 1u);
  EXPECT_EQ((*rooms)[0].room, "lobby");
  // Still on the list: he may come back in himself.
  EXPECT_TRUE(state_.Join("bob", "team").ok());
}

TEST_P(RoomAccessTest, ARemovedMemberStopsReceivingAtOnceAndIsTold) {
  Connect("alice");
  Connect("bob");
  ASSERT_TRUE(state_.CreateRoom({"team", true, {"alice", "bob"}}).ok());
  const uint64_t before = Cursor("bob");
  absl::StatusOr<bool> left = state_.RemoveMember("team", "bob");
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_TRUE(*left);
  ASSERT_TRUE(state_.Publish({"alice", "team", "", "after bob", ""}).ok());
  EXPECT_THAT(Queue("bob", before), ElementsAre("LEAVE:team:bob:"));
  EXPECT_EQ(state_.Join("bob", "team").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.History("team", 0, "bob").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(*state_.RemoveMember("team", "bob"));  // again: fine
  EXPECT_EQ(state_.RemoveMember("lobby", "bob").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(RoomAccessTest, ASystemMessageNeedsNoConnectedSender) {
  Connect("alice");
  Connect("bob");
  ASSERT_TRUE(state_.CreateRoom({"team", true, {"alice"}}).ok());
  PublishInput to_room{"billing", "team", "", "invoice paid", ""};
  to_room.system = true;
  absl::StatusOr<PublishResult> sent = state_.Publish(to_room);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->message->kind, MessageKind::kSystem);
  EXPECT_EQ(sent->recipients, 1u);
  PublishInput to_user{"billing", "", "bob", "your trial ends", ""};
  to_user.system = true;
  ASSERT_TRUE(state_.Publish(to_user).ok());
  EXPECT_THAT(Queue("alice"), ElementsAre("JOIN:lobby:alice:", "JOIN:lobby:bob:",
                                          "JOIN:team:alice:", "SYSTEM:team:billing:invoice paid"));
  EXPECT_THAT(Queue("bob"), ElementsAre("JOIN:lobby:bob:", "SYSTEM::billing:your trial ends"));
  EXPECT_EQ(state_.History("team", 0)->size(), 1u);  // kept with the room's lines
  PublishInput nobody{"not a name", "team", "", "x", ""};
  nobody.system = true;
  EXPECT_EQ(state_.Publish(nobody).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(RoomAccessTest, EndingAUserRefusesEverySessionBegunBefore) {
  Connect("alice");
  clock_.Advance(absl::Seconds(10));
  absl::StatusOr<bool> ended = state_.EndUser("alice");
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_TRUE(*ended);
  // The old session (begun before) is refused, with the reason the frontend maps to 401.
  absl::StatusOr<ConnectResult> old_session =
      state_.Connect("alice", "alice-session", clock_.Now() - absl::Seconds(5));
  EXPECT_EQ(old_session.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorReason(old_session.status()), kReasonRevoked);
  EXPECT_EQ(state_.Connect("alice", "other", absl::InfinitePast()).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A session begun after (a new token from the app) is welcome.
  clock_.Advance(absl::Seconds(2));
  EXPECT_TRUE(state_.Connect("alice", "new-session", clock_.Now()).ok());
  EXPECT_FALSE(*state_.EndUser("nobody"));
  // The memory of it ends with ended_session_memory.
  ASSERT_TRUE(state_.EndUser("alice").ok());
  clock_.Advance(ChatOptions().ended_session_memory + absl::Seconds(1));
  EXPECT_TRUE(state_.Connect("alice", "late", absl::InfinitePast()).ok());
}

TEST_P(RoomAccessTest, ListRoomsShowsEveryRoomSorted) {
  Connect("alice");
  ASSERT_TRUE(state_.CreateRoom({"zeta", true, {}}).ok());
  ASSERT_TRUE(state_.Join("alice", "alpha").ok());
  absl::StatusOr<std::vector<RoomListing>> rooms = state_.ListRooms();
  ASSERT_TRUE(rooms.ok());
  std::vector<std::string> names;
  for (const RoomListing& room : *rooms) names.push_back(room.name + (room.is_private ? "*" : ""));
  EXPECT_THAT(names, ElementsAre("alpha", "lobby", "zeta*"));
}

INSTANTIATE_TEST_SUITE_P(Stores, RoomAccessTest,
                         ::testing::Values(TestStore::kMemory, TestStore::kMemoryAnsweringLater,
                                           TestStore::kRedis),
                         ::parley::testing::TestStoreName);

}  // namespace
}  // namespace parley::broker
