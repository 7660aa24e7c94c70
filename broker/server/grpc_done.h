#ifndef PARLEY_BROKER_SERVER_GRPC_DONE_H_
#define PARLEY_BROKER_SERVER_GRPC_DONE_H_

#include <grpcpp/support/status.h>

#include "absl/functional/any_invocable.h"

namespace parley::broker {

// How an RPC handler answers: runs once with the call's status, after the response is filled,
// on whichever thread the chat logic answered from.
using GrpcDone = absl::AnyInvocable<void(grpc::Status) &&>;

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_GRPC_DONE_H_
