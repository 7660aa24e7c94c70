#include "frontend/session/session_gate.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "frontend/http/request_helpers.h"

namespace parley::frontend {

absl::StatusOr<Login> SessionGate::LogIn(absl::string_view name) {
  Login login;
  login.session = tokens_->NewSession(name, absl::Now());
  grpc::Status status = Connect(login.session, &login.connected);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  login.token = tokens_->Encode(login.session);
  return login;
}

grpc::Status SessionGate::Connect(const Session& session, v1::ConnectResponse* response) {
  v1::ConnectRequest request;
  request.set_user(session.user);
  request.set_session(session.session_id);
  return broker_->Connect(request, response);
}

void SessionGate::LogOut(const Session& session) {
  v1::DisconnectRequest request;
  request.set_user(session.user);
  request.set_session(session.session_id);
  v1::DisconnectResponse response;
  (void)broker_->Disconnect(request, &response);  // already gone is fine
}

absl::StatusOr<Session> SessionGate::Authenticate(const httplib::Request& request,
                                                  absl::string_view path_user) {
  absl::StatusOr<Session> session = tokens_->Verify(SessionTokenOf(request), absl::Now());
  if (!session.ok()) return session.status();
  if (!path_user.empty() && session->user != path_user) {
    return absl::PermissionDeniedError(
        absl::StrCat("this session belongs to '", session->user, "', not '", path_user, "'"));
  }
  return session;
}

grpc::Status SessionGate::WithReconnect(const Session& session,
                                        const std::function<grpc::Status()>& call) {
  grpc::Status status = call();
  if (status.error_code() != grpc::StatusCode::NOT_FOUND) return status;
  // NOT_FOUND may be about the user or about a room. Connect tells which: it creates the
  // queue only if the user was gone.
  v1::ConnectResponse connected;
  grpc::Status reconnect = Connect(session, &connected);
  if (!reconnect.ok()) {
    if (reconnect.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "the session ended and the name is now held by another session");
    }
    return reconnect;
  }
  if (!connected.created()) return status;
  return call();
}

}  // namespace parley::frontend
