#include "broker/server/health_service.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/server/completion_tag.h"
#include "broker/server/server_call_tags.h"

namespace parley::broker {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr int kChecksPerQueue = 2;  // requests kept open; probes come one at a time
constexpr int kWatchesPerQueue = 1;

}  // namespace

// One Watch RPC.
//   kAwaitingRequest --request, ok--> kWatching (registered with the service)
//   kAwaitingRequest --request, !ok (the server is shutting down)--> kOver
//   kWatching: writes the latest status not yet sent, one write at a time
//   kWatching --done (the client left, or Shutdown cancelled the call)--> kFinishing:
//             Finish once no write is out --finish tag--> kOver
// Tags and ownership: ServerCallTags; the service holds only a weak reference. Threads: tags
// on the queue's thread; Send from whichever thread set a status.
class HealthService::WatchCall final : public std::enable_shared_from_this<WatchCall> {
 public:
  WatchCall(HealthService* health, grpc::ServerCompletionQueue* cq)
      : health_(health), cq_(cq), writer_(&context_) {}

  static void Start(HealthService* health, grpc::ServerCompletionQueue* cq) {
    auto call = std::make_shared<WatchCall>(health, cq);
    absl::MutexLock lock(&call->mu_);
    // Must be asked for before the request; see ServerCallTags.
    call->context_.AsyncNotifyWhenDone(&call->done_tag_);
    const bool requested = health->gate_->RunIfOpen([&] {
      health->service_.RequestWatch(&call->context_, &call->request_, &call->writer_, cq, cq,
                                    &call->requested_tag_);
    });
    if (requested) call->tags_.Requested(call);
  }

  // The watched name (fixed once the request matched).
  const std::string& name() const { return request_.service(); }

  // The watched status is now `status`. With the service's mutex held.
  void Send(ServingStatus status) {
    absl::MutexLock lock(&mu_);
    latest_ = status;
    WriteLocked();
  }

 private:
  enum class Phase { kAwaitingRequest, kWatching, kFinishing, kOver };
  enum class Event { kRequested, kWritten, kDone, kFinished };

  using EventTag = broker::EventTag<WatchCall, Event>;
  friend EventTag;

  void OnEvent(Event event, bool ok) {
    // Registered and unregistered without mu_: the service's lock comes first.
    if (event == Event::kRequested && ok) {
      Start(health_, cq_);  // keep one call waiting for the next watch
      {
        absl::MutexLock lock(&mu_);
        tags_.RequestReturned(true);
        phase_ = Phase::kWatching;
      }
      health_->AddWatcher(shared_from_this());
    }
    if (event == Event::kDone) health_->RemoveWatcher(this);
    std::shared_ptr<WatchCall> last_reference;  // dropped after the lock is released
    absl::MutexLock lock(&mu_);
    switch (event) {
      case Event::kRequested:
        if (!ok) {
          tags_.RequestReturned(false);
          phase_ = Phase::kOver;
        }
        break;
      case Event::kWritten:
        tags_.Returned(Op::kWrite);
        if (phase_ == Phase::kFinishing) {
          FinishLocked();
        } else if (ok) {
          WriteLocked();
        }  // else the stream broke: the done tag follows
        break;
      case Event::kDone:
        tags_.DoneReturned();
        phase_ = Phase::kFinishing;
        if (!tags_.outstanding(Op::kWrite)) FinishLocked();
        break;
      case Event::kFinished:
        tags_.Returned(Op::kFinish);
        phase_ = Phase::kOver;
        break;
    }
    last_reference = tags_.ReleaseIfAllBack();
  }

  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (phase_ != Phase::kWatching || tags_.outstanding(Op::kWrite)) return;
    if (!latest_.has_value() || latest_ == sent_) return;
    out_.set_status(*latest_);
    sent_ = latest_;
    tags_.Started(Op::kWrite,
                  health_->gate_->RunIfOpen([&] { writer_.Write(out_, &written_tag_); }));
  }

  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const grpc::Status status(grpc::StatusCode::CANCELLED, "the watch ended");
    const bool started = health_->gate_->RunIfOpen([&] { writer_.Finish(status, &finished_tag_); });
    tags_.Started(Op::kFinish, started);
    if (!started) phase_ = Phase::kOver;
  }

  using Op = ServerCallTags<WatchCall>::Op;

  HealthService* const health_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  HealthCheckRequest request_;
  grpc::ServerAsyncWriter<HealthCheckResponse> writer_;
  HealthCheckResponse out_;  // while a write is out
  EventTag requested_tag_{this, Event::kRequested};
  EventTag written_tag_{this, Event::kWritten};
  EventTag done_tag_{this, Event::kDone};
  EventTag finished_tag_{this, Event::kFinished};

  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kAwaitingRequest;
  ServerCallTags<WatchCall> tags_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> latest_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> sent_ ABSL_GUARDED_BY(mu_);
};

HealthService::HealthService(CompletionQueueGate* gate, InFlightCalls* in_flight)
    : gate_(gate),
      in_flight_(in_flight),
      check_([this](const HealthCheckRequest& request, HealthCheckResponse* response,
                    GrpcDone done) { Check(request, response, std::move(done)); }) {}

HealthService::~HealthService() = default;

void HealthService::StartCalls(grpc::ServerCompletionQueue* cq) {
  for (int i = 0; i < kChecksPerQueue; ++i) {
    StartUnaryCall(&service_, cq, gate_, in_flight_, &Health::AsyncService::RequestCheck, &check_);
  }
  for (int i = 0; i < kWatchesPerQueue; ++i) WatchCall::Start(this, cq);
}

void HealthService::SetServing(const std::string& name, bool serving) {
  const ServingStatus status =
      serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  absl::MutexLock lock(&mu_);
  statuses_[name] = status;
  for (auto& [raw, weak] : watchers_) {
    if (raw->name() != name) continue;
    if (std::shared_ptr<WatchCall> watch = weak.lock()) watch->Send(status);
  }
}

void HealthService::Check(const HealthCheckRequest& request, HealthCheckResponse* response,
                          GrpcDone done) {
  ServingStatus status;
  {
    absl::ReaderMutexLock lock(&mu_);
    status = StatusLocked(request.service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    std::move(done)(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("unknown service '", request.service(), "'")));
    return;
  }
  response->set_status(status);
  std::move(done)(grpc::Status::OK);
}

void HealthService::AddWatcher(const std::shared_ptr<WatchCall>& watch) {
  absl::MutexLock lock(&mu_);
  watchers_.emplace(watch.get(), watch);
  watch->Send(StatusLocked(watch->name()));
}

void HealthService::RemoveWatcher(WatchCall* watch) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watch);
}

HealthService::ServingStatus HealthService::StatusLocked(const std::string& name) const {
  auto it = statuses_.find(name);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

}  // namespace parley::broker
