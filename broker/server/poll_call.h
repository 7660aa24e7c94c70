#ifndef PARLEY_BROKER_SERVER_POLL_CALL_H_
#define PARLEY_BROKER_SERVER_POLL_CALL_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "broker/server/broker_metrics.h"
#include "broker/server/completion_tag.h"
#include "broker/server/in_flight_calls.h"
#include "broker/server/poll_read.h"
#include "broker/server/server_call_tags.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::broker {

// What every PollCall needs; everything here outlives every call.
struct PollCallBinding {
  parley::v1::Broker::AsyncService* service;
  grpc::ServerCompletionQueue* cq;
  PollReadBinding read;
  std::atomic<int64_t>* live_calls;
  InFlightCalls* in_flight;
  BrokerMetrics* metrics;
};

// One in-flight unary Poll RPC: a PollRead (which reads, parks and decides) answered with
// Finish. A client that cancels or goes away (the done tag) cancels the read.
//
// Tags (members; see ServerCallTags): requested, done, and finish once the poll is answered.
// Ownership: ServerCallTags' reference from Start until every tag it started has come back,
// besides those PollRead describes. The last reference to go deletes it, on whichever thread
// that is.
class PollCall final : public PollRead {
 public:
  // Creates a call object and asks gRPC for the next Poll on binding.cq.
  static void Start(const PollCallBinding& binding);

  explicit PollCall(const PollCallBinding& binding);  // use Start
  ~PollCall() override;

  void OnDeadline() override;

 private:
  enum class Event { kRequested, kDone, kFinished };
  using Op = ServerCallTags<PollCall>::Op;

  using EventTag = broker::EventTag<PollCall, Event>;
  friend EventTag;

  void OnEvent(Event event, bool ok);
  void AnswerLocked(const grpc::Status& status, ReadOutcome* outcome) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time ClientDeadline() const;

  const PollCallBinding call_binding_;
  grpc::ServerContext context_;
  parley::v1::PollResponse response_;
  grpc::ServerAsyncResponseWriter<parley::v1::PollResponse> responder_;
  EventTag requested_tag_{this, Event::kRequested};
  EventTag done_tag_{this, Event::kDone};
  EventTag finished_tag_{this, Event::kFinished};

  ServerCallTags<PollCall> tags_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_POLL_CALL_H_
