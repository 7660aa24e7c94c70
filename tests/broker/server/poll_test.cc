// Poll over a real gRPC connection to an in-process broker.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "tests/testing/in_process_broker.h"
#include "tests/testing/wait_for.h"

namespace parley::broker {
namespace {

using ::parley::testing::InProcessBroker;
using ::parley::testing::WaitFor;

v1::PollRequest PollFor(const std::string& user, uint64_t cursor, uint32_t wait_ms) {
  v1::PollRequest request;
  request.set_user(user);
  request.set_cursor(cursor);
  request.set_wait_ms(wait_ms);
  return request;
}

// A Poll running on its own thread, so the test can act while it is parked.
class BackgroundPoll {
 public:
  BackgroundPoll(v1::Broker::Stub& stub, const v1::PollRequest& request,
                 absl::Duration deadline = absl::Seconds(60)) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    thread_ = std::thread([this, &stub, request] {
      status_ = stub.Poll(&context_, request, &response_);
      finished_at_ = absl::Now();
    });
  }
  ~BackgroundPoll() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  void Cancel() { context_.TryCancel(); }
  const grpc::Status& status() {
    Join();
    return status_;
  }
  const v1::PollResponse& response() {
    Join();
    return response_;
  }
  absl::Time finished_at() {
    Join();
    return finished_at_;
  }

 private:
  grpc::ClientContext context_;
  grpc::Status status_;
  v1::PollResponse response_;
  absl::Time finished_at_;
  std::thread thread_;
};

TEST(PollTest, PublishThenPollReturnsTheMessageWithSeqCursorAndEpoch) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  broker.Say("alice", "lobby", "hello");
  v1::PollResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(broker.stub().Poll(&context, PollFor("alice", alice.cursor(), 1000), &response).ok());
  ASSERT_EQ(response.messages_size(), 1);
  EXPECT_EQ(response.messages(0).text(), "hello");
  EXPECT_EQ(response.messages(0).kind(), v1::CHAT);
  EXPECT_EQ(response.messages(0).from(), "alice");
  EXPECT_EQ(response.messages(0).seq(), alice.cursor() + 1);
  EXPECT_GT(response.messages(0).sent_at().seconds(), 0);
  EXPECT_EQ(response.cursor(), alice.cursor() + 1);
  EXPECT_EQ(response.epoch(), alice.epoch());
  EXPECT_FALSE(response.gap());
}

TEST(PollTest, ParkedPollWakesOnPublishPromptly) {
  InProcessBroker broker;
  const v1::ConnectResponse bob = broker.Connect("bob");
  broker.Connect("alice");
  const uint64_t bob_cursor = bob.cursor() + 1;  // alice's JOIN came after bob connected
  BackgroundPoll poll(broker.stub(), PollFor("bob", bob_cursor, 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 1; }));
  const absl::Time published_at = absl::Now();
  broker.Say("alice", "lobby", "wake up");
  ASSERT_TRUE(poll.status().ok()) << poll.status().error_message();
  ASSERT_EQ(poll.response().messages_size(), 1);
  EXPECT_EQ(poll.response().messages(0).text(), "wake up");
  // Answered by the publish, not by the 20 s wait running out.
  EXPECT_LT(poll.finished_at() - published_at, absl::Seconds(5));
}

TEST(PollTest, WaitExpiryAnswersOkAndEmpty) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  v1::PollResponse response;
  grpc::ClientContext context;
  grpc::Status status =
      broker.stub().Poll(&context, PollFor("alice", alice.cursor(), 200), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.messages_size(), 0);
  EXPECT_EQ(response.cursor(), alice.cursor());
  EXPECT_EQ(response.epoch(), alice.epoch());
  EXPECT_EQ(broker.ParkedPolls(), 0u);
}

TEST(PollTest, ClientDeadlineShorterThanTheWaitStillGetsOk) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  v1::PollResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(800));
  grpc::Status status =
      broker.stub().Poll(&context, PollFor("alice", alice.cursor(), 10'000), &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(response.messages_size(), 0);
}

TEST(PollTest, PollWithoutDeadlineParksForItsWait) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  v1::PollResponse response;
  grpc::ClientContext context;  // no deadline, as grpcurl sends by default
  const absl::Time started = absl::Now();
  ASSERT_TRUE(broker.stub().Poll(&context, PollFor("alice", alice.cursor(), 300), &response).ok());
  EXPECT_EQ(response.messages_size(), 0);
  EXPECT_GE(absl::Now() - started, absl::Milliseconds(290));
}

TEST(PollTest, WaitIsClampedToMaxWait) {
  BrokerServerOptions options;
  options.max_wait = absl::Milliseconds(300);
  InProcessBroker broker(options);
  const v1::ConnectResponse alice = broker.Connect("alice");
  BackgroundPoll poll(broker.stub(), PollFor("alice", alice.cursor(), 60'000), absl::Seconds(20));
  EXPECT_TRUE(poll.status().ok()) << poll.status().error_message();
  EXPECT_EQ(poll.response().messages_size(), 0);
}

TEST(PollTest, CancelledPollFreesItsWaiterAndCallObject) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  // Calls waiting for the next request exist before any Poll; they are the baseline.
  const int64_t idle_calls = broker.server().live_poll_calls();
  BackgroundPoll poll(broker.stub(), PollFor("alice", alice.cursor(), 30'000));
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 1; }));
  poll.Cancel();
  EXPECT_EQ(poll.status().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return broker.server().live_poll_calls() == idle_calls; }))
      << broker.server().live_poll_calls() << " vs " << idle_calls;
}

