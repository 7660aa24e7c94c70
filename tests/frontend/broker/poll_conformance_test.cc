// The rules of Poll, run through both ways the frontend's BrokerClient carries a poll to a
// real broker: one unary Poll RPC each, and the batched PollStream. Each case must hold for
// both alike (proto/parley/v1/broker.proto promises the stream answers as Poll would), and
// over a store that answers at once as well as one that answers later from its own thread.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "frontend/broker/broker_client.h"
#include "tests/testing/in_process_broker.h"
#include "tests/testing/outcome.h"
#include "tests/testing/test_chat_stores.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::InProcessBroker;
using ::parley::testing::Outcome;
using ::parley::testing::PollFor;
using ::parley::testing::WaitFor;
using PollOutcome = Outcome<v1::PollResponse>;

using ::parley::testing::TestStore;

// GetParam(): whether polls go on the PollStream (else unary Polls), and the broker's store.
class PollConformanceTest : public ::testing::TestWithParam<std::tuple<bool, TestStore>> {
 protected:
  bool OnStream() const { return std::get<0>(GetParam()); }

  void Start(broker::BrokerServerOptions options = {}) {
    const TestStore store = std::get<1>(GetParam());
    options.make_store = [store](const broker::ChatOptions& chat) {
      return ::parley::testing::MakeTestStore(store, chat);
    };
    broker_ = std::make_unique<InProcessBroker>(options);
    BrokerClientOptions client;
    client.address = broker_->address();
    client.poll_stream = OnStream();
    client.counters = &counters_;
    client_ = std::make_unique<BrokerClient>(client);
  }
  void TearDown() override {
    client_.reset();
    broker_.reset();
  }

  // Starts a poll; its outcome fills in later.
  std::unique_ptr<PollOutcome> Poll(const v1::PollRequest& request) {
    auto outcome = std::make_unique<PollOutcome>();
    pending_.push_back(client_->PollAsync(request, nullptr, outcome->Callback()));
    return outcome;
  }
  // Polls and waits for the answer.
  std::unique_ptr<PollOutcome> PollAndWait(const v1::PollRequest& request) {
    std::unique_ptr<PollOutcome> outcome = Poll(request);
    EXPECT_TRUE(outcome->Wait(absl::Seconds(30)));
    return outcome;
  }
  void ExpectThePathTaken() {
    if (OnStream()) {
      EXPECT_GT(counters_.streams_started.load(), 0);
      EXPECT_EQ(counters_.unary_fallbacks.load(), 0);
    } else {
      EXPECT_EQ(counters_.streams_started.load(), 0);
    }
  }

  PollStreamCounters counters_;
  std::unique_ptr<InProcessBroker> broker_;
  std::unique_ptr<BrokerClient> client_;
  std::vector<std::shared_ptr<BrokerApi::PendingPoll>> pending_;
};

INSTANTIATE_TEST_SUITE_P(
    UnaryAndStream, PollConformanceTest,
    ::testing::Combine(::testing::Bool(),
                       ::testing::Values(TestStore::kMemory, TestStore::kMemoryAnsweringLater,
                                         TestStore::kRedis)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) ? "Stream" : "Unary") +
             ::parley::testing::TestStoreName(
                 ::testing::TestParamInfo<TestStore>(std::get<1>(info.param), info.index));
    });

TEST_P(PollConformanceTest, PublishThenPollReturnsTheMessageWithSeqCursorAndEpoch) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  broker_->Say("alice", "lobby", "hello");
  auto polled = PollAndWait(PollFor("alice", alice.cursor(), 1000));
  ASSERT_TRUE(polled->status.ok()) << polled->status.error_message();
  const v1::PollResponse& response = polled->response;
  ASSERT_EQ(response.messages_size(), 1);
  EXPECT_EQ(response.messages(0).text(), "hello");
  EXPECT_EQ(response.messages(0).kind(), v1::CHAT);
  EXPECT_EQ(response.messages(0).from(), "alice");
  EXPECT_EQ(response.messages(0).room(), "lobby");
  EXPECT_FALSE(response.messages(0).id().empty());
  EXPECT_EQ(response.messages(0).seq(), alice.cursor() + 1);
  EXPECT_GT(response.messages(0).sent_at().seconds(), 0);
  EXPECT_EQ(response.cursor(), alice.cursor() + 1);
  EXPECT_EQ(response.epoch(), alice.epoch());
  EXPECT_FALSE(response.gap());
  ExpectThePathTaken();
}

