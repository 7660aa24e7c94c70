#ifndef PARLEY_FRONTEND_SESSION_SESSION_GATE_H_
#define PARLEY_FRONTEND_SESSION_SESSION_GATE_H_

#include <httplib.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/auth/app_token_verifier.h"
#include "frontend/broker/broker_api.h"
#include "frontend/frontend_options.h"
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
// The broker calls are asynchronous (BrokerApi's rules: `done` runs later, on another thread).
// Thread-safe (no state of its own).
class SessionGate {
 public:
  template <typename Response>
  using Done = BrokerApi::Done<Response>;
  // Starts one attempt of a broker call, to end in the `done` it is given; may run twice.
  template <typename Response>
  using Attempt = std::function<void(Done<Response>)>;

  // `app_tokens`: how tokens from the app are checked; null unless `mode` takes tokens.
  SessionGate(BrokerApi* broker, const SessionTokens* tokens, AuthMode mode,
              const AppTokenVerifier* app_tokens)
      : broker_(broker), tokens_(tokens), mode_(mode), app_tokens_(app_tokens) {}

  // Validates the name, connects it to the broker under a new session and issues its token.
  // Errors: PERMISSION_DENIED name_login_disabled (--auth=tokens), INVALID_ARGUMENT,
  // ALREADY_EXISTS (name taken), broker errors as gRPC codes.
  void LogIn(absl::string_view name, absl::AnyInvocable<void(absl::StatusOr<Login>)> done);
  // The same for a user the app's token vouches for: the session ends by the token's exp.
  // Errors: PERMISSION_DENIED token_login_disabled (--auth=names), the verifier's
  // UNAUTHENTICATED refusals, then as LogIn.
  void LogInWithToken(absl::string_view app_token,
                      absl::AnyInvocable<void(absl::StatusOr<Login>)> done);
  // Ends the session at the broker; `done` runs when the broker has answered: OK when the
  // session is ended (the user already gone, or the name another session's, is fine), else
  // the broker's error (the session may still work: the caller must not say it ended). A
  // token session is not ended at the broker (the user's other devices share it): OK at once,
  // and the caller clears this browser's cookie.
  void LogOut(const Session& session, absl::AnyInvocable<void(grpc::Status)> done);

  // Broker Connect for the session's user and session id: creates the queue if the broker
  // has none (`response.created`), else refreshes it; either way returns epoch and cursor.
  void Connect(const Session& session, Done<v1::ConnectResponse> done);

  // The request's valid session: UNAUTHENTICATED if missing, forged or expired;
  // PERMISSION_DENIED if `path_user` is given and is someone else.
  absl::StatusOr<Session> Authenticate(const httplib::Request& request,
                                       absl::string_view path_user = "") const;

  // Runs `attempt`. If the broker answers NOT_FOUND because it no longer knows the user (it
  // restarted, or the user expired), connects the same session again and runs `attempt`
  // once more: the client notices only through the new epoch.
  template <typename Response>
  void WithReconnect(const Session& session, Attempt<Response> attempt, Done<Response> done);

  const SessionTokens& tokens() const { return *tokens_; }

 private:
  // Connects `session` and issues its token.
  void Open(Session session, absl::AnyInvocable<void(absl::StatusOr<Login>)> done);
  // Joins `user` to each of `rooms` as one the app's token vouched for (private ones too),
  // one after the other, then `done`.
  void JoinGranted(std::string user, std::vector<std::string> rooms,
                   absl::AnyInvocable<void()> done);

  // After a NOT_FOUND: connects again, then `retry` (the user was gone) or `give_up` with
  // the status to answer (the NOT_FOUND was about something else, or reconnecting failed).
  void Reconnect(const Session& session, absl::AnyInvocable<void()> retry,
                 absl::AnyInvocable<void(grpc::Status)> give_up);

  BrokerApi* const broker_;
  const SessionTokens* const tokens_;
  const AuthMode mode_;
  const AppTokenVerifier* const app_tokens_;
};

template <typename Response>
void SessionGate::WithReconnect(const Session& session, Attempt<Response> attempt,
                                Done<Response> done) {
  Attempt<Response> first = attempt;
  first([this, session, attempt = std::move(attempt), done = std::move(done)](
            grpc::Status status, Response response) mutable {
    if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
      done(std::move(status), std::move(response));
      return;
    }
    auto shared_done = std::make_shared<Done<Response>>(std::move(done));
    Reconnect(
        session, [attempt = std::move(attempt), shared_done] { attempt(std::move(*shared_done)); },
        [shared_done, status = std::move(status),
         response = std::move(response)](grpc::Status answer) mutable {
          (*shared_done)(answer.ok() ? std::move(status) : std::move(answer), std::move(response));
        });
  });
}

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SESSION_SESSION_GATE_H_
