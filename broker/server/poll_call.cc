#include "broker/server/poll_call.h"

#include <chrono>
#include <utility>

#include "broker/server/proto_conversion.h"

namespace parley::broker {

void PollCall::Start(const PollCallBinding& binding) {
  auto call = std::make_shared<PollCall>(binding);
  absl::MutexLock lock(&call->mu_);
  // Must be requested before the call starts; see the tag table in the header.
  call->context_.AsyncNotifyWhenDone(&call->done_tag_);
  const bool requested = binding.read.gate->RunIfOpen([&] {
    binding.service->RequestPoll(&call->context_, &call->request_, &call->responder_, binding.cq,
                                 binding.cq, &call->requested_tag_);
  });
  if (requested) {
    call->awaiting_request_ = true;
    call->self_ = call;
  }
}

PollCall::PollCall(const PollCallBinding& binding)
    : PollRead(binding.read), call_binding_(binding), responder_(&context_) {
  call_binding_.live_calls->fetch_add(1);
}

PollCall::~PollCall() {
  if (request_ok_) call_binding_.in_flight->Done();
  call_binding_.live_calls->fetch_sub(1);
}

void PollCall::OnEvent(Event event, bool ok) {
  // BeginLocked releases mu_ while it reads; another tag may meanwhile drop self_.
  const std::shared_ptr<PollRead> keep_alive = shared_from_this();
  std::shared_ptr<PollCall> last_reference;  // dropped after the lock below is released
  absl::MutexLock lock(&mu_);
  switch (event) {
    case Event::kRequested:
      awaiting_request_ = false;
      request_ok_ = ok;
      if (!ok) break;
      call_binding_.in_flight->Add();
      Start(call_binding_);  // keep one call waiting for the next Poll
      if (done_received_) {
        CancelLocked();  // the client left before we saw its request
      } else {
        BeginLocked(ClientDeadline());
      }
      break;
    case Event::kDone:
      done_received_ = true;
      if (!awaiting_request_ && !answered_ && context_.IsCancelled()) CancelLocked();
      break;
    case Event::kFinished:
      awaiting_finish_ = false;
      break;
  }
  if (AllTagsBackLocked()) last_reference = std::move(self_);
}

void PollCall::OnDeadline() {
  std::shared_ptr<PollCall> last_reference;  // dropped after the lock below is released
  absl::MutexLock lock(&mu_);
  DeadlinePassedLocked();
  if (AllTagsBackLocked()) last_reference = std::move(self_);
}

bool PollCall::AllTagsBackLocked() const {
  if (awaiting_request_ || awaiting_finish_) return false;
  return !request_ok_ || done_received_;
}

absl::Time PollCall::ClientDeadline() const {
  const auto deadline = context_.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

void PollCall::AnswerLocked(const grpc::Status& status, ReadOutcome* outcome) {
  call_binding_.metrics->CountRpc("Poll", status.error_code());
  if (status.ok()) ToProto(*outcome, &response_);
  awaiting_finish_ = binding_.gate->RunIfOpen([&] {
    if (status.ok()) {
      responder_.Finish(response_, status, &finished_tag_);
    } else {
      responder_.FinishWithError(status, &finished_tag_);
    }
  });
}

}  // namespace parley::broker
