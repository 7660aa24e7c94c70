// The frontend's side of the PollStream (BrokerClient's PollStream) against scripted brokers:
// a stream that breaks, a broker without the stream, a broker that never answers, a poll
// cancelled by its client, answers to rebuild, and malformed answers.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_error_reason.h"
#include "frontend/broker/broker_client.h"
#include "frontend/http/http_error.h"
#include "frontend/net/event_loop.h"
#include "tests/testing/in_process_broker.h"
#include "tests/testing/outcome.h"
#include "tests/testing/silent_proxy.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::InProcessBroker;
using ::parley::testing::Outcome;
using ::parley::testing::SilentProxy;
using ::parley::testing::WaitFor;
using PollOutcome = Outcome<v1::PollResponse>;

// What the scripted broker does with the polls it reads.
enum class Script {
  kAnswer,            // answers each message's polls in one message, sharing one Message
  kBreakFirstStream,  // the first stream ends UNAVAILABLE after two polls; later ones answer
  kHold,              // never answers
  kMalformed,         // answers pointing at a message that is not there
  kGatherFive,        // answers nothing until five polls are in, then all five in one message
};

// A broker that speaks PollStream by a script, on the synchronous API (one thread per
// stream is fine for a test).
class ScriptedBroker final : public v1::Broker::Service {
 public:
  explicit ScriptedBroker(Script script) : script_(script) {}

  grpc::Status PollStream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::PollStreamResponse, v1::PollStreamRequest>* stream) override {
    int call;
    {
      absl::MutexLock lock(&mu_);
      call = ++streams_;
    }
    int polls_here = 0;
    google::protobuf::RepeatedPtrField<v1::StreamPoll> gathered;
    v1::PollStreamRequest request;
    while (stream->Read(&request)) {
      {
        absl::MutexLock lock(&mu_);
        for (const auto& poll : request.polls()) seen_.push_back(poll);
        if (request.polls_size() > 0) ++messages_with_polls_;
        for (uint64_t id : request.cancel()) cancels_.push_back(id);
      }
      polls_here += request.polls_size();
      if (script_ == Script::kHold || request.polls_size() == 0) continue;
      if (script_ == Script::kGatherFive) {
        for (const auto& poll : request.polls()) gathered.Add()->CopyFrom(poll);
        if (gathered.size() < 5) continue;
        request.mutable_polls()->Swap(&gathered);
      }
      if (script_ == Script::kBreakFirstStream && call == 1) {
        if (polls_here >= 2) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting");
        continue;
      }
      v1::PollStreamResponse response;
      v1::Message* shared = response.add_messages();
      shared->set_id("m1");
      shared->set_text("shared");
      for (const auto& poll : request.polls()) {
        v1::StreamPollAnswer* answer = response.add_answers();
        answer->set_id(poll.id());
        if (script_ == Script::kMalformed && poll.request().cursor() == 20) {
          answer->set_code(99);  // no gRPC code
          answer->set_error("from the future");
          continue;
        }
        if (script_ == Script::kMalformed && poll.request().cursor() == 30) {
          answer->set_code(grpc::StatusCode::RESOURCE_EXHAUSTED);  // the stream's bound
          answer->set_error("more than 2 polls in flight on this stream");
          answer->set_reason("TOO_MANY_POLLS");
          continue;
        }
        answer->add_message_index(script_ == Script::kMalformed ? 5 : 0);
        answer->add_seq(poll.request().cursor() + 1);
        answer->mutable_response()->set_cursor(poll.request().cursor() + 1);
        answer->mutable_response()->set_epoch(9);
      }
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }

  std::vector<v1::StreamPoll> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  std::vector<uint64_t> cancels() {
    absl::MutexLock lock(&mu_);
    return cancels_;
  }
  int messages_with_polls() {
    absl::MutexLock lock(&mu_);
    return messages_with_polls_;
  }

 private:
  const Script script_;
  absl::Mutex mu_;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::StreamPoll> seen_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> cancels_ ABSL_GUARDED_BY(mu_);
  int messages_with_polls_ ABSL_GUARDED_BY(mu_) = 0;
};

// A broker from before the stream: unary Poll only (PollStream is UNIMPLEMENTED).
class UnaryOnlyBroker final : public v1::Broker::Service {
 public:
  grpc::Status Poll(grpc::ServerContext*, const v1::PollRequest* request,
                    v1::PollResponse* response) override {
    response->set_cursor(request->cursor() + 1);
    return grpc::Status::OK;
  }
};

