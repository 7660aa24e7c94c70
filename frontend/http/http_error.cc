#include "frontend/http/http_error.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/error_code.h"
#include "common/grpc_error_reason.h"
#include "google/protobuf/util/json_util.h"
#include "parley/v1/http_api.pb.h"

namespace parley::frontend {
namespace {

struct Mapping {
  int status;
  const char* code;
};

// Indexed by google.rpc.Code, shared by gRPC and absl statuses, and the reason the broker
// gives where a code has more than one meaning (broker.proto, ErrorInfo).
Mapping MapCode(int code, absl::string_view reason) {
  switch (code) {
    case 3:   // INVALID_ARGUMENT
    case 11:  // OUT_OF_RANGE
      return {400, "invalid_argument"};
    case 16:  // UNAUTHENTICATED
      if (reason == "REVOKED") return {401, "token_revoked"};
      return {401, "unauthenticated"};
    case 7:  // PERMISSION_DENIED
      return {403, "forbidden"};
    case 5:  // NOT_FOUND
      return {404, "not_found"};
    case 6:  // ALREADY_EXISTS
      return {409, "already_exists"};
    case 9:  // FAILED_PRECONDITION
      if (reason == "HOLDER_CHANGED") return {409, "recipient_changed"};
      return {409, "failed_precondition"};
    case 8:  // RESOURCE_EXHAUSTED: only a sender over its rate is the client's doing
      if (reason == "STORE_FULL") return {503, "store_full"};
      if (reason == "TOO_MANY_POLLS") return {503, "too_many_polls"};
      return {429, "rate_limited"};
    case 12:  // UNIMPLEMENTED: a call this broker (or its store) does not offer
      return {501, "not_implemented"};
    case 14:  // UNAVAILABLE
    case 4:   // DEADLINE_EXCEEDED
    case 1:   // CANCELLED
      return {503, "unavailable"};
    default:
      return {500, "internal"};
  }
}

// Error messages may quote what the client sent; keep them printable ASCII (and one line) so
// the JSON is always valid and nothing odd is echoed back.
std::string Printable(absl::string_view text) {
  std::string out(text.substr(0, text.find('\n')));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7E) c = '?';
  }
  return out;
}

}  // namespace

HttpError FromGrpcStatus(const grpc::Status& status) {
  const Mapping mapping = MapCode(status.error_code(), ReasonOf(status));
  HttpError error{mapping.status, mapping.code, status.error_message()};
  if (mapping.status == 503) {
    if (mapping.code == std::string_view("unavailable")) {
      error.message = absl::StrCat("the chat broker is unavailable: ", status.error_message());
    }
    error.retry_after_seconds = 2;
  }
  if (mapping.status == 429) error.retry_after_seconds = 1;  // buckets refill every second
  return error;
}

HttpError FromStatus(const absl::Status& status) {
  const Mapping mapping = MapCode(static_cast<int>(status.code()), "");
  HttpError error{mapping.status, mapping.code, std::string(status.message())};
  if (std::optional<std::string> code = ErrorCodeOf(status)) error.code = std::move(*code);
  if (mapping.status == 503) error.retry_after_seconds = 2;
  if (mapping.status == 429) error.retry_after_seconds = 1;
  return error;
}

void WriteError(httplib::Response& response, const HttpError& error) {
  v1::ErrorBody body;
  body.mutable_error()->set_code(error.code);
  body.mutable_error()->set_message(Printable(error.message));
  if (error.retry_after_seconds > 0) {
    response.set_header("Retry-After", std::to_string(error.retry_after_seconds));
  }
  WriteJson(response, body, error.status);
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

void WriteJsonText(httplib::Response& response, std::string json, int status) {
  // As set_header and set_content would, without building the names and values anew.
  static const std::string kCacheControl = "Cache-Control";
  static const std::string kNoStore = "no-store";
  static const std::string kContentType = "Content-Type";
  static const std::string kJson = "application/json";
  response.status = status;
  response.headers.emplace(kCacheControl, kNoStore);
  response.headers.erase(kContentType);
  response.headers.emplace(kContentType, kJson);
  response.body = std::move(json);
}

void WriteJson(httplib::Response& response, const google::protobuf::Message& message, int status) {
  WriteJsonText(response, ToJson(message), status);
}

absl::Status ParseJson(const std::string& body, google::protobuf::Message* message) {
  if (body.empty()) return absl::InvalidArgumentError("a JSON body is required");
  const auto status = google::protobuf::util::JsonStringToMessage(body, message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON body: ", status.message().as_string()));
  }
  return absl::OkStatus();
}

}  // namespace parley::frontend
