#ifndef PARLEY_FRONTEND_HTTP_HTTP_ERROR_H_
#define PARLEY_FRONTEND_HTTP_HTTP_ERROR_H_

#include <httplib.h>

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"

namespace parley::frontend {

// An HTTP error answer: status, a stable code and a message for people.
struct HttpError {
  int status = 500;
  std::string code;
  std::string message;
  int retry_after_seconds = 0;  // sent as Retry-After when > 0
};

// The one place where gRPC statuses (from the broker) become HTTP statuses.
HttpError FromGrpcStatus(const grpc::Status& status);
// The same for statuses of the frontend's own checks (token, input).
HttpError FromStatus(const absl::Status& status);

// Writes {"error": {"code", "message"}} with the status (and Retry-After).
void WriteError(httplib::Response& response, const HttpError& error);
// A protobuf message as JSON (protobuf's JSON mapping, every field printed).
std::string ToJson(const google::protobuf::Message& message);
// Writes JSON text as the answer (not cached by anyone on the way); the text becomes the body
// without a copy.
void WriteJsonText(httplib::Response& response, std::string json, int status = 200);
// Writes a protobuf message as JSON: WriteJsonText(ToJson(message)).
void WriteJson(httplib::Response& response, const google::protobuf::Message& message,
               int status = 200);
// Parses a JSON body into `message`; INVALID_ARGUMENT saying why on failure (bad JSON,
// unknown field, wrong type, invalid UTF-8).
absl::Status ParseJson(const std::string& body, google::protobuf::Message* message);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_HTTP_HTTP_ERROR_H_
