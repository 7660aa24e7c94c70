#include "broker/server/poll_stream_call.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "broker/core/answer_batch.h"
#include "broker/core/chat_errors.h"
#include "broker/server/proto_conversion.h"
#include "broker/server/status_mapping.h"
#include "common/grpc_error_reason.h"

namespace parley::broker {

// One poll of the stream: a PollRead whose answer goes into the stream's next write.
class PollStreamCall::StreamPoll final : public PollRead {
 public:
  StreamPoll(const PollReadBinding& binding, std::shared_ptr<PollStreamCall> stream, uint64_t id,
             v1::PollRequest request)
      : PollRead(binding), stream_(std::move(stream)), id_(id) {
    request_ = std::move(request);
  }

  void Begin(absl::Time client_deadline) {
    absl::MutexLock lock(&mu_);
    BeginLocked(client_deadline);
  }
  void Cancel() {
    absl::MutexLock lock(&mu_);
    if (!answered()) CancelLocked();
  }

 private:
  void AnswerLocked(const grpc::Status& status, ReadOutcome* outcome) override {
    stream_->OnAnswer(id_, status, outcome);
  }

  const std::shared_ptr<PollStreamCall> stream_;
  const uint64_t id_;
};

void PollStreamCall::Start(const PollStreamBinding& binding) {
  auto call = std::make_shared<PollStreamCall>(binding);
  absl::MutexLock lock(&call->mu_);
  call->context_.AsyncNotifyWhenDone(&call->done_tag_);
  const bool requested = binding.read.gate->RunIfOpen([&] {
    binding.service->RequestPollStream(&call->context_, &call->stream_, binding.cq, binding.cq,
                                       &call->requested_tag_);
  });
  if (requested) call->tags_.Requested(call);
}

PollStreamCall::PollStreamCall(const PollStreamBinding& binding)
    : binding_(binding), stream_(&context_) {
  binding_.live_calls->fetch_add(1);
}

PollStreamCall::~PollStreamCall() {
  if (tags_.matched()) {
    binding_.registry->Remove(this);
    binding_.in_flight->Done();
  }
  binding_.live_calls->fetch_sub(1);
}

void PollStreamCall::OnEvent(Event event, bool ok) {
  if (event == Event::kRead) {
    OnRead(ok);
    ReleaseIfDone();
    return;
  }
  std::vector<std::shared_ptr<StreamPoll>> cancelled;
  {
    absl::MutexLock lock(&mu_);
    switch (event) {
      case Event::kRequested:
        tags_.RequestReturned(ok);
        if (!ok) break;
        binding_.in_flight->Add();
        binding_.registry->Add(this, weak_from_this());
        Start(binding_);  // keep one call waiting for the next stream
        phase_ = binding_.read.state->draining() ? Phase::kDraining : Phase::kOpen;
        StartReadLocked();
        break;
      case Event::kWrite:
        tags_.Returned(Op::kWrite);
        if (!ok) write_failed_ = true;  // the stream broke; the read fails too
        if (read_side_ == ReadSide::kPaused && answers_.size() < binding_.max_polls) {
          read_side_ = ReadSide::kReading;
          StartReadLocked();
        }
        break;
      case Event::kDone:
        tags_.DoneReturned();
        if (context_.IsCancelled()) cancelled = TakePollsLocked();
        break;
      case Event::kFinished:
        tags_.Returned(Op::kFinish);
        break;
      case Event::kRead:
        break;
    }
  }
  for (const auto& poll : cancelled) poll->Cancel();
  Flush();
  ReleaseIfDone();
}

void PollStreamCall::OnRead(bool ok) {
  std::vector<std::shared_ptr<StreamPoll>> begun;
  std::vector<absl::Time> deadlines;
  std::vector<std::shared_ptr<StreamPoll>> cancelled;
  {
    absl::MutexLock lock(&mu_);
    tags_.Returned(Op::kRead);
    if (!ok) {
      // The client sends no more: half-closed (grpcurl does, then waits for its answers) or
      // gone (then the done tag cancels the polls).
      read_side_ = ReadSide::kClosed;
    } else {
      for (uint64_t id : incoming_.cancel()) {
        auto it = polls_.find(id);
        if (it == polls_.end()) continue;  // answered already
        cancelled.push_back(std::move(it->second));
        polls_.erase(it);
      }
      const absl::Time now = absl::Now();
      for (v1::StreamPoll& poll : *incoming_.mutable_polls()) {
        grpc::Status refusal;
        if (polls_.contains(poll.id())) {
          refusal = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 absl::StrCat("poll id ", poll.id(), " is already in flight"));
        } else if (BacklogLocked() >= binding_.max_polls) {
          refusal = ToGrpcStatus(
              WithReason(absl::ResourceExhaustedError(absl::StrCat(
                             "more than ", binding_.max_polls, " polls in flight on this stream")),
                         kReasonTooManyPolls));
        }
        if (!refusal.ok()) {
          binding_.metrics->CountRpc("PollStream", refusal.error_code());
          answers_.push_back(Answer{poll.id(), std::move(refusal), {}});
          continue;
        }
        auto stream_poll = std::make_shared<StreamPoll>(
            binding_.read, shared_from_this(), poll.id(), std::move(*poll.mutable_request()));
        polls_.emplace(poll.id(), stream_poll);
        begun.push_back(std::move(stream_poll));
        deadlines.push_back(poll.deadline_ms() == 0 ? absl::InfiniteFuture()
                                                    : now + absl::Milliseconds(poll.deadline_ms()));
      }
      incoming_.Clear();
    }
  }
  // Without mu_: a poll that answers at once calls OnAnswer.
  for (size_t i = 0; i < begun.size(); ++i) begun[i]->Begin(deadlines[i]);
  for (const auto& poll : cancelled) poll->Cancel();
  if (ok) {
    absl::MutexLock lock(&mu_);
    if (answers_.size() < binding_.max_polls) {
      StartReadLocked();
    } else {
      read_side_ = ReadSide::kPaused;
      binding_.metrics->CountStreamReadPause();
    }
  }
  Flush();
}

