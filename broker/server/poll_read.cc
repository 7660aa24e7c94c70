#include "broker/server/poll_read.h"

#include <algorithm>
#include <utility>

#include "broker/server/status_mapping.h"

namespace parley::broker {

void PollRead::Wake(absl::Time changed_at) {
  absl::MutexLock lock(&mu_);
  if (phase_ == Phase::kAnswered) return;  // the deadline or a cancellation came first
  // The chat state took the waiter to wake it. (A read in flight may have parked it and not
  // be back yet: that read is then stale.)
  if (phase_ == Phase::kParked) phase_ = Phase::kIdle;
  if (changed_at != absl::InfinitePast()) changed_at_ = std::min(changed_at_, changed_at);
  RequestReadLocked();
}

void PollRead::OnDeadline() {
  absl::MutexLock lock(&mu_);
  DeadlinePassedLocked();
}

void PollRead::DeadlinePassedLocked() {
  deadline_ = 0;
  if (phase_ == Phase::kAnswered) return;
  wait_over_ = true;
  // If a Wake is racing us, Unpark fails and the read below still returns what woke it; the
  // Wake then finds the poll answered.
  if (phase_ == Phase::kParked) {
    binding_.state->Unpark(request_.user(), this);
    phase_ = Phase::kIdle;
  }
  RequestReadLocked();
}

void PollRead::BeginLocked(absl::Time client_deadline) {
  const absl::Duration wait = std::min(absl::Milliseconds(request_.wait_ms()), binding_.max_wait);
  wait_deadline_ = std::min(absl::Now() + wait, client_deadline - binding_.deadline_margin);
  epoch_ = request_.epoch();
  RequestReadLocked();
}

ReadInput PollRead::MakeReadInputLocked() const {
  ReadInput input;
  input.user = request_.user();
  input.cursor = request_.cursor();
  input.max_messages = request_.max_messages();
  input.consume = request_.consume();
  input.epoch = epoch_;
  input.watch_presence = request_.watch_presence();
  input.presence_versions.insert(request_.presence_versions().begin(),
                                 request_.presence_versions().end());
  return input;
}

void PollRead::RequestReadLocked() {
  if (phase_ == Phase::kReading || phase_ == Phase::kReadingStale) {
    phase_ = Phase::kReadingStale;
    return;
  }
  phase_ = Phase::kReading;
  const ReadInput input = MakeReadInputLocked();
  const bool park = !wait_over_ && wait_deadline_ > absl::Now();
  std::shared_ptr<PollRead> self = shared_from_this();
  std::shared_ptr<PollWaiter> waiter = park ? self : nullptr;
  // The chat state may answer on this thread before ReadOrPark returns.
  mu_.Unlock();
  binding_.state->ReadOrPark(input, std::move(waiter),
                             [self = std::move(self)](absl::StatusOr<ReadOutcome> outcome) {
                               self->OnRead(std::move(outcome));
                             });
  mu_.Lock();
}

void PollRead::OnRead(absl::StatusOr<ReadOutcome> outcome) {
  absl::MutexLock lock(&mu_);
  const bool parked = outcome.ok() && outcome->parked;
  // It was parked, even if a wake already took it: a drain that wakes it answers OK, empty.
  if (parked) parked_before_ = true;
  if (phase_ != Phase::kReading) {
    // Answered meanwhile, or woken (or timed out) while this read was in flight: a waiter it
    // parked is not wanted any more (or already taken), and its answer may be out of date.
    if (parked) binding_.state->Unpark(request_.user(), this);
    if (phase_ == Phase::kReadingStale) {
      phase_ = Phase::kIdle;
      RequestReadLocked();
    }
    return;
  }
  if (!outcome.ok()) {
    FinishLocked(ToGrpcStatus(outcome.status()), nullptr);
    return;
  }
  epoch_ = outcome->epoch;
  if (parked) {
    phase_ = Phase::kParked;
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
  if (outcome != nullptr && !outcome->read.messages.empty() &&
      changed_at_ != absl::InfiniteFuture() && binding_.wake_lag_seconds != nullptr) {
    binding_.wake_lag_seconds->Observe(
        std::max(0.0, absl::ToDoubleSeconds(absl::Now() - changed_at_)));
  }
  EndLocked();
  AnswerLocked(status, outcome);
}

void PollRead::CancelLocked() { EndLocked(); }

void PollRead::EndLocked() {
  if (phase_ == Phase::kParked) binding_.state->Unpark(request_.user(), this);
  phase_ = Phase::kAnswered;
  CancelDeadlineLocked();
}

void PollRead::CancelDeadlineLocked() {
  if (deadline_ == 0) return;
  binding_.deadlines->Cancel(deadline_);
  deadline_ = 0;
}

}  // namespace parley::broker