class PollStreamClientTest : public ::testing::Test {
 protected:
  // Serves `service` (kept until the server has stopped, in TearDown) and connects a client.
  template <typename Service>
  Service& Serve(std::unique_ptr<Service> service, absl::Duration poll_margin = absl::Seconds(2)) {
    Service* raw = service.get();
    service_ = std::move(service);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(raw);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    BrokerClientOptions options;
    options.address = absl::StrCat("127.0.0.1:", port_);
    options.poll_margin = poll_margin;
    options.counters = &counters_;
    client_ = std::make_unique<BrokerClient>(options);
    return *raw;
  }
  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }
  std::unique_ptr<PollOutcome> Poll(uint64_t cursor, bool consume = false,
                                    uint32_t wait_ms = 10'000, Executor* executor = nullptr) {
    v1::PollRequest request;
    request.set_user("alice");
    request.set_cursor(cursor);
    request.set_consume(consume);
    request.set_wait_ms(wait_ms);
    auto outcome = std::make_unique<PollOutcome>();
    pending_.push_back(client_->PollAsync(request, executor, outcome->Callback()));
    return outcome;
  }

  int port_ = 0;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  PollStreamCounters counters_;
  std::unique_ptr<BrokerClient> client_;
  std::vector<std::shared_ptr<BrokerApi::PendingPoll>> pending_;
};

TEST_F(PollStreamClientTest, AnswersAreRebuiltWithTheSharedMessageAndTheirOwnSeq) {
  Serve(std::make_unique<ScriptedBroker>(Script::kAnswer));
  auto first = Poll(10);
  auto second = Poll(20);
  ASSERT_TRUE(first->Wait());
  ASSERT_TRUE(second->Wait());
  for (auto [outcome, seq] : {std::pair{first.get(), 11u}, std::pair{second.get(), 21u}}) {
    ASSERT_TRUE(outcome->status.ok()) << outcome->status.error_message();
    ASSERT_EQ(outcome->response.messages_size(), 1);
    EXPECT_EQ(outcome->response.messages(0).text(), "shared");
    EXPECT_EQ(outcome->response.messages(0).seq(), seq);
    EXPECT_EQ(outcome->response.cursor(), seq);
    EXPECT_EQ(outcome->response.epoch(), 9u);
  }
  EXPECT_EQ(counters_.streams_started.load(), 1);
  EXPECT_EQ(counters_.polls_in_flight.load(), 0);
}

// An HTTP loop standing in for the executor, counting what is posted to it.
class CountingLoop final : public Executor {
 public:
  CountingLoop() : thread_([this] { loop_.Run(); }) {}
  ~CountingLoop() override {
    loop_.Stop();
    thread_.join();
  }
  void Post(absl::AnyInvocable<void()> callback) override {
    const int post = posts_.fetch_add(1) + 1;
    loop_.Post([this, post, callback = std::move(callback)]() mutable {
      running_ = post;
      callback();
      running_ = 0;
    });
  }
  bool InLoopThread() const { return loop_.InLoopThread(); }
  // On the loop: which post (1, 2, ...) is running.
  int running() const { return running_; }

 private:
  EventLoop loop_;
  std::atomic<int> posts_{0};
  int running_ = 0;  // loop thread
  std::thread thread_;
};