void PollStreamCall::OnAnswer(uint64_t id, const grpc::Status& status, ReadOutcome* outcome) {
  {
    absl::MutexLock lock(&mu_);
    // Dropping the map's reference does not free the poll: its caller holds another.
    if (polls_.erase(id) == 0) return;  // cancelled meanwhile: nobody wants the answer
    binding_.metrics->CountRpc("PollStream", status.error_code());
    Answer answer{id, status, {}};
    if (status.ok()) answer.outcome = std::move(*outcome);
    answers_.push_back(std::move(answer));
  }
  // In a burst (AnswerBatch), the stream writes once, after the last answer.
  if (!AnswerBatch::Defer(this, [self = shared_from_this()] { self->Flush(); })) Flush();
}

void PollStreamCall::Drain() {
  {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kOpen) phase_ = Phase::kDraining;
  }
  Flush();
}

void PollStreamCall::Flush() {
  std::vector<Answer> batch;
  {
    absl::MutexLock lock(&mu_);
    if (tags_.outstanding(Op::kWrite) || phase_ == Phase::kFinishing || !tags_.matched()) return;
    if (answers_.empty() || write_failed_) {
      MaybeFinishLocked();
      return;
    }
    tags_.Claim(Op::kWrite);  // so nobody else builds outgoing_ meanwhile
    batch.swap(answers_);
  }
  BuildResponse(batch);  // outgoing_ is ours while the write is claimed
  absl::MutexLock lock(&mu_);
  if (!binding_.read.gate->RunIfOpen([&] { stream_.Write(outgoing_, &write_tag_); })) {
    tags_.Returned(Op::kWrite);  // the broker is stopping: never started
  }
}

void PollStreamCall::BuildResponse(std::vector<Answer>& batch) {
  outgoing_.Clear();
  // Each message once per write, however many answers carry it.
  absl::flat_hash_map<const Message*, uint32_t> index_of;
  for (Answer& answer : batch) {
    v1::StreamPollAnswer* out = outgoing_.add_answers();
    out->set_id(answer.id);
    if (!answer.status.ok()) {
      out->set_code(answer.status.error_code());
      out->set_error(answer.status.error_message());
      out->set_reason(ReasonOf(answer.status));
      continue;
    }
    for (const SequencedMessage& message : answer.outcome.read.messages) {
      auto [it, inserted] =
          index_of.try_emplace(message.message.get(), static_cast<uint32_t>(index_of.size()));
      if (inserted) ToProto(*message.message, 0, outgoing_.add_messages());
      out->add_message_index(it->second);
      out->add_seq(message.seq);
    }
    ToProtoWithoutMessages(answer.outcome, out->mutable_response());
  }
}

void PollStreamCall::StartReadLocked() {
  if (tags_.outstanding(Op::kRead) || read_side_ != ReadSide::kReading) return;
  if (phase_ == Phase::kFinishing) return;
  tags_.Started(Op::kRead,
                binding_.read.gate->RunIfOpen([&] { stream_.Read(&incoming_, &read_tag_); }));
}

void PollStreamCall::MaybeFinishLocked() {
  if (phase_ == Phase::kFinishing || tags_.outstanding(Op::kWrite) || !answers_.empty()) return;
  const bool draining = phase_ == Phase::kDraining;
  const bool over = (read_side_ == ReadSide::kClosed || draining) && polls_.empty();
  if (!over && !write_failed_ && !tags_.done_returned()) return;
  phase_ = Phase::kFinishing;
  const grpc::Status status =
      draining ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the broker is shutting down")
               : grpc::Status::OK;
  tags_.Started(Op::kFinish,
                binding_.read.gate->RunIfOpen([&] { stream_.Finish(status, &finished_tag_); }));
}

std::vector<std::shared_ptr<PollStreamCall::StreamPoll>> PollStreamCall::TakePollsLocked() {
  std::vector<std::shared_ptr<StreamPoll>> taken;
  taken.reserve(polls_.size());
  for (auto& [id, poll] : polls_) taken.push_back(std::move(poll));
  polls_.clear();
  return taken;
}

void PollStreamCall::ReleaseIfDone() {
  std::shared_ptr<PollStreamCall> last_reference;  // dropped after the lock is released
  absl::MutexLock lock(&mu_);
  last_reference = tags_.ReleaseIfAllBack();
}

}  // namespace parley::broker
