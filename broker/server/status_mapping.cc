#include "broker/server/status_mapping.h"

#include <string>

#include "broker/core/chat_errors.h"
#include "common/grpc_error_reason.h"

namespace parley::broker {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both follow google.rpc.Code.
  return GrpcStatusWithReason(static_cast<grpc::StatusCode>(status.code()),
                              std::string(status.message()), ErrorReason(status));
}

}  // namespace parley::broker
