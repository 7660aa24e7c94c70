// The parley-broker program itself, as operators and grpcurl see it: flags, server
// reflection, health and graceful shutdown on SIGTERM.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "parley/v1/broker.grpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/wait_for.h"

namespace parley::broker {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::parley::testing::ChildProcess;

// A parley-broker process on an ephemeral loopback port, with a channel to it.
class BrokerProcess {
 public:
  // `environment`: NAME=value pairs the broker runs with, beyond this process's own.
  explicit BrokerProcess(std::vector<std::string> extra_flags = {},
                         std::vector<std::string> environment = {}) {
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv.insert(argv.end(), environment.begin(), environment.end());
    for (const char* arg : {PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=2"}) {
      argv.push_back(arg);
    }
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    process_ = std::make_unique<ChildProcess>(argv);
    port_ = process_->WaitForListeningPort();
    EXPECT_NE(port_, 0) << process_->Output();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }

  ChildProcess& process() { return *process_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// Connects "alice" (session "s1"); false if the broker refused.
bool ConnectAlice(v1::Broker::Stub& stub, v1::ConnectResponse* connected) {
  grpc::ClientContext context;
  v1::ConnectRequest request;
  request.set_user("alice");
  request.set_session("s1");
  return stub.Connect(&context, request, connected).ok();
}

// Waits until the broker's Stats says `count` polls are parked.
bool WaitForParkedPolls(v1::Broker::Stub& stub, uint64_t count) {
  return parley::testing::WaitFor([&] {
    grpc::ClientContext context;
    v1::StatsResponse stats;
    return stub.Stats(&context, v1::StatsRequest(), &stats).ok() && stats.parked_polls() == count;
  });
}

// One request/response exchange on the reflection stream, as grpcurl does it.
ServerReflectionResponse Reflect(ServerReflection::Stub& stub,
                                 const ServerReflectionRequest& request) {
  grpc::ClientContext context;
  auto stream = stub.ServerReflectionInfo(&context);
  ServerReflectionResponse response;
  EXPECT_TRUE(stream->Write(request));
  stream->WritesDone();
  EXPECT_TRUE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
  return response;
}

TEST(BrokerProcessTest, ReflectionListsAndDescribesTheBrokerService) {
  BrokerProcess broker;
  auto reflection = ServerReflection::NewStub(broker.channel());

  ServerReflectionRequest list;
  list.set_list_services("");
  ServerReflectionResponse services = Reflect(*reflection, list);
  std::vector<std::string> names;
  for (const auto& service : services.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names, ::testing::Contains("parley.v1.Broker"));
  EXPECT_THAT(names, ::testing::Contains("grpc.health.v1.Health"));

  // "describe": the file defining the service, with every RPC, from the server alone.
  ServerReflectionRequest describe;
  describe.set_file_containing_symbol("parley.v1.Broker");
  ServerReflectionResponse file = Reflect(*reflection, describe);
  ASSERT_GE(file.file_descriptor_response().file_descriptor_proto_size(), 1);
  bool found = false;
  for (const std::string& bytes : file.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto proto;
    ASSERT_TRUE(proto.ParseFromString(bytes));
    if (proto.name() != "parley/v1/broker.proto") continue;
    found = true;
    ASSERT_EQ(proto.service_size(), 1);
    std::vector<std::string> methods;
    for (const auto& method : proto.service(0).method()) methods.push_back(method.name());
    EXPECT_THAT(methods, ::testing::UnorderedElementsAre(
                             "Connect", "Disconnect", "Publish", "Poll", "PollStream", "Join",
                             "Leave", "History", "Members", "Rooms", "Stats", "CreateRoom",
                             "AddMember", "RemoveMember", "DisconnectUser", "ListRooms"));
  }
  EXPECT_TRUE(found);

  // Its import must be resolvable too, or grpcurl cannot build request messages.
  ServerReflectionRequest dependency;
  dependency.set_file_by_filename("google/protobuf/timestamp.proto");
  EXPECT_EQ(
      Reflect(*reflection, dependency).file_descriptor_response().file_descriptor_proto_size(), 1);
}

// Whether parley.v1.Broker (readiness: the store in reach) is SERVING.
bool Ready(BrokerProcess& broker) {
  auto health = Health::NewStub(broker.channel());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  HealthCheckRequest request;
  request.set_service("parley.v1.Broker");
  HealthCheckResponse response;
  return health->Check(&context, request, &response).ok() &&
         response.status() == HealthCheckResponse::SERVING;
}

TEST(BrokerProcessTest, TheRedisPasswordComesFromAFileOrTheEnvironmentAndIsNeverLogged) {
  const std::string password = "s3cret-redis-pass-4711";
  parley::testing::RedisServer::Options options;
  options.password = password;
  parley::testing::RedisServer redis(options);
  const std::string file = absl::StrCat(::testing::TempDir(), "/redis-password-", getpid());
  std::ofstream(file) << password << "\n";
  const std::string redis_flag = "--redis=" + redis.address();
  BrokerProcess from_file({redis_flag, "--redis_password_file=" + file, "--log_level=debug"});
  BrokerProcess from_environment({redis_flag, "--log_level=debug"},
                                 {"PARLEY_REDIS_PASSWORD=" + password});
  BrokerProcess without({redis_flag, "--log_level=debug"});
  for (BrokerProcess* broker : {&from_file, &from_environment}) {
    EXPECT_TRUE(parley::testing::WaitFor([&] { return Ready(*broker); }))
        << broker->process().Output();
    auto stub = v1::Broker::NewStub(broker->channel());
    v1::ConnectResponse connected;
    EXPECT_TRUE(ConnectAlice(*stub, &connected));  // the store works
  }
  // Without it, Redis refuses the broker, which stays out of rotation and says why.
  EXPECT_TRUE(parley::testing::WaitFor([&] {
    return absl::StrContains(without.process().Output(), "NOAUTH");
  })) << without.process().Output();
  EXPECT_FALSE(Ready(without));
  for (BrokerProcess* broker : {&from_file, &from_environment, &without}) {
    EXPECT_FALSE(absl::StrContains(broker->process().Output(), password))
        << broker->process().Output();
  }
  std::remove(file.c_str());
}

TEST(BrokerProcessTest, APlaceholderRedisPasswordIsRefusedAtStart) {
  ChildProcess broker({"/usr/bin/env",
                       "PARLEY_REDIS_PASSWORD=parley-local-redis-password-change-me",
                       PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--redis=127.0.0.1:1"});
  EXPECT_EQ(broker.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_TRUE(absl::StrContains(broker.Output(), "the Redis password is a placeholder"))
      << broker.Output();
}

TEST(BrokerProcessTest, SigtermAnswersParkedPollsTurnsNotServingAndExitsZero) {
  BrokerProcess broker({"--drain_delay=3s"});
  auto stub = v1::Broker::NewStub(broker.channel());
  auto health = Health::NewStub(broker.channel());
  auto check = [&] {
    grpc::ClientContext context;
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, HealthCheckRequest(), &response);
    return status.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
  };
  ASSERT_EQ(check(), HealthCheckResponse::SERVING);

  v1::ConnectResponse connected;
  ASSERT_TRUE(ConnectAlice(*stub, &connected));

  grpc::Status poll_status;
  v1::PollResponse polled;
  absl::Time poll_done;
  std::thread poll([&] {
    grpc::ClientContext context;
    v1::PollRequest request;
    request.set_user("alice");
    request.set_cursor(connected.cursor());
    request.set_wait_ms(25'000);
    poll_status = stub->Poll(&context, request, &polled);
    poll_done = absl::Now();
  });
  ASSERT_TRUE(WaitForParkedPolls(*stub, 1));

  const absl::Time signalled = absl::Now();
  broker.process().Signal(SIGTERM);
  poll.join();
  EXPECT_TRUE(poll_status.ok()) << poll_status.error_message();
  EXPECT_EQ(polled.messages_size(), 0);
  EXPECT_LT(poll_done - signalled, absl::Seconds(10));   // not the poll's 25 s
  EXPECT_EQ(check(), HealthCheckResponse::NOT_SERVING);  // within the 3 s drain delay
  EXPECT_EQ(broker.process().WaitForExit(absl::Seconds(15)), 0) << broker.process().Output();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(10));
}

// SIGINT (Ctrl-C under `make run`) drains as SIGTERM does, and a PollStream its client never
// ends does not hold the exit: the drain ends it.
TEST(BrokerProcessTest, SigintDrainsAndEndsStreamsTheirClientsKeepOpen) {
  BrokerProcess broker({"--drain_delay=0s", "--shutdown_timeout=60s"});
  auto stub = v1::Broker::NewStub(broker.channel());
  v1::ConnectResponse connected;
  ASSERT_TRUE(ConnectAlice(*stub, &connected));
  // A stream with a poll parked on it, which the client never half-closes.
  grpc::ClientContext stream_context;
  auto stream = stub->PollStream(&stream_context);
  v1::PollStreamRequest polls;
  v1::StreamPoll* poll = polls.add_polls();
  poll->set_id(1);
  poll->mutable_request()->set_user("alice");
  poll->mutable_request()->set_cursor(connected.cursor());
  poll->mutable_request()->set_wait_ms(30'000);
  ASSERT_TRUE(stream->Write(polls));
  ASSERT_TRUE(WaitForParkedPolls(*stub, 1));
  const absl::Time signalled = absl::Now();
  broker.process().Signal(SIGINT);
  EXPECT_EQ(broker.process().WaitForExit(absl::Seconds(90)), 0) << broker.process().Output();
  const absl::Duration took = absl::Now() - signalled;
  EXPECT_LT(took, absl::Seconds(20));  // not the --shutdown_timeout's cancelling
  EXPECT_NE(broker.process().Output().find("signal=SIGINT"), std::string::npos)
      << broker.process().Output();
  stream_context.TryCancel();
}

// --shutdown_timeout bounds how long a call that cannot finish holds the exit: a Publish
// waiting on a Redis that answers nothing (frozen; --redis_timeout is 30 s) is cancelled half
// a second into the shutdown, and the broker exits.
TEST(BrokerProcessTest, TheShutdownTimeoutCancelsACallThatCannotFinish) {
  parley::testing::RedisServer redis;
  BrokerProcess broker({"--redis=" + redis.address(), "--redis_timeout=30s",
                        "--shutdown_timeout=500ms", "--drain_delay=0s"});
  auto stub = v1::Broker::NewStub(broker.channel());
  v1::ConnectResponse connected;
  ASSERT_TRUE(ConnectAlice(*stub, &connected));
  redis.Freeze();
  grpc::ClientContext publish_context;
  v1::PublishRequest request;
  request.set_sender("alice");
  request.set_room("lobby");
  request.set_text("stuck");
  v1::PublishResponse response;
  grpc::Status published;
  absl::Notification publish_done;
  stub->async()->Publish(&publish_context, &request, &response, [&](grpc::Status status) {
    published = std::move(status);
    publish_done.Notify();
  });
  // A call on the same connection, started after the Publish and answered without Redis:
  // once it is answered, the broker has the Publish too.
  auto health = Health::NewStub(broker.channel());
  grpc::ClientContext check_context;
  HealthCheckResponse serving;
  ASSERT_TRUE(health->Check(&check_context, HealthCheckRequest(), &serving).ok());
  EXPECT_FALSE(publish_done.HasBeenNotified());  // stuck on Redis
  const absl::Time signalled = absl::Now();
  broker.process().Signal(SIGTERM);
  EXPECT_EQ(broker.process().WaitForExit(absl::Seconds(20)), 0) << broker.process().Output();
  const absl::Duration took = absl::Now() - signalled;
  ASSERT_TRUE(publish_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  redis.Thaw();
  // Ended by the shutdown (gRPC cancels what is left), not by the Redis link, which drops a
  // connection whose command stays unanswered for 2 s and fails its calls with its own error.
  EXPECT_EQ(published.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(published.error_message().find("store"), std::string::npos)
      << published.error_message();
  EXPECT_GE(took, absl::Milliseconds(450));  // it gave the call its half second
  EXPECT_LT(took, absl::Seconds(10));        // not the 30 s --redis_timeout
}

// The sweeper runs in the program: an idle user expires by --user_idle_expiry, every
// --sweep_interval, with no call to cause it.
TEST(BrokerProcessTest, IdleUsersAreSweptAwayWhileTheBrokerRuns) {
  BrokerProcess broker({"--user_idle_expiry=1s", "--sweep_interval=100ms"});
  auto stub = v1::Broker::NewStub(broker.channel());
  v1::ConnectResponse connected;
  ASSERT_TRUE(ConnectAlice(*stub, &connected));
  auto users = [&] {
    grpc::ClientContext context;
    v1::StatsResponse stats;
    return stub->Stats(&context, v1::StatsRequest(), &stats).ok() ? stats.users() : 999;
  };
  EXPECT_EQ(users(), 1u);
  ASSERT_TRUE(parley::testing::WaitFor([&] { return users() == 0; }, absl::Seconds(10)));
  grpc::ClientContext poll_context;
  v1::PollRequest poll;
  poll.set_user("alice");
  poll.set_cursor(connected.cursor());
  v1::PollResponse polled;
  EXPECT_EQ(stub->Poll(&poll_context, poll, &polled).error_code(), grpc::StatusCode::NOT_FOUND);
}

// The chat limits as docs/operations.md states their defaults, on a broker started with no
// limit flags (every other test that needs a limit passes its own, which would hide a wrong
// default): text 4096 bytes and 2000 code points, JOIN lines while a room has at most 100
// members, 10,000 history lines, 1024 lines per queue.
TEST(BrokerProcessTest, TheChatLimitsDefaultToTheDocumentedValues) {
  BrokerProcess broker;
  auto stub = v1::Broker::NewStub(broker.channel());
  constexpr int kUsers = 110;
  auto name = [](int i) { return absl::StrCat("u", absl::Dec(i, absl::kZeroPad3)); };
  for (int i = 0; i < kUsers; ++i) {
    grpc::ClientContext context;
    v1::ConnectRequest request;
    request.set_user(name(i));
    request.set_session(absl::StrCat("s", i));
    v1::ConnectResponse connected;
    ASSERT_TRUE(stub->Connect(&context, request, &connected).ok()) << i;
  }
  // Everything in u000's queue from `cursor` on, `max_messages` at a time.
  auto read_all = [&](uint64_t cursor) {
    std::vector<v1::Message> read;
    while (true) {
      grpc::ClientContext context;
      v1::PollRequest poll;
      poll.set_user(name(0));
      poll.set_cursor(cursor);
      poll.set_max_messages(1000);
      v1::PollResponse answer;
      EXPECT_TRUE(stub->Poll(&context, poll, &answer).ok());
      if (answer.messages().empty()) return read;
      read.insert(read.end(), answer.messages().begin(), answer.messages().end());
      cursor = answer.cursor();
    }
  };
  // u000 saw the lobby's JOIN lines while it held at most 100 members (its own and
  // u001..u099's), none after.
  int joins = 0;
  for (const v1::Message& message : read_all(0)) joins += message.kind() == v1::JOIN;
  EXPECT_EQ(joins, 100);

  auto publish = [&](int sender, const std::string& text) {
    grpc::ClientContext context;
    v1::PublishRequest request;
    request.set_sender(name(sender));
    request.set_room("lobby");
    request.set_text(text);
    v1::PublishResponse published;
    return stub->Publish(&context, request, &published).error_code();
  };
  std::string euros;
  for (int i = 0; i < 1365; ++i) euros += "\u20ac";          // 3 bytes, 1 code point each
  EXPECT_EQ(publish(0, euros + "a"), grpc::StatusCode::OK);  // 4096 bytes
  EXPECT_EQ(publish(0, euros + "ab"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(publish(0, std::string(2000, 'a')), grpc::StatusCode::OK);
  EXPECT_EQ(publish(0, std::string(2001, 'a')), grpc::StatusCode::INVALID_ARGUMENT);

  // 1100 more lines, ten per user (within each one's publish burst).
  for (int i = 0; i < 1100; ++i) {
    ASSERT_EQ(publish(i % kUsers, absl::StrCat("line ", i)), grpc::StatusCode::OK) << i;
  }
  const std::vector<v1::Message> held = read_all(0);
  ASSERT_EQ(held.size(), 1024u);
  EXPECT_EQ(held.back().text(), "line 1099");
  EXPECT_EQ(held.front().text(), absl::StrCat("line ", 1100 - 1024));

  // The history keeps 10,000 lines: 8,900 more (from the app's server API, which no publish
  // limit slows) push the first 2 of the 10,002 lines written out.
  for (int i = 1100; i < 10'000; ++i) {
    grpc::ClientContext context;
    v1::PublishRequest request;
    request.set_sender("app");
    request.set_system(true);
    request.set_room("lobby");
    request.set_text(absl::StrCat("line ", i));
    v1::PublishResponse published;
    ASSERT_TRUE(stub->Publish(&context, request, &published).ok()) << i;
  }
  grpc::ClientContext context;
  v1::HistoryRequest history_request;
  history_request.set_room("lobby");
  v1::HistoryResponse history;
  ASSERT_TRUE(stub->History(&context, history_request, &history).ok());
  ASSERT_EQ(history.messages_size(), 10'000);
  EXPECT_EQ(history.messages(0).text(), "line 0");
  EXPECT_EQ(history.messages(9'999).text(), "line 9999");
  EXPECT_EQ(history.older(), "");
}

// --max_stream_polls defaults to 50,000 unanswered polls per stream: the next is refused.
TEST(BrokerProcessTest, AStreamHoldsFiftyThousandPollsByDefault) {
  BrokerProcess broker;
  auto stub = v1::Broker::NewStub(broker.channel());
  v1::ConnectResponse connected;
  ASSERT_TRUE(ConnectAlice(*stub, &connected));
  grpc::ClientContext context;
  auto stream = stub->PollStream(&context);
  constexpr uint64_t kBound = 50'000;
  constexpr uint64_t kBatch = 5'000;
  for (uint64_t first = 1; first <= kBound + 1; first += kBatch) {
    v1::PollStreamRequest request;
    for (uint64_t id = first; id < first + kBatch && id <= kBound + 1; ++id) {
      v1::StreamPoll* poll = request.add_polls();
      poll->set_id(id);
      poll->set_deadline_ms(60'000);
      poll->mutable_request()->set_user("alice");
      poll->mutable_request()->set_cursor(connected.cursor());
      poll->mutable_request()->set_wait_ms(30'000);
    }
    ASSERT_TRUE(stream->Write(request));
  }
  v1::PollStreamResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.answers_size(), 1);
  EXPECT_EQ(response.answers(0).id(), kBound + 1);
  EXPECT_EQ(response.answers(0).code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(response.answers(0).reason(), "TOO_MANY_POLLS");
  EXPECT_TRUE(WaitForParkedPolls(*stub, kBound));
  context.TryCancel();
}

TEST(BrokerProcessTest, BadFlagValueIsRefusedWithAMessage) {
  ChildProcess broker({PARLEY_BROKER_BINARY, "--queue-capacity=0"});
  EXPECT_EQ(broker.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_NE(broker.Output().find("--queue_capacity must be"), std::string::npos) << broker.Output();
}

TEST(BrokerProcessTest, DashedFlagSpellingIsAccepted) {
  BrokerProcess broker({"--queue-capacity=8", "--max-wait=1s"});
  std::unique_ptr<v1::Broker::Stub> stub = v1::Broker::NewStub(broker.channel());
  v1::ConnectResponse connected;
  ASSERT_TRUE(ConnectAlice(*stub, &connected));
  // --max-wait took: a poll asking for 60 s is answered, empty, after the broker's 1 s.
  grpc::ClientContext poll_context;
  poll_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::PollRequest poll;
  poll.set_user("alice");
  poll.set_cursor(connected.cursor());
  poll.set_wait_ms(60'000);
  v1::PollResponse polled;
  const absl::Time started = absl::Now();
  ASSERT_TRUE(stub->Poll(&poll_context, poll, &polled).ok());
  const absl::Duration waited = absl::Now() - started;
  EXPECT_EQ(polled.messages_size(), 0);
  EXPECT_GE(waited, absl::Milliseconds(950));
  EXPECT_LT(waited, absl::Seconds(10));
  // --queue-capacity took: after 12 lines the queue holds the newest 8, and a read from the
  // start is told of the gap.
  for (int i = 0; i < 11; ++i) {
    grpc::ClientContext publish_context;
    v1::PublishRequest publish;
    publish.set_sender("alice");
    publish.set_room("lobby");
    publish.set_text(absl::StrCat("line ", i));
    v1::PublishResponse published;
    ASSERT_TRUE(stub->Publish(&publish_context, publish, &published).ok());
  }
  grpc::ClientContext read_context;
  poll.set_cursor(0);
  poll.set_wait_ms(0);
  poll.set_max_messages(100);
  v1::PollResponse read;
  ASSERT_TRUE(stub->Poll(&read_context, poll, &read).ok());
  EXPECT_EQ(read.messages_size(), 8);
  EXPECT_TRUE(read.gap());
}

TEST(BrokerProcessTest, AddressInUseFailsCleanly) {
  BrokerProcess first;
  const int port = first.process().WaitForListeningPort();
  ASSERT_NE(port, 0);
  ChildProcess second({PARLEY_BROKER_BINARY, "--listen=127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(second.WaitForExit(absl::Seconds(10)), 1);
  EXPECT_NE(second.Output().find("cannot listen"), std::string::npos) << second.Output();
}

}  // namespace
}  // namespace parley::broker
