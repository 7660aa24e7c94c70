// The routes against a scripted broker (FakeBroker): the continuations that only a broker
// which misbehaves on cue can reach (reconnect after NOT_FOUND, the seed /get_post's skipping
// loop, a held poll cancelled when its client leaves, shutdown), over real HTTP.

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "frontend/server/frontend_server.h"
#include "parley/v1/broker.pb.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/fake_broker.h"
#include "tests/testing/from_json.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::FakeBroker;
using ::parley::testing::FromJson;
using ::parley::testing::RawConnection;
using ::parley::testing::WaitFor;

grpc::Status ConnectCreated(const google::protobuf::Message&, google::protobuf::Message* out) {
  static_cast<v1::ConnectResponse*>(out)->set_created(true);
  return grpc::Status::OK;
}

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = std::make_unique<FakeBroker>();
    broker_ = fake.get();
    FrontendOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.loops = 1;
    auto started = FrontendServer::Start(options, "test-secret-0123456789", std::move(fake));
    ASSERT_TRUE(started.ok()) << started.status();
    frontend_ = *std::move(started);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", frontend_->port());
    client_->set_read_timeout(30, 0);
    broker_->Answer("Connect", ConnectCreated);
    httplib::Result login =
        client_->Post("/api/session", R"({"name":"alice"})", "application/json");
    ASSERT_TRUE(login && login->status == 200) << (login ? login->body : "no answer");
    token_ = FromJson<v1::SessionInfo>(login->body).token();
    headers_ = {{"Authorization", "Bearer " + token_}};
  }

  httplib::Result Post(const std::string& text) {
    return client_->Post("/api/messages", headers_,
                         absl::StrCat(R"({"room":"lobby","text":")", text, R"("})"),
                         "application/json");
  }

  // The broker answers the first Publish NOT_FOUND (it forgot the user), then OK with `id`.
  void ForgetTheUserOnceThenPublishAs(const std::string& id) {
    broker_->Answer("Publish",
                    [this, id](const google::protobuf::Message&, google::protobuf::Message* out) {
                      if (++publishes_ == 1)
                        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such user");
                      static_cast<v1::PublishResponse*>(out)->mutable_message()->set_id(id);
                      return grpc::Status::OK;
                    });
  }

  std::atomic<int> publishes_{0};
  FakeBroker* broker_ = nullptr;  // owned by frontend_
  std::unique_ptr<FrontendServer> frontend_;
  std::unique_ptr<httplib::Client> client_;
  std::string token_;
  httplib::Headers headers_;
};

TEST_F(RoutesTest, ACallForAUserTheBrokerForgotIsRunAgainAfterReconnecting) {
  ForgetTheUserOnceThenPublishAs("m-2");
  httplib::Result sent = Post("hi");
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->status, 200) << sent->body;
  EXPECT_TRUE(absl::StrContains(sent->body, "m-2")) << sent->body;
  EXPECT_EQ(broker_->Calls("Publish"), 2);
  ASSERT_EQ(broker_->Calls("Connect"), 2);  // the login, then the reconnect
  EXPECT_TRUE(absl::StrContains(broker_->Requests("Connect")[1], R"(user: "alice")"));
}

// The broker refuses a session begun before its store lost writes (the logout may have been
// among them), so every Connect says when the session began: the login's time, from the token,
// the same on a reconnect.
TEST_F(RoutesTest, EveryConnectSaysWhenItsSessionBegan) {
  ForgetTheUserOnceThenPublishAs("m-3");
  ASSERT_TRUE(Post("hi"));
  const std::vector<std::string> connects = broker_->Requests("Connect");
  ASSERT_EQ(connects.size(), 2u);  // the login, then the reconnect
  const std::string field = "session_started_unix_ms: ";
  const size_t at = connects[0].find(field);
  ASSERT_NE(at, std::string::npos) << connects[0];
  const int64_t started = std::atoll(connects[0].c_str() + at + field.size());
  const int64_t now = absl::ToUnixMillis(absl::Now());
  EXPECT_LE(started, now);
  EXPECT_GT(started, now - 60'000);
  EXPECT_TRUE(absl::StrContains(connects[1], absl::StrCat(field, started))) << connects[1];
}

TEST_F(RoutesTest, ASessionRefusedByTheCheckOrByTheBrokerClearsTheCookie) {
  // A token that does not hold.
  httplib::Result forged =
      client_->Get("/api/rooms", {{"Authorization", "Bearer " + token_ + "x"}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401) << forged->body;
  EXPECT_TRUE(absl::StrContains(forged->get_header_value("Set-Cookie"), "Max-Age=0"));
  // A token that holds, for a session the broker refuses (the app disconnected the user).
  broker_->Answer("Rooms", [](const google::protobuf::Message&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "session ended");
  });
  httplib::Result ended = client_->Get("/api/rooms", headers_);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, 401) << ended->body;
  EXPECT_TRUE(absl::StrContains(ended->get_header_value("Set-Cookie"), "Max-Age=0"));
  // Other refusals keep it.
  httplib::Result other = client_->Post("/api/messages", headers_, "{}", "application/json");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 400) << other->body;
  EXPECT_FALSE(other->has_header("Set-Cookie"));
}

