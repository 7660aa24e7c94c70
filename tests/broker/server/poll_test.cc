// What only the unary Poll RPC has: the caller's gRPC deadline, its call objects, many calls
// at once. The rules every poll follows, unary or streamed, are in
// tests/frontend/broker/poll_conformance_test.cc.

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
using ::parley::testing::PollFor;
using ::parley::testing::WaitFor;

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

TEST(PollTest, ClientDeadlineShorterThanTheWaitStillGetsOk) {
  // The broker answers --deadline_margin before the client's deadline; a wide margin keeps a
  // loaded machine's scheduling delay from reading as a missed deadline.
  broker::BrokerServerOptions options;
  options.deadline_margin = absl::Seconds(1);
  InProcessBroker broker(options);
  const v1::ConnectResponse alice = broker.Connect("alice");
  v1::PollResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
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

TEST(PollTest, TwoThousandParkedPollsAllGetOnePublish) {
  constexpr int kUsers = 2000;
  BrokerServerOptions options;
  options.threads = 2;
  InProcessBroker broker(options);
  const std::vector<uint64_t> cursors = broker.ConnectNumbered(kUsers);

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