TEST_P(PollConformanceTest, AParkedPollWakesOnPublishPromptly) {
  Start();
  const v1::ConnectResponse bob = broker_->Connect("bob");
  broker_->Connect("alice");
  auto polled = Poll(PollFor("bob", bob.cursor() + 1, 20'000));  // after alice's JOIN
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 1; }));
  EXPECT_FALSE(polled->done.HasBeenNotified());
  const absl::Time published_at = absl::Now();
  broker_->Say("alice", "lobby", "wake up");
  ASSERT_TRUE(polled->Wait());
  ASSERT_TRUE(polled->status.ok()) << polled->status.error_message();
  ASSERT_EQ(polled->response.messages_size(), 1);
  EXPECT_EQ(polled->response.messages(0).text(), "wake up");
  EXPECT_LT(polled->at - published_at, absl::Seconds(5));  // not the 20 s wait running out
}

TEST_P(PollConformanceTest, TheWaitPassingAnswersOkAndEmptyWithTheSameCursor) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  const absl::Time started = absl::Now();
  auto polled = PollAndWait(PollFor("alice", alice.cursor(), 200));
  ASSERT_TRUE(polled->status.ok()) << polled->status.error_message();
  EXPECT_GE(polled->at - started, absl::Milliseconds(190));
  EXPECT_EQ(polled->response.messages_size(), 0);
  EXPECT_EQ(polled->response.cursor(), alice.cursor());
  EXPECT_EQ(polled->response.epoch(), alice.epoch());
  EXPECT_EQ(broker_->ParkedPolls(), 0u);
}

TEST_P(PollConformanceTest, TheWaitIsClampedToTheBrokersMaxWait) {
  broker::BrokerServerOptions options;
  options.max_wait = absl::Milliseconds(300);
  Start(options);
  const v1::ConnectResponse alice = broker_->Connect("alice");
  const absl::Time started = absl::Now();
  auto polled = PollAndWait(PollFor("alice", alice.cursor(), 60'000));
  ASSERT_TRUE(polled->status.ok()) << polled->status.error_message();
  EXPECT_EQ(polled->response.messages_size(), 0);
  // It waited the broker's 300 ms, not the 60 s asked for.
  EXPECT_GE(polled->at - started, absl::Milliseconds(290));
  EXPECT_LT(polled->at - started, absl::Seconds(5));
}

TEST_P(PollConformanceTest, ACancelledPollIsAnsweredCancelledAndUnparked) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  auto polled = Poll(PollFor("alice", alice.cursor(), 30'000));
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 1; }));
  pending_.back()->Cancel();
  ASSERT_TRUE(polled->Wait());
  EXPECT_EQ(polled->status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 0; }));
}

TEST_P(PollConformanceTest, TwoReadersOfOneQueueEachGetEveryMessage) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  auto tab1 = Poll(PollFor("alice", alice.cursor(), 20'000));
  auto tab2 = Poll(PollFor("alice", alice.cursor(), 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 2; }));
  broker_->Say("alice", "lobby", "both");
  ASSERT_TRUE(tab1->Wait());
  ASSERT_TRUE(tab2->Wait());
  ASSERT_EQ(tab1->response.messages_size(), 1);
  ASSERT_EQ(tab2->response.messages_size(), 1);
  EXPECT_EQ(tab1->response.messages(0).id(), tab2->response.messages(0).id());
  EXPECT_EQ(tab1->response.messages(0).seq(), tab2->response.messages(0).seq());
}

TEST_P(PollConformanceTest, ReadersOfDifferentQueuesGetOneMessageEachWithTheirOwnSeq) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  const v1::ConnectResponse bob = broker_->Connect("bob");
  // alice's queue also holds bob's JOIN, so the same message gets a different seq in each.
  auto bob_poll = Poll(PollFor("bob", bob.cursor(), 20'000));
  auto alice_poll = Poll(PollFor("alice", alice.cursor() + 1, 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 2; }));
  broker_->Say("alice", "lobby", "shared");
  ASSERT_TRUE(alice_poll->Wait());
  ASSERT_TRUE(bob_poll->Wait());
  ASSERT_EQ(alice_poll->response.messages_size(), 1);
  ASSERT_EQ(bob_poll->response.messages_size(), 1);
  EXPECT_EQ(alice_poll->response.messages(0).id(), bob_poll->response.messages(0).id());
  EXPECT_EQ(alice_poll->response.messages(0).text(), "shared");
  EXPECT_EQ(alice_poll->response.messages(0).seq(), alice.cursor() + 2);
  EXPECT_EQ(bob_poll->response.messages(0).seq(), bob.cursor() + 1);
}

TEST_P(PollConformanceTest, ConsumeModeHandsEachMessageToOneConsumer) {
  Start();
  broker_->Connect("alice");
  v1::PollRequest consume = PollFor("alice", 0, 0);
  consume.set_consume(true);
  auto drained = PollAndWait(consume);  // the JOIN
  ASSERT_EQ(drained->response.messages_size(), 1);
  consume.set_wait_ms(20'000);
  auto first = Poll(consume);
  auto second = Poll(consume);
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 2; }));
  broker_->Say("alice", "lobby", "one");
  // Exactly one consumer gets it; the other parks again until the second message.
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 1; }));
  broker_->Say("alice", "lobby", "two");
  ASSERT_TRUE(first->Wait());
  ASSERT_TRUE(second->Wait());
  ASSERT_EQ(first->response.messages_size(), 1);
  ASSERT_EQ(second->response.messages_size(), 1);
  EXPECT_NE(first->response.messages(0).text(), second->response.messages(0).text());
}