TEST_F(RoutesTest, ALogoutIsReportedDoneOnlyWhenTheBrokerEndedTheSession) {
  grpc::Status answer(grpc::StatusCode::UNAVAILABLE, "Redis is frozen");
  broker_->Answer("Disconnect", [&](const google::protobuf::Message&, google::protobuf::Message*) {
    return answer;
  });
  // Not done: 503 to retry, and the cookie is kept (the session still works).
  httplib::Result refused = client_->Delete("/api/session", headers_);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "2");
  EXPECT_FALSE(refused->has_header("Set-Cookie"));
  httplib::Result form =
      client_->Post("/logout", headers_, "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 503) << form->body;
  EXPECT_FALSE(form->has_header("Set-Cookie"));
  // The broker ends the session before it looks for the user: these mean it is ended.
  for (grpc::StatusCode code :
       {grpc::StatusCode::OK, grpc::StatusCode::NOT_FOUND, grpc::StatusCode::PERMISSION_DENIED}) {
    answer = grpc::Status(code, "");
    httplib::Result done = client_->Delete("/api/session", headers_);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, 200) << code << " " << done->body;
    EXPECT_TRUE(absl::StrContains(done->get_header_value("Set-Cookie"), "Max-Age=0"))
        << done->get_header_value("Set-Cookie");
  }
  EXPECT_EQ(broker_->Calls("Disconnect"), 5);
}

TEST_F(RoutesTest, ANotFoundAboutSomethingElseIsAnsweredAsItIs) {
  broker_->Answer("Publish", [](const google::protobuf::Message&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no room 'x'");
  });
  broker_->Answer("Connect", [](const google::protobuf::Message&, google::protobuf::Message*) {
    return grpc::Status::OK;  // the user was there: created = false
  });
  httplib::Result sent = Post("hi");
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->status, 404) << sent->body;
  EXPECT_EQ(broker_->Calls("Publish"), 1);
}

TEST_F(RoutesTest, AReconnectThatFindsTheNameTakenEndsTheSession) {
  broker_->Answer("Publish", [](const google::protobuf::Message&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such user");
  });
  broker_->Answer("Connect", [](const google::protobuf::Message&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "taken");
  });
  httplib::Result sent = Post("hi");
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->status, 401) << sent->body;
}

v1::PollResponse OneMessage(v1::MessageKind kind, const std::string& room,
                            const std::string& text) {
  v1::PollResponse polled;
  v1::Message* message = polled.add_messages();
  message->set_kind(kind);
  message->set_room(room);
  message->set_text(text);
  return polled;
}

TEST_F(RoutesTest, SeedGetPostConsumesOneAtATimeAndSkipsWhatThePageNeverShowed) {
  int status = 0;
  std::string body;
  std::thread reader([&] {
    if (httplib::Result got = client_->Get("/get_post/alice", headers_)) {
      status = got->status;
      body = got->body;
    }
  });
  ASSERT_TRUE(broker_->WaitForPolls(1));
  broker_->AnswerPoll(0, grpc::Status::OK, OneMessage(v1::JOIN, "lobby", ""));
  ASSERT_TRUE(broker_->WaitForPolls(2));
  broker_->AnswerPoll(1, grpc::Status::OK, OneMessage(v1::DIRECT, "", "psst"));
  ASSERT_TRUE(broker_->WaitForPolls(3));
  broker_->AnswerPoll(2, grpc::Status::OK, OneMessage(v1::CHAT, "games", "elsewhere"));
  ASSERT_TRUE(broker_->WaitForPolls(4));
  broker_->AnswerPoll(3, grpc::Status::OK, OneMessage(v1::CHAT, "lobby", "hello"));
  reader.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, R"("hello")");
  for (size_t i = 0; i < 4; ++i) {
    const v1::PollRequest request = broker_->PollRequestAt(i);
    EXPECT_TRUE(request.consume()) << i;
    EXPECT_EQ(request.max_messages(), 1u) << i;
    EXPECT_EQ(request.user(), "alice") << i;
  }
}

TEST_F(RoutesTest, AClientThatLeavesMidPollCancelsItsBrokerCall) {
  auto connection = std::make_unique<RawConnection>(frontend_->port());
  ASSERT_TRUE(connection->Send(absl::StrCat("GET /api/poll?wait=25 HTTP/1.1\r\nHost: x\r\n",
                                            "Authorization: Bearer ", token_, "\r\n\r\n")));
  ASSERT_TRUE(broker_->WaitForPolls(1));
  EXPECT_FALSE(broker_->PollCancelled(0));
  connection->Reset();
  EXPECT_TRUE(WaitFor([&] { return broker_->PollCancelled(0); }));
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = client_->Get("/metrics")->body;
    return absl::StrContains(metrics, R"(route="/api/poll",code="499")") ||
           absl::StrContains(metrics, R"(code="499",route="/api/poll")");
  })) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "parley_frontend_held_polls 0")) << metrics;
}

TEST_F(RoutesTest, ShutdownAnswersHeldPollsEmptyAndRefusesNewRequests) {
  int status = 0;
  std::string body;
  std::thread poller([&] {
    if (httplib::Result held = client_->Get("/api/poll?wait=25&cursor=7", headers_)) {
      status = held->status;
      body = held->body;
    }
  });
  ASSERT_TRUE(broker_->WaitForPolls(1));
  frontend_->BeginShutdown();
  poller.join();
  EXPECT_TRUE(broker_->polls_cancelled());
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(FromJson<v1::PollResponse>(body).messages_size(), 0);
  httplib::Result refused = client_->Get("/api/rooms", headers_);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(broker_->Calls("Rooms"), 0);
}

}  // namespace
}  // namespace parley::frontend
