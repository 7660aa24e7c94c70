#include "common/grpc_error_reason.h"

#include <utility>

#include "parley/v1/broker.pb.h"

namespace parley {
namespace {
// google.rpc.ErrorInfo's type URL: ErrorInfo is wire-identical to it.
constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr char kDomain[] = "parley.v1";
}  // namespace

grpc::Status GrpcStatusWithReason(grpc::StatusCode code, std::string message,
                                  absl::string_view reason) {
  if (reason.empty()) return grpc::Status(code, std::move(message));
  v1::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kDomain);
  v1::ErrorStatus details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  google::protobuf::Any* any = details.add_details();
  any->set_type_url(kErrorInfoUrl);
  any->set_value(info.SerializeAsString());
  return grpc::Status(code, std::move(message), details.SerializeAsString());
}

std::string ReasonOf(const grpc::Status& status) {
  if (status.error_details().empty()) return "";
  v1::ErrorStatus details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const google::protobuf::Any& any : details.details()) {
    v1::ErrorInfo info;
    if (any.type_url() == kErrorInfoUrl && info.ParseFromString(any.value())) return info.reason();
  }
  return "";
}

}  // namespace parley
