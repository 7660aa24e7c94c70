#include "broker/server/poll_call.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "broker/server/proto_conversion.h"
#include "broker/server/status_mapping.h"

namespace parley::broker {

void PollCall::Start(const PollCallBinding& binding) {
  auto call = std::make_shared<PollCall>(binding);
  absl::MutexLock lock(&call->mu_);
  // Must be requested before the call starts; see the tag table in the header.
  call->context_.AsyncNotifyWhenDone(&call->done_tag_);
  const bool requested = binding.gate->RunIfOpen([&] {
    binding.service->RequestPoll(&call->context_, &call->request_, &call->responder_, binding.cq,
                                 binding.cq, &call->requested_tag_);
  });
  if (requested) {
    call->awaiting_request_ = true;
    call->self_ = call;
  }
}

PollCall::PollCall(const PollCallBinding& binding) : binding_(binding), responder_(&context_) {
  binding_.live_calls->fetch_add(1);
}

PollCall::~PollCall() {
  if (request_ok_) binding_.in_flight->Done();
  binding_.live_calls->fetch_sub(1);
}

void PollCall::OnEvent(Event event, bool ok) {
  std::shared_ptr<PollCall> last_reference;  // dropped after the lock below is released
  absl::MutexLock lock(&mu_);
  switch (event) {
    case Event::kRequested:
      awaiting_request_ = false;
      request_ok_ = ok;
      if (!ok) break;
      binding_.in_flight->Add();
      Start(binding_);  // keep one call waiting for the next Poll
      if (done_received_) {
        CancelLocked();  // the client left before we saw its request
      } else {
        OnRequestLocked();
      }
      break;
    case Event::kDone:
      done_received_ = true;
      if (!awaiting_request_ && !finish_started_ && context_.IsCancelled()) CancelLocked();
      break;
    case Event::kFinished:
      awaiting_finish_ = false;
      break;
  }
  if (AllTagsBackLocked()) last_reference = std::move(self_);
}

bool PollCall::AllTagsBackLocked() const {
  if (awaiting_request_ || awaiting_finish_) return false;
  return !request_ok_ || done_received_;
}

void PollCall::OnDeadline() {
  std::shared_ptr<PollCall> last_reference;  // dropped after the lock below is released
  absl::MutexLock lock(&mu_);
  deadline_ = 0;
  if (!finish_started_) {
    // The wait passed. If a Wake is racing us, Unpark fails and the read below still
    // returns what woke it; the Wake then finds the call finished.
    binding_.state->Unpark(request_.user(), this);
    ReadAndAnswerLocked(/*may_park=*/false);
  }
  if (AllTagsBackLocked()) last_reference = std::move(self_);
}

void PollCall::Wake() {
  absl::MutexLock lock(&mu_);
  if (finish_started_) return;  // the alarm or a cancellation answered first
  ReadAndAnswerLocked(/*may_park=*/true);
}

void PollCall::OnRequestLocked() {
  wait_deadline_ = WaitDeadline();
  epoch_ = request_.epoch();
  ReadAndAnswerLocked(/*may_park=*/true);
}

absl::Time PollCall::WaitDeadline() const {
  const absl::Duration wait = std::min(absl::Milliseconds(request_.wait_ms()), binding_.max_wait);
  absl::Time deadline = absl::Now() + wait;
  const auto client_deadline = context_.deadline();
  if (client_deadline != std::chrono::system_clock::time_point::max()) {
    deadline = std::min(deadline, absl::FromChrono(client_deadline) - binding_.deadline_margin);
  }
  return deadline;
}

void PollCall::ReadAndAnswerLocked(bool may_park) {
  ReadInput input;
  input.user = request_.user();
  input.cursor = request_.cursor();
  input.max_messages = request_.max_messages();
  input.consume = request_.consume();
  input.epoch = epoch_;
  input.watch_presence = request_.watch_presence();
  input.presence_versions.insert(request_.presence_versions().begin(),
                                 request_.presence_versions().end());
  const bool park = may_park && wait_deadline_ > absl::Now();
  absl::StatusOr<ReadOutcome> outcome =
      binding_.state->ReadOrPark(input, park ? shared_from_this() : nullptr);
  if (!outcome.ok()) {
    FinishLocked(ToGrpcStatus(outcome.status()));
    return;
  }
  epoch_ = outcome->epoch;
  if (outcome->parked) {
    parked_before_ = true;
    if (deadline_ != 0) return;  // parked again after a wake: the first deadline still runs
    const bool open = binding_.gate->RunIfOpen(
        [&] { deadline_ = binding_.deadlines->Add(wait_deadline_, shared_from_this()); });
    if (!open) CancelLocked();  // shutting down: nothing can be answered now
    return;
  }
  if (outcome->read.messages.empty() && outcome->draining && !parked_before_) {
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the broker is shutting down"));
    return;
  }
  for (const SequencedMessage& message : outcome->read.messages) {
    ToProto(*message.message, message.seq, response_.add_messages());
  }
  response_.set_cursor(outcome->read.cursor);
  response_.set_gap(outcome->read.gap);
  response_.set_epoch(outcome->epoch);
  for (const RoomPresenceInfo& room : outcome->presence) ToProto(room, response_.add_presence());
  FinishLocked(grpc::Status::OK);
}

void PollCall::FinishLocked(const grpc::Status& status) {
  finish_started_ = true;
  binding_.metrics->CountRpc("Poll", status.error_code());
  CancelDeadlineLocked();
  awaiting_finish_ = binding_.gate->RunIfOpen([&] {
    if (status.ok()) {
      responder_.Finish(response_, status, &finished_tag_);
    } else {
      responder_.FinishWithError(status, &finished_tag_);
    }
  });
}

void PollCall::CancelLocked() {
  finish_started_ = true;
  binding_.state->Unpark(request_.user(), this);
  CancelDeadlineLocked();
}

void PollCall::CancelDeadlineLocked() {
  if (deadline_ == 0) return;
  binding_.deadlines->Cancel(deadline_);
  deadline_ = 0;
}

}  // namespace parley::broker
