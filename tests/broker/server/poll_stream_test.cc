// The PollStream RPC itself, spoken by a plain gRPC client to an in-process broker: batching,
// cancellation, bounds, draining and the ends of a stream. (That each poll follows Poll's
// rules is tests/frontend/broker/poll_conformance_test.cc.)
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "tests/testing/in_process_broker.h"
#include "tests/testing/wait_for.h"

namespace parley::broker {
namespace {

using ::parley::testing::InProcessBroker;
using ::parley::testing::PollFor;
using ::parley::testing::WaitFor;
using Stream = grpc::ClientReaderWriter<v1::PollStreamRequest, v1::PollStreamResponse>;

v1::PollStreamRequest Polls(std::vector<std::pair<uint64_t, v1::PollRequest>> polls) {
  v1::PollStreamRequest request;
  for (auto& [id, poll] : polls) {
    v1::StreamPoll* out = request.add_polls();
    out->set_id(id);
    *out->mutable_request() = poll;
    out->set_deadline_ms(60'000);
  }
  return request;
}

class PollStreamTest : public ::testing::Test {
 protected:
  explicit PollStreamTest(BrokerServerOptions options = {}) : broker_(options) {
    // Calls waiting for the next stream: what is left once this test's stream is gone.
    idle_stream_calls_ = broker_.server().live_stream_calls();
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    stream_ = broker_.stub().PollStream(&context_);
  }
  // The next answer, from the next stream message that has one.
  v1::StreamPollAnswer ReadAnswer() {
    while (pending_.empty()) {
      v1::PollStreamResponse response;
      EXPECT_TRUE(stream_->Read(&response)) << "the stream ended";
      if (::testing::Test::HasFailure()) return {};
      for (const auto& answer : response.answers()) pending_.push_back(answer);
    }
    v1::StreamPollAnswer answer = pending_.front();
    pending_.erase(pending_.begin());
    return answer;
  }

  InProcessBroker broker_;
  grpc::ClientContext context_;
  std::unique_ptr<Stream> stream_;
  std::vector<v1::StreamPollAnswer> pending_;
  int64_t idle_stream_calls_ = 0;
};

TEST_F(PollStreamTest, AnswersReadyTogetherShareStreamMessagesCarryingEachMessageOnce) {
  constexpr int kUsers = 200;
  const std::vector<uint64_t> cursors = broker_.ConnectNumbered(kUsers);
  std::vector<std::pair<uint64_t, v1::PollRequest>> polls;
  for (int i = 0; i < kUsers; ++i) {
    polls.push_back(
        {static_cast<uint64_t>(i + 1), PollFor("u" + std::to_string(i), cursors[i], 20'000)});
  }
  ASSERT_TRUE(stream_->Write(Polls(polls)));
  ASSERT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == kUsers; }));
  const v1::PublishResponse sent = broker_.Say("u0", "lobby", "to all");

  std::set<uint64_t> answered;
  int stream_messages = 0;
  while (answered.size() < kUsers) {
    v1::PollStreamResponse response;
    ASSERT_TRUE(stream_->Read(&response));
    ++stream_messages;
    ASSERT_EQ(response.messages_size(), 1);  // once, however many answers carry it
    EXPECT_EQ(response.messages(0).id(), sent.message().id());
    EXPECT_EQ(response.messages(0).seq(), 0u);
    for (const v1::StreamPollAnswer& answer : response.answers()) {
      EXPECT_EQ(answer.code(), 0) << answer.error();
      ASSERT_EQ(answer.message_index_size(), 1);
      EXPECT_EQ(answer.message_index(0), 0u);
      const uint64_t cursor = cursors[answer.id() - 1];
      EXPECT_EQ(answer.seq(0), cursor + 1);
      EXPECT_EQ(answer.response().cursor(), cursor + 1);
      EXPECT_EQ(answer.response().messages_size(), 0);  // by reference only
      EXPECT_TRUE(answered.insert(answer.id()).second) << "answered twice: " << answer.id();
    }
  }
  // Answers decided together (the publisher's thread woke every poll: one AnswerBatch) leave
  // in one write, not the first alone and the rest after it.
  EXPECT_EQ(stream_messages, 1);
  EXPECT_EQ(broker_.ParkedPolls(), 0u);
}

TEST_F(PollStreamTest, ACancelledPollIsUnparkedAndNeverAnswered) {
  const v1::ConnectResponse alice = broker_.Connect("alice");
  ASSERT_TRUE(stream_->Write(Polls({{1, PollFor("alice", alice.cursor(), 20'000)}})));
  ASSERT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == 1; }));
  v1::PollStreamRequest cancel;
  cancel.add_cancel(1);
  cancel.add_cancel(77);  // unknown: ignored
  ASSERT_TRUE(stream_->Write(cancel));
  ASSERT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == 0; }));
  broker_.Say("alice", "lobby", "after the cancel");
  ASSERT_TRUE(stream_->Write(Polls({{2, PollFor("alice", alice.cursor(), 0)}})));
  const v1::StreamPollAnswer answer = ReadAnswer();
  EXPECT_EQ(answer.id(), 2u);  // poll 1's answer never came
  EXPECT_EQ(answer.message_index_size(), 1);
}

class BoundedPollStreamTest : public PollStreamTest {
 protected:
  static BrokerServerOptions Bounded() {
    BrokerServerOptions options;
    options.max_stream_polls = 2;
    return options;
  }
  BoundedPollStreamTest() : PollStreamTest(Bounded()) {}
};

TEST_F(BoundedPollStreamTest, ADuplicateIdIsRefusedAndPollsPastTheBoundAreResourceExhausted) {
  const v1::ConnectResponse alice = broker_.Connect("alice");
  const v1::PollRequest parked = PollFor("alice", alice.cursor(), 20'000);
  ASSERT_TRUE(stream_->Write(Polls({{1, parked}, {2, parked}})));
  ASSERT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == 2; }));
  ASSERT_TRUE(stream_->Write(Polls({{1, parked}})));
  v1::StreamPollAnswer duplicate = ReadAnswer();
  EXPECT_EQ(duplicate.id(), 1u);
  EXPECT_EQ(duplicate.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(duplicate.error().find("already in flight"), std::string::npos) << duplicate.error();
  ASSERT_TRUE(stream_->Write(Polls({{3, parked}})));
  v1::StreamPollAnswer refused = ReadAnswer();
  EXPECT_EQ(refused.id(), 3u);
  EXPECT_EQ(refused.code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error().find("more than 2 polls"), std::string::npos) << refused.error();
  EXPECT_EQ(broker_.ParkedPolls(), 2u);  // the first two still wait, unharmed
  broker_.Say("alice", "lobby", "for both");
  std::set<uint64_t> ids = {ReadAnswer().id(), ReadAnswer().id()};
  EXPECT_EQ(ids, (std::set<uint64_t>{1, 2}));
}

class SlowReaderPollStreamTest : public PollStreamTest {
 protected:
  static BrokerServerOptions Options() {
    BrokerServerOptions options;
    options.max_stream_polls = 2;
    options.chat.publish_burst = 1000;
    return options;
  }
  SlowReaderPollStreamTest() : PollStreamTest(Options()) {}
};

TEST_F(SlowReaderPollStreamTest, TheBrokerStopsReadingAClientThatStopsReadingThenGoesOn) {
  const v1::ConnectResponse alice = broker_.Connect("alice");
  for (int i = 0; i < 50; ++i) broker_.Say("alice", "lobby", std::string(2000, 'a' + i % 26));
  // Polls answered at once with some 100 kB each, and the client reads none of them: the
  // transport's windows fill, answers wait, and at --max_stream_polls (2) waiting the broker
  // stops reading the stream.
  v1::PollRequest everything = PollFor("alice", 0, 0);
  everything.set_max_messages(100);
  // (300 polls ask for some 30 MB, past any window; their 12 kB of requests fit in the
  // broker's, so these writes return even once it has stopped reading.)
  const uint64_t id = 300;
  for (uint64_t i = 1; i <= id; ++i) ASSERT_TRUE(stream_->Write(Polls({{i, everything}})));
  ASSERT_TRUE(WaitFor([&] { return broker_.server().metrics().stream_read_pauses() > 0; }));
  // So a poll that would park is not even read: nothing parks while the client reads nothing.
  ASSERT_TRUE(stream_->Write(Polls({{1000, PollFor("alice", alice.cursor() + 50, 20'000)}})));
  EXPECT_FALSE(WaitFor([&] { return broker_.ParkedPolls() > 0; }, absl::Milliseconds(300)));
  // The client reads again: every answer comes, the broker reads on, and the poll parks.
  for (uint64_t answered = 0; answered < id; ++answered) {
    const v1::StreamPollAnswer answer = ReadAnswer();
    ASSERT_FALSE(::testing::Test::HasFailure());
    // Answered, or refused past the bound while answers waited.
    EXPECT_TRUE(answer.code() == 0 || answer.code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << answer.code();
    EXPECT_LE(answer.id(), id);
  }
  EXPECT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == 1; }));
  broker_.Say("alice", "lobby", "read again");
  const v1::StreamPollAnswer last = ReadAnswer();
  EXPECT_EQ(last.id(), 1000u);
  EXPECT_EQ(last.message_index_size(), 1);
}

TEST_F(PollStreamTest, DrainingAnswersParkedPollsThenEndsTheStreamUnavailable) {
  const v1::ConnectResponse alice = broker_.Connect("alice");
  ASSERT_TRUE(stream_->Write(Polls({{1, PollFor("alice", alice.cursor(), 20'000)}})));
  ASSERT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == 1; }));
  broker_.server().BeginShutdown();
  const v1::StreamPollAnswer answer = ReadAnswer();
  EXPECT_EQ(answer.id(), 1u);
  EXPECT_EQ(answer.code(), 0);
  EXPECT_EQ(answer.message_index_size(), 0);
  v1::PollStreamResponse more;
  EXPECT_FALSE(stream_->Read(&more));
  const grpc::Status status = stream_->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(WaitFor([&] { return broker_.server().live_stream_calls() == idle_stream_calls_; }))
      << broker_.server().live_stream_calls();
}

TEST_F(PollStreamTest, AHalfClosedStreamStillGetsItsAnswersThenEndsOk) {
  // As grpcurl sends: its polls, then the end of its side, then it reads.
  const v1::ConnectResponse alice = broker_.Connect("alice");
  ASSERT_TRUE(stream_->Write(Polls({{1, PollFor("alice", alice.cursor(), 300)}})));
  ASSERT_TRUE(stream_->WritesDone());
  const v1::StreamPollAnswer answer = ReadAnswer();
  EXPECT_EQ(answer.id(), 1u);
  EXPECT_EQ(answer.code(), 0);
  EXPECT_EQ(answer.response().cursor(), alice.cursor());
  v1::PollStreamResponse more;
  EXPECT_FALSE(stream_->Read(&more));
  EXPECT_TRUE(stream_->Finish().ok());
}

TEST_F(PollStreamTest, AClientThatCancelsTheStreamUnparksEveryPollAndFreesTheCall) {
  const v1::ConnectResponse alice = broker_.Connect("alice");
  const v1::PollRequest parked = PollFor("alice", alice.cursor(), 20'000);
  ASSERT_TRUE(stream_->Write(Polls({{1, parked}, {2, parked}, {3, parked}})));
  ASSERT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == 3; }));
  context_.TryCancel();
  EXPECT_TRUE(WaitFor([&] { return broker_.ParkedPolls() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return broker_.server().live_stream_calls() == idle_stream_calls_; }))
      << broker_.server().live_stream_calls();
  EXPECT_EQ(stream_->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace parley::broker
