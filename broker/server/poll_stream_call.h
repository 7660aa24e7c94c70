#ifndef PARLEY_BROKER_SERVER_POLL_STREAM_CALL_H_
#define PARLEY_BROKER_SERVER_POLL_STREAM_CALL_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "broker/server/broker_metrics.h"
#include "broker/server/completion_tag.h"
#include "broker/server/in_flight_calls.h"
#include "broker/server/poll_read.h"
#include "broker/server/poll_stream_registry.h"
#include "broker/server/server_call_tags.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::broker {

class PollStreamCall;

// What every PollStreamCall needs; everything here outlives every call.
struct PollStreamBinding {
  parley::v1::Broker::AsyncService* service;
  grpc::ServerCompletionQueue* cq;
  PollReadBinding read;
  std::atomic<int64_t>* live_calls;
  InFlightCalls* in_flight;
  BrokerMetrics* metrics;
  PollStreamRegistry<PollStreamCall>* registry;
  size_t max_polls;  // unanswered polls (parked, or answered and not yet written) per stream
};

// One PollStream RPC: many polls from one frontend, each a PollRead (so it is read, parked
// and answered exactly as a unary Poll), their answers written back in batches.
//
// Reading: one Read outstanding at a time; each message's polls start at once, its cancels
// drop polls. A poll that would take the stream past `max_polls` unanswered polls is answered
// RESOURCE_EXHAUSTED at once; while `max_polls` answers wait to be written (a frontend that
// does not read), reading pauses, so the frontend's sends back up in HTTP/2 flow control
// instead of the broker's memory growing.
// Writing: one Write outstanding at a time. Answers arriving meanwhile (a publish to ten
// thousand parked polls wakes them one after another) wait in `answers_` and all leave in the
// next message, each message they carry once: the busier the stream, the bigger the batch.
// Ending: when the client cancels or goes away, every poll is cancelled; when it half-closes
// (grpcurl does), or the broker drains, the call finishes (OK, or UNAVAILABLE when
// draining) once no poll is left and the last answer is written.
//
// Phases: kAwaitingRequest --request--> kOpen (or kDraining if the broker already drains)
// --Drain--> kDraining --no poll left, last answer written--> kFinishing (Finish started). The
// read side is kReading, kPaused (the backlog is full; resumes after a write) or kClosed (the
// client half-closed or left).
// Tags (members; see ServerCallTags): requested, done, read, write and finish, each
// outstanding at most once. Ownership: ServerCallTags' reference from Start until every tag
// is back; each parked poll holds the call too (it answers into it). Threads: tags on the queue's
// thread; answers from whichever thread decided a poll (a publisher, PollDeadlines, the queue
// thread). Locks: a poll's mutex is taken before mu_, never after.
class PollStreamCall final : public std::enable_shared_from_this<PollStreamCall> {
 public:
  // Creates a call object and asks gRPC for the next PollStream on binding.cq.
  static void Start(const PollStreamBinding& binding);

  explicit PollStreamCall(const PollStreamBinding& binding);  // use Start
  ~PollStreamCall();
  PollStreamCall(const PollStreamCall&) = delete;
  PollStreamCall& operator=(const PollStreamCall&) = delete;

  // The broker drains: end the stream once its polls are answered. Any thread.
  void Drain();

 private:
  class StreamPoll;
  enum class Event { kRequested, kRead, kWrite, kDone, kFinished };
  enum class Phase { kAwaitingRequest, kOpen, kDraining, kFinishing };
  enum class ReadSide { kReading, kPaused, kClosed };
  using Op = ServerCallTags<PollStreamCall>::Op;

  using EventTag = broker::EventTag<PollStreamCall, Event>;
  friend EventTag;

  // An answer waiting to be written.
  struct Answer {
    uint64_t id = 0;
    grpc::Status status;
    ReadOutcome outcome;  // when status is OK
  };

  void OnEvent(Event event, bool ok);
  void OnRead(bool ok);
  // One poll's answer (from StreamPoll::AnswerLocked, with that poll's lock held).
  void OnAnswer(uint64_t id, const grpc::Status& status, ReadOutcome* outcome);
  // Writes what is waiting, or finishes the call when it is over. Call without mu_.
  void Flush();
  void BuildResponse(std::vector<Answer>& batch);
  void StartReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves every poll out of polls_, for cancelling without the lock.
  std::vector<std::shared_ptr<StreamPoll>> TakePollsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t BacklogLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return polls_.size() + answers_.size();
  }
  void ReleaseIfDone();

  const PollStreamBinding binding_;
  grpc::ServerContext context_;
  grpc::ServerAsyncReaderWriter<v1::PollStreamResponse, v1::PollStreamRequest> stream_;
  v1::PollStreamRequest incoming_;   // touched only while a read is outstanding / handled
  v1::PollStreamResponse outgoing_;  // touched only by whoever started the write
  EventTag requested_tag_{this, Event::kRequested};
  EventTag read_tag_{this, Event::kRead};
  EventTag write_tag_{this, Event::kWrite};
  EventTag done_tag_{this, Event::kDone};
  EventTag finished_tag_{this, Event::kFinished};

  absl::Mutex mu_;
  ServerCallTags<PollStreamCall> tags_ ABSL_GUARDED_BY(mu_);
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kAwaitingRequest;
  ReadSide read_side_ ABSL_GUARDED_BY(mu_) = ReadSide::kReading;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;  // the stream broke; the read fails too
  absl::flat_hash_map<uint64_t, std::shared_ptr<StreamPoll>> polls_ ABSL_GUARDED_BY(mu_);
  std::vector<Answer> answers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_POLL_STREAM_CALL_H_
