#ifndef PARLEY_BROKER_SERVER_STATUS_MAPPING_H_
#define PARLEY_BROKER_SERVER_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace parley::broker {

// The one place where the chat logic's absl::Status becomes a gRPC status. The canonical codes
// are the same numbers in both; the message is kept as is; a reason (chat_errors.h WithReason)
// becomes the status's details (common/grpc_error_reason.h).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_STATUS_MAPPING_H_