// The answers one broker message carries reach the loop that asked in one post, and run on
// it (a post each would wake the loop once per answer).
TEST_F(PollStreamClientTest, TheAnswersOfOneMessageReachTheirLoopInOnePost) {
  Serve(std::make_unique<ScriptedBroker>(Script::kGatherFive));
  CountingLoop loop;
  std::vector<std::unique_ptr<PollOutcome>> outcomes;
  absl::Mutex mu;
  std::set<int> answered_in;  // the posts the answers ran in
  for (uint64_t cursor = 10; cursor < 15; ++cursor) {
    outcomes.push_back(std::make_unique<PollOutcome>());
    v1::PollRequest request;
    request.set_user("alice");
    request.set_cursor(cursor);
    request.set_wait_ms(10'000);
    auto callback = outcomes.back()->Callback();
    pending_.push_back(client_->PollAsync(
        request, &loop, [&, callback](grpc::Status status, v1::PollResponse response) mutable {
          {
            absl::MutexLock lock(&mu);
            answered_in.insert(loop.InLoopThread() ? loop.running() : -1);
          }
          callback(std::move(status), std::move(response));
        }));
  }
  for (auto& outcome : outcomes) {
    ASSERT_TRUE(outcome->Wait());
    EXPECT_TRUE(outcome->status.ok()) << outcome->status.error_message();
  }
  absl::MutexLock lock(&mu);
  ASSERT_EQ(answered_in.size(), 1u);   // all in one post
  EXPECT_GT(*answered_in.begin(), 0);  // on the loop
}

// The polls one turn of a loop adds leave in one stream message, sent after the turn (a write
// each would cost a completion, and a thread switch, per poll).
TEST_F(PollStreamClientTest, ThePollsOfOneLoopTurnLeaveInOneMessage) {
  ScriptedBroker& broker = Serve(std::make_unique<ScriptedBroker>(Script::kAnswer));
  // The stream is open before the turn: a first poll, answered.
  auto first = Poll(1);
  ASSERT_TRUE(first->Wait());
  CountingLoop loop;
  std::vector<std::unique_ptr<PollOutcome>> outcomes;
  for (int i = 0; i < 5; ++i) outcomes.push_back(std::make_unique<PollOutcome>());
  loop.Post([&] {
    for (uint64_t i = 0; i < 5; ++i) {
      v1::PollRequest request;
      request.set_user("alice");
      request.set_cursor(10 + i);
      request.set_wait_ms(10'000);
      pending_.push_back(client_->PollAsync(request, &loop, outcomes[i]->Callback()));
    }
  });
  for (auto& outcome : outcomes) {
    ASSERT_TRUE(outcome->Wait());
    EXPECT_TRUE(outcome->status.ok()) << outcome->status.error_message();
  }
  EXPECT_EQ(broker.seen().size(), 6u);
  EXPECT_EQ(broker.messages_with_polls(), 2);  // the first poll's, then the turn's
}

TEST_F(PollStreamClientTest, ACursorPollIsSentAgainOnANewStreamAndAConsumePollIsNot) {
  ScriptedBroker& broker = Serve(std::make_unique<ScriptedBroker>(Script::kBreakFirstStream));
  auto cursor_poll = Poll(10);
  auto consume_poll = Poll(0, /*consume=*/true);
  ASSERT_TRUE(cursor_poll->Wait());
  ASSERT_TRUE(consume_poll->Wait());
  ASSERT_TRUE(cursor_poll->status.ok()) << cursor_poll->status.error_message();
  EXPECT_EQ(cursor_poll->response.cursor(), 11u);  // answered by the second stream
  // The broker may have advanced a consume poll's cursor: the page asks again instead.
  EXPECT_EQ(consume_poll->status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(consume_poll->status.error_message().find("restarting"), std::string::npos)
      << consume_poll->status.error_message();
  int cursor_sends = 0, consume_sends = 0;
  for (const v1::StreamPoll& poll : broker.seen()) {
    (poll.request().consume() ? consume_sends : cursor_sends)++;
  }
  EXPECT_EQ(cursor_sends, 2);
  EXPECT_EQ(consume_sends, 1);
  EXPECT_EQ(counters_.resends.load(), 1);
  EXPECT_EQ(counters_.streams_started.load(), 2);
}

TEST_F(PollStreamClientTest, ABrokerWithoutTheStreamIsPolledWithUnaryCalls) {
  Serve(std::make_unique<UnaryOnlyBroker>());
  auto first = Poll(10);
  ASSERT_TRUE(first->Wait());
  ASSERT_TRUE(first->status.ok()) << first->status.error_message();
  EXPECT_EQ(first->response.cursor(), 11u);
  auto second = Poll(20);  // straight to unary: the stream is not tried again for a while
  ASSERT_TRUE(second->Wait());
  ASSERT_TRUE(second->status.ok()) << second->status.error_message();
  EXPECT_EQ(second->response.cursor(), 21u);
  EXPECT_EQ(counters_.unary_fallbacks.load(), 2);
  EXPECT_EQ(counters_.streams_started.load(), 1);
}

TEST_F(PollStreamClientTest, APollTheBrokerNeverAnswersEndsAtItsDeadlineAndIsCancelledThere) {
  ScriptedBroker& broker = Serve(std::make_unique<ScriptedBroker>(Script::kHold),
                                 /*poll_margin=*/absl::Milliseconds(200));
  const absl::Time started = absl::Now();
  auto held = Poll(10, false, /*wait_ms=*/100);
  ASSERT_TRUE(held->Wait());
  EXPECT_EQ(held->status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_GE(held->at - started, absl::Milliseconds(300));  // wait + margin
  EXPECT_LT(held->at - started, absl::Seconds(8));         // not held for ever
  ASSERT_EQ(broker.seen().size(), 1u);
  const uint64_t id = broker.seen()[0].id();
  EXPECT_TRUE(WaitFor([&] { return broker.cancels() == std::vector<uint64_t>{id}; }));
}

TEST_F(PollStreamClientTest, CancelAnswersAtOnceAndTellsTheBroker) {
  ScriptedBroker& broker = Serve(std::make_unique<ScriptedBroker>(Script::kHold));
  auto held = Poll(10);
  ASSERT_TRUE(WaitFor([&] { return broker.seen().size() == 1; }));
  pending_.back()->Cancel();
  ASSERT_TRUE(held->Wait(absl::Seconds(1)));
  EXPECT_EQ(held->status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(
      WaitFor([&] { return broker.cancels() == std::vector<uint64_t>{broker.seen()[0].id()}; }));
  EXPECT_EQ(counters_.polls_in_flight.load(), 0);
}

TEST_F(PollStreamClientTest, AMalformedAnswerIsAnInternalErrorNotACrash) {
  Serve(std::make_unique<ScriptedBroker>(Script::kMalformed));
  auto polled = Poll(10);
  auto unknown_code = Poll(20);
  ASSERT_TRUE(polled->Wait());
  EXPECT_EQ(polled->status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(polled->response.messages_size(), 0);
  ASSERT_TRUE(unknown_code->Wait());
  EXPECT_EQ(unknown_code->status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(unknown_code->status.error_message(), "from the future");
}

TEST_F(PollStreamClientTest, APollRefusedForTheStreamsBoundIs503TooManyPollsNotRateLimited) {
  Serve(std::make_unique<ScriptedBroker>(Script::kMalformed));
  auto refused = Poll(30);
  ASSERT_TRUE(refused->Wait());
  // The stream answer's reason reaches the status, and the one mapping makes it a 503 for the
  // browser (without it, RESOURCE_EXHAUSTED would be 429 rate_limited).
  EXPECT_EQ(refused->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(refused->status), "TOO_MANY_POLLS");
  const HttpError error = FromGrpcStatus(refused->status);
  EXPECT_EQ(error.status, 503);
  EXPECT_EQ(error.code, "too_many_polls");
  EXPECT_EQ(error.retry_after_seconds, 2);
  EXPECT_NE(refused->status.error_message().find("more than 2 polls"), std::string::npos)
      << refused->status.error_message();
}

TEST(PollStreamKeepaliveTest, ABrokerGoneSilentIsNoticedInSecondsAndThePollMovesOn) {
  // The broker's machine vanishes as far as this connection can tell (no FIN, no reset):
  // without keepalive the stream would wait for the poll's 30 s. Pings unanswered end it,
  // and the cursor poll is sent again on a new connection (which reaches the broker).
  InProcessBroker broker;
  SilentProxy proxy(broker.server().port());
  PollStreamCounters counters;
  BrokerClientOptions options;
  options.address = absl::StrCat("127.0.0.1:", proxy.port());
  options.counters = &counters;
  BrokerClient client(options);
  const v1::ConnectResponse alice = broker.Connect("alice");
  v1::PollRequest request;
  request.set_user("alice");
  request.set_cursor(alice.cursor());
  request.set_wait_ms(30'000);
  PollOutcome polled;
  auto pending = client.PollAsync(request, nullptr, polled.Callback());
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 1; }));

  proxy.Silence();
  const absl::Time silenced = absl::Now();
  // Keepalive pings every 5 s, each given 5 s: found in about 10 s (gRPC's default would
  // take two hours).
  ASSERT_TRUE(WaitFor([&] { return counters.resends.load() == 1; }, absl::Seconds(60)));
  EXPECT_LT(absl::Now() - silenced, absl::Seconds(30));
  // The first copy stays parked at the broker, which cannot tell either; the second joins it.
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 2; }))
      << "answered: " << polled.done.HasBeenNotified() << " " << polled.status.error_message();
  EXPECT_EQ(counters.streams_started.load(), 2);
  EXPECT_FALSE(polled.done.HasBeenNotified());
  broker.Say("alice", "lobby", "still here");
  ASSERT_TRUE(polled.Wait());
  ASSERT_TRUE(polled.status.ok()) << polled.status.error_message();
  ASSERT_EQ(polled.response.messages_size(), 1);
  EXPECT_EQ(polled.response.messages(0).text(), "still here");
}

}  // namespace
}  // namespace parley::frontend
