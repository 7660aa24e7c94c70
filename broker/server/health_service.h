#ifndef PARLEY_BROKER_SERVER_HEALTH_SERVICE_H_
#define PARLEY_BROKER_SERVER_HEALTH_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "broker/server/completion_queue_gate.h"
#include "broker/server/in_flight_calls.h"
#include "broker/server/unary_call.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace parley::broker {

// The standard gRPC health service (grpc.health.v1.Health: Check and Watch), served on the
// broker's own completion queues. gRPC's built-in one runs on the callback API, whose extra
// threads poll the same connections as the queue threads and hand completions across: about
// one syscall and half a context switch per delivery in bench/.
//
// Each named service is SERVING or NOT_SERVING; a name never set is unknown (Check:
// NOT_FOUND; Watch: SERVICE_UNKNOWN until it is set). Check answers at once; a Watch sends
// the current status, then each change (the latest one, if several come during one write).
// Watches are not counted in-flight: they last until the client leaves or the server's
// Shutdown cancels them.
//
// Thread-safety: SetServing from any thread; calls run on their queue's thread.
class HealthService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // `gate` and `in_flight` are the server's, and outlive this.
  HealthService(CompletionQueueGate* gate, InFlightCalls* in_flight);
  ~HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // To register with the server builder.
  grpc::Service* service() { return &service_; }
  // Asks for the first calls on `cq` (after the server is built).
  void StartCalls(grpc::ServerCompletionQueue* cq);
  // `name` "" is the server as a whole.
  void SetServing(const std::string& name, bool serving);

 private:
  class WatchCall;

  void Check(const grpc::health::v1::HealthCheckRequest& request,
             grpc::health::v1::HealthCheckResponse* response, GrpcDone done);
  // A watch whose request matched: sends it the status now and at each change.
  void AddWatcher(const std::shared_ptr<WatchCall>& watch);
  void RemoveWatcher(WatchCall* watch);
  ServingStatus StatusLocked(const std::string& name) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  CompletionQueueGate* const gate_;
  InFlightCalls* const in_flight_;
  grpc::health::v1::Health::AsyncService service_;
  const UnaryHandler<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>
      check_;

  // Taken before a WatchCall's own mutex, never after.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WatchCall*, std::weak_ptr<WatchCall>> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_HEALTH_SERVICE_H_
