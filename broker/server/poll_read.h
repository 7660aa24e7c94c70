#ifndef PARLEY_BROKER_SERVER_POLL_READ_H_
#define PARLEY_BROKER_SERVER_POLL_READ_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/chat_state.h"
#include "broker/core/poll_waiter.h"
#include "broker/server/completion_queue_gate.h"
#include "broker/server/poll_deadlines.h"
#include "common/metrics/metrics.h"
#include "parley/v1/broker.pb.h"

namespace parley::broker {

// What every poll needs; everything here outlives every poll.
struct PollReadBinding {
  ChatState* state;
  PollDeadlines* deadlines;        // ends parked waits
  CompletionQueueGate* gate;       // closed: the broker is stopping, nothing is scheduled
  absl::Duration max_wait;         // longest a poll parks
  absl::Duration deadline_margin;  // answer this long before the client's deadline
  metrics::Histogram* wake_lag_seconds = nullptr;  // observed when a wake's change is answered
};

// The rules of one poll, shared by the unary Poll (PollCall) and each poll of a PollStream
// (PollStreamCall::StreamPoll), so both answer exactly alike: read the user's queue after the
// cursor; when there is nothing, park on it (as a PollWaiter) until one of these ends the wait:
//   Wake()      a message arrived, the user left, or the broker drains: read again and answer
//               (or park again if a concurrent consumer took the message);
//   OnDeadline  the wait passed (PollDeadlines' thread): answer OK with what is there;
//   Cancel      the client no longer wants it (its owner calls CancelLocked): answer nothing.
// Whichever comes first decides: the phase turns kAnswered, AnswerLocked runs at most once
// and the others do nothing.
//
// Reads are asynchronous (ChatState answers through a callback, at once or later from the
// store's thread) and one is in flight at a time: a wake or a deadline arriving meanwhile
// marks the read stale (kReadingStale) and its answer is replaced by a fresh read.
//
// Phases (under mu_):
//   kIdle         not begun, or between a wake taking it off the queue and its next read
//   kReading      a read is in flight --its answer--> kParked, kAnswered, or a new read
//   kReadingStale a read is in flight and something changed since: its answer is dropped
//                 (and a waiter it parked unparked) and it reads again
//   kParked       parked on the queue --Wake (the chat state took it)--> kIdle --> kReading
//   kAnswered     answered or cancelled, for good (a read still in flight is then ignored)
//
// Ownership: the subclass is made by std::make_shared; the chat state holds a reference while
// it is parked, PollDeadlines one while its wait is scheduled, a read in flight one. Locks:
// mu_ is taken before the chat state's and PollDeadlines' mutexes, and before whatever
// AnswerLocked takes; it is released while a read is handed to the chat state, so whoever
// calls a *Locked method that reads must hold a reference to the poll.
class PollRead : public PollWaiter,
                 public PollDeadlines::Target,
                 public std::enable_shared_from_this<PollRead> {
 public:
  ~PollRead() override = default;
  PollRead(const PollRead&) = delete;
  PollRead& operator=(const PollRead&) = delete;

  void Wake(absl::Time changed_at) override;
  void OnDeadline() override;

 protected:
  explicit PollRead(const PollReadBinding& binding) : binding_(binding) {}

  // Starts the poll of `request_`: the client gives up at `client_deadline`
  // (absl::InfiniteFuture() if never), so the wait ends deadline_margin before it.
  void BeginLocked(absl::Time client_deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the poll without an answer: unparks it and drops its deadline. Idempotent.
  void CancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The wait passed: unparks and answers with what is there (used by OnDeadline).
  void DeadlinePassedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The answer, once: `outcome` when `status` is OK (its read and presence may be moved
  // from). Runs with mu_ held, on whichever thread decided.
  virtual void AnswerLocked(const grpc::Status& status, ReadOutcome* outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;

  bool answered() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return phase_ == Phase::kAnswered; }

  const PollReadBinding binding_;
  absl::Mutex mu_;
  v1::PollRequest request_;  // set before BeginLocked, then read only

 private:
  // Reads the queue (or marks the read in flight stale). Releases mu_ while the read is handed
  // to the chat state.
  void RequestReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A read's answer: answers the poll, parks it, or reads again.
  void OnRead(absl::StatusOr<ReadOutcome> outcome);
  ReadInput MakeReadInputLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status, ReadOutcome* outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelDeadlineLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  enum class Phase { kIdle, kReading, kReadingStale, kParked, kAnswered };
  // Ends the poll for good: unparks it and drops its deadline.
  void EndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kIdle;
  PollDeadlines::Handle deadline_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none scheduled
  bool parked_before_ ABSL_GUARDED_BY(mu_) = false;  // a drain then answers OK, not UNAVAILABLE
  bool wait_over_ ABSL_GUARDED_BY(mu_) = false;      // the deadline passed: never park again
  absl::Time wait_deadline_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // of the queue first read
  // The earliest store change that woke it, for the wake-lag metric (none: InfiniteFuture).
  absl::Time changed_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_POLL_READ_H_
