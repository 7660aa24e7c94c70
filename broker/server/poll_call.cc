#include "broker/server/poll_call.h"

#include <chrono>
#include <utility>

#include "broker/server/proto_conversion.h"

namespace parley::broker {

void PollCall::Start(const PollCallBinding& binding) {
  auto call = std::make_shared<PollCall>(binding);
  absl::MutexLock lock(&call->mu_);
  // Must be asked for before the request; see ServerCallTags.
  call->context_.AsyncNotifyWhenDone(&call->done_tag_);
  const bool requested = binding.read.gate->RunIfOpen([&] {
    binding.service->RequestPoll(&call->context_, &call->request_, &call->responder_, binding.cq,
                                 binding.cq, &call->requested_tag_);
  });
  if (requested) call->tags_.Requested(call);
}

PollCall::PollCall(const PollCallBinding& binding)
    : PollRead(binding.read), call_binding_(binding), responder_(&context_) {
  call_binding_.live_calls->fetch_add(1);
}

PollCall::~PollCall() {
  if (tags_.matched()) call_binding_.in_flight->Done();
  call_binding_.live_calls->fetch_sub(1);
}

void PollCall::OnEvent(Event event, bool ok) {
  // BeginLocked releases mu_ while it reads; another tag may meanwhile drop self_.
  const std::shared_ptr<PollRead> keep_alive = shared_from_this();
  std::shared_ptr<PollCall> last_reference;  // dropped after the lock below is released
  absl::MutexLock lock(&mu_);
  switch (event) {
    case Event::kRequested:
      tags_.RequestReturned(ok);
      if (!ok) break;
      call_binding_.in_flight->Add();
      Start(call_binding_);  // keep one call waiting for the next Poll
      if (tags_.done_returned()) {
        CancelLocked();  // the client left before we saw its request
      } else {
        BeginLocked(ClientDeadline());
      }
      break;
    case Event::kDone:
      tags_.DoneReturned();
      if (tags_.matched() && !answered() && context_.IsCancelled()) CancelLocked();
      break;
    case Event::kFinished:
      tags_.Returned(Op::kFinish);
      break;
  }
  last_reference = tags_.ReleaseIfAllBack();
}

void PollCall::OnDeadline() {
  std::shared_ptr<PollCall> last_reference;  // dropped after the lock below is released
  absl::MutexLock lock(&mu_);
  DeadlinePassedLocked();
  last_reference = tags_.ReleaseIfAllBack();
}

absl::Time PollCall::ClientDeadline() const {
  const auto deadline = context_.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

void PollCall::AnswerLocked(const grpc::Status& status, ReadOutcome* outcome) {
  call_binding_.metrics->CountRpc("Poll", status.error_code());
  if (status.ok()) ToProto(*outcome, &response_);
  tags_.Started(Op::kFinish, binding_.gate->RunIfOpen([&] {
    if (status.ok()) {
      responder_.Finish(response_, status, &finished_tag_);
    } else {
      responder_.FinishWithError(status, &finished_tag_);
    }
  }));
}

}  // namespace parley::broker
