#ifndef PARLEY_BROKER_SERVER_POLL_CALL_H_
#define PARLEY_BROKER_SERVER_POLL_CALL_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/chat_state.h"
#include "broker/core/poll_waiter.h"
#include "broker/server/broker_metrics.h"
#include "broker/server/completion_queue_gate.h"
#include "broker/server/completion_tag.h"
#include "broker/server/in_flight_calls.h"
#include "broker/server/poll_deadlines.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::broker {

// What every PollCall needs; everything here outlives every call.
struct PollCallBinding {
  parley::v1::Broker::AsyncService* service;
  grpc::ServerCompletionQueue* cq;
  CompletionQueueGate* gate;
  ChatState* state;
  absl::Duration max_wait;         // longest a poll parks
  absl::Duration deadline_margin;  // answer this long before the client's deadline
  std::atomic<int64_t>* live_calls;
  InFlightCalls* in_flight;
  BrokerMetrics* metrics;
  PollDeadlines* deadlines;  // ends parked waits
};

// One in-flight Poll RPC. When the user's queue has nothing after the cursor, the call parks
// itself on the queue (as a PollWaiter) and holds no thread until one of these ends the wait:
//   Wake()      a message arrived, the user left, or the broker drains: read again, answer
//               (or park again if a concurrent consumer took the message);
//   OnDeadline  the wait passed (PollDeadlines' thread): answer OK with what is there;
//   done tag    the client cancelled or went away: unpark, answer nothing.
// Whichever comes first answers; `finish_started_` (under mu_) makes sure the call is finished
// exactly once and the others do nothing.
//
// Tags, each a member EventTag, and when each comes back:
//   requested  always, once (ok=false: no call came, the server is shutting down; the done
//              tag is then never delivered, gRPC issue #10136);
//   done       once, if the request succeeded; possibly before the finish tag;
//   finished   once, if Finish was started.
// Ownership: the call holds a reference to itself (`self_`) from Start until every tag it
// started has come back; the chat state holds another while it is parked, and PollDeadlines
// one while its wait is scheduled. The last reference to go deletes it, on whichever thread
// that is. Locks: mu_ is taken before the chat state's and PollDeadlines' mutexes, never
// after.
class PollCall final : public PollWaiter,
                       public PollDeadlines::Target,
                       public std::enable_shared_from_this<PollCall> {
 public:
  // Creates a call object and asks gRPC for the next Poll on binding.cq.
  static void Start(const PollCallBinding& binding);

  explicit PollCall(const PollCallBinding& binding);  // use Start
  ~PollCall() override;
  PollCall(const PollCall&) = delete;
  PollCall& operator=(const PollCall&) = delete;

  void Wake() override;
  void OnDeadline() override;

 private:
  enum class Event { kRequested, kDone, kFinished };

  class EventTag final : public CompletionTag {
   public:
    EventTag(PollCall* call, Event event) : call_(call), event_(event) {}
    void OnCompletion(bool ok) override { call_->OnEvent(event_, ok); }

   private:
    PollCall* const call_;
    const Event event_;
  };

  void OnEvent(Event event, bool ok);
  void OnRequestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the queue and answers, or parks (only if `may_park` and the wait has not passed).
  void ReadAndAnswerLocked(bool may_park) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelDeadlineLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AllTagsBackLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time WaitDeadline() const;

  const PollCallBinding binding_;
  grpc::ServerContext context_;
  parley::v1::PollRequest request_;
  parley::v1::PollResponse response_;
  grpc::ServerAsyncResponseWriter<parley::v1::PollResponse> responder_;
  EventTag requested_tag_{this, Event::kRequested};
  EventTag done_tag_{this, Event::kDone};
  EventTag finished_tag_{this, Event::kFinished};

  absl::Mutex mu_;
  std::shared_ptr<PollCall> self_ ABSL_GUARDED_BY(mu_);
  bool awaiting_request_ ABSL_GUARDED_BY(mu_) = false;
  bool request_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool done_received_ ABSL_GUARDED_BY(mu_) = false;
  PollDeadlines::Handle deadline_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none scheduled
  bool awaiting_finish_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  bool parked_before_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time wait_deadline_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // of the queue first read
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_POLL_CALL_H_