TEST_P(PollConformanceTest, DisconnectAnswersParkedPollsWithNotFound) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  auto polled = Poll(PollFor("alice", alice.cursor(), 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 1; }));
  grpc::ClientContext context;
  v1::DisconnectRequest request;
  request.set_user("alice");
  request.set_session("alice-session");
  v1::DisconnectResponse response;
  ASSERT_TRUE(broker_->stub().Disconnect(&context, request, &response).ok());
  ASSERT_TRUE(polled->Wait());
  EXPECT_EQ(polled->status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(PollConformanceTest, ErrorsCarryTheirCodeAndMessage) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  auto unknown = PollAndWait(PollFor("nobody", 0, 0));
  EXPECT_EQ(unknown->status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown->status.error_message().find("not connected"), std::string::npos)
      << unknown->status.error_message();
  auto beyond = PollAndWait(PollFor("alice", 1000, 0));
  EXPECT_EQ(beyond->status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(beyond->status.error_message().find("cursor 1000"), std::string::npos)
      << beyond->status.error_message();
  auto malformed = PollAndWait(PollFor("not a name!", 0, 0));
  EXPECT_EQ(malformed->status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(malformed->status.error_message().empty());
}

TEST_P(PollConformanceTest, AnotherEpochIsAnsweredAtOnceFromTheStartWithAGap) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  v1::PollRequest stale = PollFor("alice", 99, 20'000);
  stale.set_epoch(alice.epoch() + 1);
  const absl::Time started = absl::Now();
  auto polled = PollAndWait(stale);
  ASSERT_TRUE(polled->status.ok()) << polled->status.error_message();
  EXPECT_LT(polled->at - started, absl::Seconds(5));
  EXPECT_TRUE(polled->response.gap());
  EXPECT_EQ(polled->response.epoch(), alice.epoch());
  ASSERT_GT(polled->response.messages_size(), 0);
  EXPECT_EQ(polled->response.messages(0).seq(), 1u);  // the JOIN, from the queue's start
}

TEST_P(PollConformanceTest, AnOverflowedQueueReportsAGap) {
  broker::BrokerServerOptions options;
  options.chat.queue_capacity = 2;
  Start(options);
  broker_->Connect("alice");
  for (const char* text : {"a", "b", "c", "d"}) broker_->Say("alice", "lobby", text);
  auto polled = PollAndWait(PollFor("alice", 1, 0));
  ASSERT_TRUE(polled->status.ok()) << polled->status.error_message();
  EXPECT_TRUE(polled->response.gap());
  ASSERT_EQ(polled->response.messages_size(), 2);
  EXPECT_EQ(polled->response.messages(0).text(), "c");
  EXPECT_EQ(polled->response.messages(1).text(), "d");
}

TEST_P(PollConformanceTest, WatchingPresenceListsTheRoomsWhoseVersionDiffers) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  v1::PollRequest watch = PollFor("alice", alice.cursor(), 0);
  watch.set_watch_presence(true);
  auto first = PollAndWait(watch);
  ASSERT_TRUE(first->status.ok()) << first->status.error_message();
  ASSERT_EQ(first->response.presence_size(), 1);
  EXPECT_EQ(first->response.presence(0).room(), "lobby");
  EXPECT_EQ(first->response.presence(0).members(), 1u);
  (*watch.mutable_presence_versions())["lobby"] = first->response.presence(0).version();
  auto second = PollAndWait(watch);
  EXPECT_EQ(second->response.presence_size(), 0);  // nothing changed since
}

TEST_P(PollConformanceTest, BeginShutdownAnswersParkedPollsAtOnceAndRefusesNewOnes) {
  Start();
  const v1::ConnectResponse alice = broker_->Connect("alice");
  auto parked = Poll(PollFor("alice", alice.cursor(), 20'000));
  ASSERT_TRUE(WaitFor([&] { return broker_->ParkedPolls() == 1; }));
  const absl::Time began = absl::Now();
  broker_->server().BeginShutdown();
  ASSERT_TRUE(parked->Wait());
  ASSERT_TRUE(parked->status.ok()) << parked->status.error_message();
  EXPECT_EQ(parked->response.messages_size(), 0);
  EXPECT_LT(parked->at - began, absl::Seconds(5));
  auto refused = PollAndWait(PollFor("alice", alice.cursor(), 5000));
  EXPECT_EQ(refused->status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused->status.error_message();
}

}  // namespace
}  // namespace parley::frontend
