#include "frontend/routes/route_helpers.h"

#include "frontend/http/http_error.h"

namespace parley::frontend {

std::optional<Session> RequireSession(const RouteContext& context, const httplib::Request& request,
                                      httplib::Response& response, absl::string_view path_user) {
  absl::StatusOr<Session> session = context.sessions->Authenticate(request, path_user);
  if (!session.ok()) {
    WriteError(response, FromStatus(session.status()));
    return std::nullopt;
  }
  return *session;
}

void AnswerBrokerCall(httplib::Response& response, const grpc::Status& status,
                      const google::protobuf::Message& message) {
  if (status.ok()) {
    WriteJson(response, message);
  } else {
    WriteError(response, FromGrpcStatus(status));
  }
}

}  // namespace parley::frontend
