#ifndef PARLEY_COMMON_GRPC_ERROR_REASON_H_
#define PARLEY_COMMON_GRPC_ERROR_REASON_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/strings/string_view.h"

namespace parley {

// gRPC's richer error model as Parley uses it (broker.proto, ErrorStatus and ErrorInfo): a
// reason for the errors whose code has more than one meaning (RESOURCE_EXHAUSTED: a sender over
// its rate, a full store, a stream's bound), in the status's details. Both services encode and
// decode it here; each maps statuses in its own one place. Stateless, any thread.

// A status whose details carry `reason` (none when `reason` is empty).
grpc::Status GrpcStatusWithReason(grpc::StatusCode code, std::string message,
                                  absl::string_view reason);

// The reason a status's details carry, or "".
std::string ReasonOf(const grpc::Status& status);

}  // namespace parley

#endif  // PARLEY_COMMON_GRPC_ERROR_REASON_H_
