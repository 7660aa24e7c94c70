#ifndef PARLEY_FRONTEND_SESSION_SESSION_GATE_H_
#define PARLEY_FRONTEND_SESSION_SESSION_GATE_H_

#include <httplib.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/broker/broker_client.h"
#include "frontend/session/session_tokens.h"
#include "grpcpp/support/status.h"

namespace parley::frontend {

// A new login: the session (with its token) and what the broker's Connect answered.
struct Login {
  Session session;
  std::string token;
  v1::ConnectResponse connected;
};

// Sessions as the routes see them: log in (Connect + token), authenticate a request, and run
// broker calls that survive a broker restart or user expiry by connecting the session again.
// Thread-safe (no state of its own).
class SessionGate {
 public:
  SessionGate(BrokerClient* broker, const SessionTokens* tokens)
      : broker_(broker), tokens_(tokens) {}

  // Validates the name, connects it to the broker under a new session and issues its token.
  // Errors: INVALID_ARGUMENT, ALREADY_EXISTS (name taken), broker errors as gRPC codes.
  absl::StatusOr<Login> LogIn(absl::string_view name);
  void LogOut(const Session& session);

  // Broker Connect for the session's user and session id: creates the queue if the broker
  // has none (`response.created`), else refreshes it; either way returns epoch and cursor.
  grpc::Status Connect(const Session& session, v1::ConnectResponse* response);

  // The request's valid session: UNAUTHENTICATED if missing, forged or expired;
  // PERMISSION_DENIED if `path_user` is given and is someone else.
  absl::StatusOr<Session> Authenticate(const httplib::Request& request,
                                       absl::string_view path_user = "");

  // Runs `call`. If the broker answers NOT_FOUND because it no longer knows the user (it
  // restarted, or the user expired), connects the same session again and runs `call` once
  // more: the client notices only through the new epoch.
  grpc::Status WithReconnect(const Session& session, const std::function<grpc::Status()>& call);

  const SessionTokens& tokens() const { return *tokens_; }

 private:
  BrokerClient* const broker_;
  const SessionTokens* const tokens_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SESSION_SESSION_GATE_H_
