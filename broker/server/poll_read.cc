#include "broker/server/poll_read.h"

#include <algorithm>

#include "broker/server/status_mapping.h"

namespace parley::broker {

void PollRead::Wake() {
  absl::MutexLock lock(&mu_);
  if (answered_) return;  // the deadline or a cancellation came first
  ReadAndAnswerLocked(/*may_park=*/true);
}

void PollRead::OnDeadline() {
  absl::MutexLock lock(&mu_);
  DeadlinePassedLocked();
}

void PollRead::DeadlinePassedLocked() {
  deadline_ = 0;
  if (answered_) return;
  // If a Wake is racing us, Unpark fails and the read below still returns what woke it; the
  // Wake then finds the poll answered.
  binding_.state->Unpark(request_.user(), this);
  ReadAndAnswerLocked(/*may_park=*/false);
}

void PollRead::BeginLocked(absl::Time client_deadline) {
  const absl::Duration wait = std::min(absl::Milliseconds(request_.wait_ms()), binding_.max_wait);
  wait_deadline_ = std::min(absl::Now() + wait, client_deadline - binding_.deadline_margin);
  epoch_ = request_.epoch();
  ReadAndAnswerLocked(/*may_park=*/true);
}

void PollRead::ReadAndAnswerLocked(bool may_park) {
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
    FinishLocked(ToGrpcStatus(outcome.status()), nullptr);
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
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the broker is shutting down"),
                 nullptr);
    return;
  }
  FinishLocked(grpc::Status::OK, &*outcome);
}

void PollRead::FinishLocked(const grpc::Status& status, ReadOutcome* outcome) {
  answered_ = true;
  CancelDeadlineLocked();
  AnswerLocked(status, outcome);
}

void PollRead::CancelLocked() {
  answered_ = true;
  binding_.state->Unpark(request_.user(), this);
  CancelDeadlineLocked();
}

void PollRead::CancelDeadlineLocked() {
  if (deadline_ == 0) return;
  binding_.deadlines->Cancel(deadline_);
  deadline_ = 0;
}

}  // namespace parley::broker
