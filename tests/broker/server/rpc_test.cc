// The answered-at-once RPCs over a real gRPC connection: results and every error code.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "common/grpc_error_reason.h"
#include "tests/testing/in_process_broker.h"

namespace parley::broker {
namespace {

using ::parley::testing::InProcessBroker;

class RpcTest : public ::testing::Test {
 protected:
  template <typename Request, typename Response, typename Method>
  grpc::Status Call(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    return (broker_.stub().*method)(&context, request, response);
  }

  grpc::Status Connect(const std::string& user, const std::string& session) {
    v1::ConnectRequest request;
    request.set_user(user);
    request.set_session(session);
    v1::ConnectResponse response;
    return Call(&v1::Broker::Stub::Connect, request, &response);
  }

  grpc::Status Publish(const std::string& sender, const std::string& room,
                       const std::string& to_user, const std::string& text,
                       v1::PublishResponse* response = nullptr) {
    v1::PublishRequest request;
    request.set_sender(sender);
    if (!room.empty()) request.set_room(room);
    if (!to_user.empty()) request.set_to_user(to_user);
    request.set_text(text);
    v1::PublishResponse ignored;
    return Call(&v1::Broker::Stub::Publish, request, response ? response : &ignored);
  }

  grpc::Status Join(const std::string& user, const std::string& room) {
    v1::JoinRequest request;
    request.set_user(user);
    request.set_room(room);
    v1::JoinResponse response;
    return Call(&v1::Broker::Stub::Join, request, &response);
  }

