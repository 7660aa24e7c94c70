#ifndef PARLEY_BROKER_SERVER_UNARY_CALL_H_
#define PARLEY_BROKER_SERVER_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include <functional>

#include "broker/core/poll_waiter.h"
#include "broker/server/completion_queue_gate.h"
#include "broker/server/completion_tag.h"
#include "broker/server/in_flight_calls.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::broker {

// One in-flight unary RPC that is answered at once (every RPC but Poll), on the async API.
//
// States and tags (the object itself is the only tag, one outstanding at a time):
//   kAwaitingRequest --request tag, ok--> run the handler, Finish --> kFinishing
//   kAwaitingRequest --request tag, !ok (server shutting down)--> delete
//   kFinishing --finish tag--> delete
// On a matched request it first starts the next UnaryCall of its kind on the same queue.
// Owned by itself from Start until it deletes itself; touched only by its queue's thread.
template <typename Request, typename Response>
class UnaryCall final : public CompletionTag {
 public:
  using RequestMethod = void (parley::v1::Broker::AsyncService::*)(
      grpc::ServerContext*, Request*, grpc::ServerAsyncResponseWriter<Response>*,
      grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);
  using Handler = std::function<grpc::Status(const Request&, Response*)>;

  // What a call needs; everything here outlives every call.
  struct Binding {
    parley::v1::Broker::AsyncService* service;
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
    // Messages the handler delivers wake their parked polls only after this call's own
    // answer has been handed to gRPC.
    DeferredWakes wakes;
    const grpc::Status status = (*binding_.handler)(request_, &response_);
    state_ = State::kFinishing;
    const bool finishing = binding_.gate->RunIfOpen([&] {
      if (status.ok()) {
        responder_.Finish(response_, status, this);
      } else {
        responder_.FinishWithError(status, this);
      }
    });
    if (!finishing) delete this;
    wakes.RunNow();
  }

 private:
  enum class State { kAwaitingRequest, kFinishing };

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
template <typename ServiceBase, typename Request, typename Response>
void StartUnaryCall(parley::v1::Broker::AsyncService* service, grpc::ServerCompletionQueue* cq,
                    CompletionQueueGate* gate, InFlightCalls* in_flight,
                    void (ServiceBase::*method)(grpc::ServerContext*, Request*,
                                                grpc::ServerAsyncResponseWriter<Response>*,
                                                grpc::CompletionQueue*,
                                                grpc::ServerCompletionQueue*, void*),
                    const std::function<grpc::Status(const Request&, Response*)>* handler) {
  UnaryCall<Request, Response>::Start({service, cq, gate, in_flight, method, handler});
}

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_UNARY_CALL_H_
