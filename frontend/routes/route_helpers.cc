#include "frontend/routes/route_helpers.h"

#include "frontend/http/http_error.h"
#include "frontend/server/bounded_http_server.h"
#include "frontend/server/hangup_watcher.h"

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

bool PollBroker(const RouteContext& context, const Session& session, const v1::PollRequest& request,
                v1::PollResponse* polled, httplib::Response& response) {
  HangupWatcher::Watch watch(context.hangups, BoundedHttpServer::Serving());
  const grpc::Status status = context.sessions->WithReconnect(session, [&] {
    polled->Clear();
    return context.broker->Poll(request, polled, &watch);
  });
  if (!status.ok() && watch.client_gone()) {  // cut short by the watcher
    WriteError(response, {499, "client_closed", "the client closed the connection"});
    return false;
  }
  if (!status.ok()) {
    WriteError(response, FromGrpcStatus(status));
    return false;
  }
  return true;
}

}  // namespace parley::frontend