  InProcessBroker broker_;
};

// Asserts the code and that the message names the problem.
void ExpectError(const grpc::Status& status, grpc::StatusCode code, const std::string& words) {
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_NE(status.error_message().find(words), std::string::npos) << status.error_message();
}

TEST_F(RpcTest, APublishOverTheRateIsResourceExhaustedWithReasonRateLimitedOthersHaveNoReason) {
  ASSERT_TRUE(Connect("alice", "s1").ok());
  grpc::Status status;
  for (int i = 0; i < 100 && status.ok(); ++i) status = Publish("alice", "lobby", "", "fast");
  ExpectError(status, grpc::StatusCode::RESOURCE_EXHAUSTED, "publishing too fast");
  // The code has three meanings; its details say which (ErrorInfo, grpcurl prints it).
  EXPECT_EQ(ReasonOf(status), "RATE_LIMITED");
  EXPECT_EQ(ReasonOf(Connect("alice", "s2")), "");
}

TEST_F(RpcTest, ValidationErrorsCarryCodeAndMessage) {
  ExpectError(Connect("", "s"), grpc::StatusCode::INVALID_ARGUMENT, "user is required");
  ExpectError(Connect(std::string(33, 'a'), "s"), grpc::StatusCode::INVALID_ARGUMENT, "at most 32");
  ExpectError(Connect("al ice", "s"), grpc::StatusCode::INVALID_ARGUMENT, "letters, digits");
  ExpectError(Connect("alice", ""), grpc::StatusCode::INVALID_ARGUMENT, "session");
  ASSERT_TRUE(Connect("alice", "s1").ok());
  ExpectError(Connect("alice", "s2"), grpc::StatusCode::ALREADY_EXISTS, "another session");
  ExpectError(Publish("alice", "lobby", "", ""), grpc::StatusCode::INVALID_ARGUMENT,
              "text is required");
  ExpectError(Publish("alice", "lobby", "", std::string(4097, 'x')),
              grpc::StatusCode::INVALID_ARGUMENT, "at most 4096 bytes");
  // Invalid UTF-8 in a proto3 string never reaches our code: protobuf refuses to parse it.
  ExpectError(Publish("alice", "lobby", "", "bad \xC3"), grpc::StatusCode::INTERNAL,
              "Unable to parse request");
  ExpectError(Publish("alice", "lobby", "", "bell\a"), grpc::StatusCode::INVALID_ARGUMENT,
              "control character");
  ExpectError(Publish("alice", "", "", "x"), grpc::StatusCode::INVALID_ARGUMENT,
              "exactly one of room or to_user");
  ExpectError(Publish("ghost", "lobby", "", "x"), grpc::StatusCode::NOT_FOUND,
              "'ghost' is not connected");
  ExpectError(Publish("alice", "nowhere", "", "x"), grpc::StatusCode::NOT_FOUND,
              "'nowhere' does not exist");
  ExpectError(Publish("alice", "", "ghost", "x"), grpc::StatusCode::NOT_FOUND,
              "'ghost' is not connected");
  ASSERT_TRUE(Connect("bob", "s3").ok());
  ASSERT_TRUE(Join("bob", "secret").ok());
  ExpectError(Publish("alice", "secret", "", "x"), grpc::StatusCode::FAILED_PRECONDITION,
              "not a member");
  ExpectError(Join("alice", "no/slash"), grpc::StatusCode::INVALID_ARGUMENT, "room");
  ExpectError(Join("ghost", "games"), grpc::StatusCode::NOT_FOUND, "not connected");

  v1::LeaveRequest leave;
  leave.set_user("alice");
  leave.set_room("lobby");
  v1::LeaveResponse left;
  ExpectError(Call(&v1::Broker::Stub::Leave, leave, &left), grpc::StatusCode::FAILED_PRECONDITION,
              "lobby");

  v1::PollRequest poll;
  poll.set_user("alice");
  poll.set_cursor(1000);
  v1::PollResponse polled;
  ExpectError(broker_.PollNow(poll, &polled), grpc::StatusCode::OUT_OF_RANGE, "cursor 1000");
  poll.set_user("ghost");
  ExpectError(broker_.PollNow(poll, &polled), grpc::StatusCode::NOT_FOUND, "not connected");

  v1::DisconnectRequest disconnect;
  disconnect.set_user("alice");
  disconnect.set_session("not-hers");
  v1::DisconnectResponse disconnected;
  ExpectError(Call(&v1::Broker::Stub::Disconnect, disconnect, &disconnected),
              grpc::StatusCode::PERMISSION_DENIED, "session");

  v1::HistoryRequest history;
  history.set_room("nowhere");
  v1::HistoryResponse got_history;
  ExpectError(Call(&v1::Broker::Stub::History, history, &got_history), grpc::StatusCode::NOT_FOUND,
              "does not exist");
}

TEST_F(RpcTest, DirectMessageReachesOnlyItsTwoParties) {
  for (const char* user : {"alice", "bob", "carol"}) ASSERT_TRUE(Connect(user, user).ok());
  auto cursor_of = [&](const std::string& user) {
    v1::PollRequest request;
    request.set_user(user);
    request.set_max_messages(1000);
    v1::PollResponse response;
    EXPECT_TRUE(broker_.PollNow(request, &response).ok());
    return response.cursor();
  };
  const uint64_t alice = cursor_of("alice"), bob = cursor_of("bob"), carol = cursor_of("carol");
  v1::PublishResponse sent;
  ASSERT_TRUE(Publish("alice", "", "bob", "just for bob", &sent).ok());
  EXPECT_EQ(sent.recipients(), 2u);
  EXPECT_EQ(sent.message().kind(), v1::DIRECT);
  EXPECT_EQ(sent.message().to(), "bob");
  for (auto [user, cursor, expected] :
       {std::tuple{"alice", alice, 1}, std::tuple{"bob", bob, 1}, std::tuple{"carol", carol, 0}}) {
    v1::PollRequest request;
    request.set_user(user);
    request.set_cursor(cursor);
    v1::PollResponse response;
    ASSERT_TRUE(broker_.PollNow(request, &response).ok());
    ASSERT_EQ(response.messages_size(), expected) << user;
    if (expected == 1) {
      EXPECT_EQ(response.messages(0).text(), "just for bob");
    }
  }
}

TEST_F(RpcTest, RoomsHistoryMembersAndStats) {
  ASSERT_TRUE(Connect("alice", "a").ok());
  ASSERT_TRUE(Connect("bob", "b").ok());
  ASSERT_TRUE(Join("alice", "games").ok());
  ASSERT_TRUE(Publish("alice", "games", "", "first").ok());
  ASSERT_TRUE(Join("bob", "games").ok());
  ASSERT_TRUE(Publish("bob", "games", "", "second").ok());

  v1::HistoryRequest history;
  history.set_room("games");
  v1::HistoryResponse got;
  ASSERT_TRUE(Call(&v1::Broker::Stub::History, history, &got).ok());
  ASSERT_EQ(got.messages_size(), 2);
  EXPECT_EQ(got.messages(0).text(), "first");
  EXPECT_EQ(got.messages(1).from(), "bob");

  v1::MembersRequest members;
  members.set_room("games");
  v1::MembersResponse who;
  ASSERT_TRUE(Call(&v1::Broker::Stub::Members, members, &who).ok());
  ASSERT_EQ(who.members_size(), 2);
  EXPECT_EQ(who.members(0).user(), "alice");
  EXPECT_TRUE(who.members(0).online());
  EXPECT_EQ(who.presence().room(), "games");
  EXPECT_EQ(who.presence().members(), 2u);
  EXPECT_EQ(who.presence().mode(), v1::PRESENCE_MODE_EVENTS);
  // Paged: one name at a time, then from after it; a prefix; a limit beyond the maximum.
  members.set_limit(1);
  ASSERT_TRUE(Call(&v1::Broker::Stub::Members, members, &who).ok());
  ASSERT_EQ(who.members_size(), 1);
  EXPECT_EQ(who.next_after(), "alice");
  members.set_after(who.next_after());
  ASSERT_TRUE(Call(&v1::Broker::Stub::Members, members, &who).ok());
  ASSERT_EQ(who.members_size(), 1);
  EXPECT_EQ(who.members(0).user(), "bob");
  EXPECT_EQ(who.next_after(), "");
  members.clear_after();
  members.set_prefix("bo");
  members.set_online_only(true);
  ASSERT_TRUE(Call(&v1::Broker::Stub::Members, members, &who).ok());
  ASSERT_EQ(who.members_size(), 1);
  EXPECT_EQ(who.members(0).user(), "bob");
  members.set_limit(1001);
  grpc::Status too_many = Call(&v1::Broker::Stub::Members, members, &who);
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(too_many.error_message(), ::testing::HasSubstr("limit"));

  v1::RoomsRequest rooms_of;
  rooms_of.set_user("bob");
  v1::RoomsResponse rooms;
  ASSERT_TRUE(Call(&v1::Broker::Stub::Rooms, rooms_of, &rooms).ok());
  EXPECT_THAT(rooms.rooms(), ::testing::ElementsAre("games", "lobby"));
  ASSERT_EQ(rooms.presence_size(), 2);
  EXPECT_EQ(rooms.presence(1).room(), "lobby");
  EXPECT_EQ(rooms.presence(1).members(), 2u);

  v1::StatsResponse stats;
  ASSERT_TRUE(Call(&v1::Broker::Stub::Stats, v1::StatsRequest(), &stats).ok());
  EXPECT_EQ(stats.users(), 2u);
  EXPECT_EQ(stats.rooms(), 2u);
  EXPECT_EQ(stats.messages_published(), 2u);
}

TEST_F(RpcTest, RepeatedIdempotencyKeyIsMarkedDuplicate) {
  ASSERT_TRUE(Connect("alice", "a").ok());
  v1::PublishRequest request;
  request.set_sender("alice");
  request.set_room("lobby");
  request.set_text("once");
  request.set_idempotency_key("client-42");
  v1::PublishResponse first, second;
  ASSERT_TRUE(Call(&v1::Broker::Stub::Publish, request, &first).ok());
  ASSERT_TRUE(Call(&v1::Broker::Stub::Publish, request, &second).ok());
  EXPECT_FALSE(first.duplicate());
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(first.message().id(), second.message().id());
  v1::StatsResponse stats;
  ASSERT_TRUE(Call(&v1::Broker::Stub::Stats, v1::StatsRequest(), &stats).ok());
  EXPECT_EQ(stats.messages_published(), 1u);
}

}  // namespace
}  // namespace parley::broker