TEST(PollTest, TwoReadersOfOneQueueEachGetEveryMessage) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  BackgroundPoll tab1(broker.stub(), PollFor("alice", alice.cursor(), 20'000));
  BackgroundPoll tab2(broker.stub(), PollFor("alice", alice.cursor(), 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 2; }));
  broker.Say("alice", "lobby", "both");
  ASSERT_EQ(tab1.response().messages_size(), 1);
  ASSERT_EQ(tab2.response().messages_size(), 1);
  EXPECT_EQ(tab1.response().messages(0).id(), tab2.response().messages(0).id());
}

TEST(PollTest, ConsumeModeHandsEachMessageToOneConsumer) {
  InProcessBroker broker;
  broker.Connect("alice");
  v1::PollRequest consume = PollFor("alice", 0, 0);
  consume.set_consume(true);
  v1::PollResponse drained;
  ASSERT_TRUE(broker.PollNow(consume, &drained).ok());  // the JOIN
  consume.set_wait_ms(20'000);
  BackgroundPoll first(broker.stub(), consume);
  BackgroundPoll second(broker.stub(), consume);
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 2; }));
  broker.Say("alice", "lobby", "one");
  // Exactly one consumer gets it; the other parks again until the second message.
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 1; }));
  broker.Say("alice", "lobby", "two");
  ASSERT_EQ(first.response().messages_size(), 1);
  ASSERT_EQ(second.response().messages_size(), 1);
  EXPECT_NE(first.response().messages(0).text(), second.response().messages(0).text());
}

TEST(PollTest, DisconnectAnswersParkedPollsWithNotFound) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  BackgroundPoll poll(broker.stub(), PollFor("alice", alice.cursor(), 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 1; }));
  grpc::ClientContext context;
  v1::DisconnectRequest request;
  request.set_user("alice");
  request.set_session("alice-session");
  v1::DisconnectResponse response;
  ASSERT_TRUE(broker.stub().Disconnect(&context, request, &response).ok());
  EXPECT_EQ(poll.status().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(PollTest, BeginShutdownAnswersParkedPollsAtOnceAndRefusesNewOnes) {
  InProcessBroker broker;
  const v1::ConnectResponse alice = broker.Connect("alice");
  BackgroundPoll poll(broker.stub(), PollFor("alice", alice.cursor(), 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 1; }));
  const absl::Time began = absl::Now();
  broker.server().BeginShutdown();
  ASSERT_TRUE(poll.status().ok()) << poll.status().error_message();
  EXPECT_EQ(poll.response().messages_size(), 0);
  EXPECT_LT(poll.finished_at() - began, absl::Seconds(5));
  v1::PollResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(
      broker.stub().Poll(&context, PollFor("alice", alice.cursor(), 5000), &response).error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

TEST(PollTest, TwoThousandParkedPollsAllGetOnePublish) {
  constexpr int kUsers = 2000;
  BrokerServerOptions options;
  options.threads = 2;
  InProcessBroker broker(options);
  std::vector<uint64_t> cursors;
  for (int i = 0; i < kUsers; ++i) broker.Connect("u" + std::to_string(i));
  // Everyone's cursor now: their queues hold the JOINs of those who came after them.
  for (int i = 0; i < kUsers; ++i) {
    v1::PollRequest request = PollFor("u" + std::to_string(i), 0, 0);
    request.set_max_messages(kUsers);
    v1::PollResponse response;
    ASSERT_TRUE(broker.PollNow(request, &response).ok());
    cursors.push_back(response.cursor());
  }

  grpc::CompletionQueue cq;
  struct Pending {
    grpc::ClientContext context;
    v1::PollResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PollResponse>> reader;
  };
  std::vector<std::unique_ptr<Pending>> polls;
  for (int i = 0; i < kUsers; ++i) {
    auto pending = std::make_unique<Pending>();
    pending->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    pending->reader = broker.stub().AsyncPoll(
        &pending->context, PollFor("u" + std::to_string(i), cursors[i], 30'000), &cq);
    pending->reader->Finish(&pending->response, &pending->status, pending.get());
    polls.push_back(std::move(pending));
  }
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == kUsers; }, absl::Seconds(30)))
      << broker.ParkedPolls();

  const v1::PublishResponse sent = broker.Say("u0", "lobby", "to all");
  EXPECT_EQ(sent.recipients(), static_cast<uint32_t>(kUsers));

  int answered = 0;
  for (int i = 0; i < kUsers; ++i) {
    void* tag;
    bool ok;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    ASSERT_TRUE(ok);
    auto* pending = static_cast<Pending*>(tag);
    ASSERT_TRUE(pending->status.ok()) << pending->status.error_message();
    ASSERT_EQ(pending->response.messages_size(), 1);
    EXPECT_EQ(pending->response.messages(0).id(), sent.message().id());
    ++answered;
  }
  EXPECT_EQ(answered, kUsers);
  EXPECT_EQ(broker.ParkedPolls(), 0u);
  cq.Shutdown();
}

}  // namespace
}  // namespace parley::broker
