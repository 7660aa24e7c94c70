#ifndef PARLEY_BROKER_SERVER_UNARY_CALL_H_
#define PARLEY_BROKER_SERVER_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include <functional>

#include "broker/server/completion_queue_gate.h"
#include "broker/server/completion_tag.h"
#include "broker/server/grpc_done.h"
#include "broker/server/in_flight_calls.h"

namespace parley::broker {

// How a unary RPC is handled: fill the response, then run the done, now or later.
template <typename Request, typename Response>
using UnaryHandler = std::function<void(const Request&, Response*, GrpcDone)>;

// One in-flight unary RPC (every RPC but the polls, and the health service's Check), on the
// async API of `Service` (a generated AsyncService).
//
// States and tags (the object itself is the only tag, one outstanding at a time):
//   kAwaitingRequest --request tag, ok--> run the handler --> kHandling
//   kAwaitingRequest --request tag, !ok (server shutting down)--> delete
//   kHandling --the handler's done: Finish--> kFinishing
//   kFinishing --finish tag--> delete
// On a matched request it first starts the next UnaryCall of its kind on the same queue.
// Owned by itself from Start until it deletes itself. The queue's thread runs the handler;
// its done may run on that thread before the handler returns or later on the store's thread,
// and no tag is outstanding meanwhile, so only one thread touches the call at a time.
template <typename Service, typename Request, typename Response>
class UnaryCall final : public CompletionTag {
 public:
  using RequestMethod = void (Service::*)(grpc::ServerContext*, Request*,
                                          grpc::ServerAsyncResponseWriter<Response>*,
                                          grpc::CompletionQueue*, grpc::ServerCompletionQueue*,
                                          void*);
  using Handler = UnaryHandler<Request, Response>;

  // What a call needs; everything here outlives every call.
  struct Binding {
    Service* service;
    grpc::ServerCompletionQueue* cq;
    CompletionQueueGate* gate;
    InFlightCalls* in_flight;
    RequestMethod request_method;
    const Handler* handler;
  };

  // Asks gRPC for the next call of this kind on binding.cq.
  static void Start(const Binding& binding) {
    auto* call = new UnaryCall(binding);
    const bool requested = binding.gate->RunIfOpen([&] {
      (binding.service->*binding.request_method)(&call->context_, &call->request_,
                                                 &call->responder_, binding.cq, binding.cq, call);
    });
    if (!requested) delete call;
  }

  void OnCompletion(bool ok) override {
    if (state_ == State::kFinishing || !ok) {
      delete this;
      return;
    }
    binding_.in_flight->Add();
    counted_ = true;
    Start(binding_);
    state_ = State::kHandling;
    // The handler may answer before it returns (Finish hands the answer to gRPC, which may
    // complete it on another thread): nothing of this call is touched after it.
    (*binding_.handler)(request_, &response_, [this](grpc::Status status) { Finish(status); });
  }

 private:
  enum class State { kAwaitingRequest, kHandling, kFinishing };

  void Finish(const grpc::Status& status) {
    state_ = State::kFinishing;
    const bool finishing = binding_.gate->RunIfOpen([&] {
      if (status.ok()) {
        responder_.Finish(response_, status, this);
      } else {
        responder_.FinishWithError(status, this);
      }
    });
    if (!finishing) delete this;
  }

  explicit UnaryCall(const Binding& binding) : binding_(binding), responder_(&context_) {}
  ~UnaryCall() {
    if (counted_) binding_.in_flight->Done();
  }

  const Binding binding_;
  State state_ = State::kAwaitingRequest;
  bool counted_ = false;  // the request matched: counted in binding_.in_flight
  grpc::ServerContext context_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> responder_;
};

// Starts a UnaryCall for the RPC whose Request method (of a generated AsyncService base) is
// `method`; deduces the message types from it.
template <typename Service, typename ServiceBase, typename Request, typename Response>
void StartUnaryCall(Service* service, grpc::ServerCompletionQueue* cq, CompletionQueueGate* gate,
                    InFlightCalls* in_flight,
                    void (ServiceBase::*method)(grpc::ServerContext*, Request*,
                                                grpc::ServerAsyncResponseWriter<Response>*,
                                                grpc::CompletionQueue*,
                                                grpc::ServerCompletionQueue*, void*),
                    const UnaryHandler<Request, Response>* handler) {
  UnaryCall<Service, Request, Response>::Start({service, cq, gate, in_flight, method, handler});
}

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_UNARY_CALL_H_
