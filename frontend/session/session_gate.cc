#include "frontend/session/session_gate.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/error_code.h"
#include "common/grpc_error_reason.h"
#include "common/log.h"
#include "frontend/http/request_helpers.h"

namespace parley::frontend {

void SessionGate::LogIn(absl::string_view name,
                        absl::AnyInvocable<void(absl::StatusOr<Login>)> done) {
  if (mode_ == AuthMode::kTokens) {
    done(WithErrorCode(absl::PermissionDeniedError(
                           "this chat signs users in through its app's tokens, not by name"),
                       "name_login_disabled"));
    return;
  }
  Open(tokens_->NewSession(name, absl::Now()), std::move(done));
}

void SessionGate::LogInWithToken(absl::string_view app_token,
                                 absl::AnyInvocable<void(absl::StatusOr<Login>)> done) {
  if (app_tokens_ == nullptr) {
    done(WithErrorCode(absl::PermissionDeniedError("this chat does not take tokens (--auth=names)"),
                       "token_login_disabled"));
    return;
  }
  const absl::Time now = absl::Now();
  absl::StatusOr<AppIdentity> identity = app_tokens_->Verify(app_token, now);
  if (!identity.ok()) {
    done(identity.status());
    return;
  }
  Open(tokens_->NewTokenSession(identity->user, identity->display_name, identity->issued_at,
                                identity->expires_at, now),
       [this, rooms = std::move(identity->rooms),
        done = std::move(done)](absl::StatusOr<Login> login) mutable {
         if (!login.ok() || rooms.empty()) {
           done(std::move(login));
           return;
         }
         const std::string user = login->session.user;
         JoinGranted(user, std::move(rooms),
                     [login = *std::move(login), done = std::move(done)]() mutable {
                       done(std::move(login));
                     });
       });
}

void SessionGate::JoinGranted(std::string user, std::vector<std::string> rooms,
                              absl::AnyInvocable<void()> done) {
  if (rooms.empty()) {
    done();
    return;
  }
  v1::JoinRequest join;
  join.set_user(user);
  join.set_room(rooms.back());
  join.set_granted(true);
  rooms.pop_back();
  broker_->JoinAsync(join, [this, user = std::move(user), rooms = std::move(rooms),
                            room = join.room(),
                            done = std::move(done)](grpc::Status status, v1::JoinResponse) mutable {
    // The login stands without the room: the page can still join public rooms, and the
    // failure is the operator's to see.
    if (!status.ok()) {
      Log(LogLevel::kWarning, "token_room_not_joined",
          {{"user", user}, {"room", room}, {"error", status.error_message()}});
    }
    JoinGranted(std::move(user), std::move(rooms), std::move(done));
  });
}

void SessionGate::Open(Session session, absl::AnyInvocable<void(absl::StatusOr<Login>)> done) {
  auto login = std::make_shared<Login>();
  login->session = std::move(session);
  Connect(login->session, [this, login, done = std::move(done)](
                              grpc::Status status, v1::ConnectResponse connected) mutable {
    if (!status.ok()) {
      absl::Status refused(static_cast<absl::StatusCode>(status.error_code()),
                           status.error_message());
      // The app ended the user's sessions after this token was issued: a replay.
      if (ReasonOf(status) == "REVOKED") refused = WithErrorCode(refused, "token_revoked");
      done(std::move(refused));
      return;
    }
    login->connected = std::move(connected);
    login->token = tokens_->Encode(login->session);
    done(std::move(*login));
  });
}

void SessionGate::Connect(const Session& session, Done<v1::ConnectResponse> done) {
  v1::ConnectRequest request;
  request.set_user(session.user);
  request.set_session(session.session_id);
  // In whole seconds, as the token carries it: the login and every reconnect agree.
  request.set_session_started_unix_ms(absl::ToUnixSeconds(session.started) * 1000);
  broker_->ConnectAsync(request, std::move(done));
}

void SessionGate::LogOut(const Session& session, absl::AnyInvocable<void(grpc::Status)> done) {
  if (session.source == SessionSource::kToken) {
    // The user's other devices share the broker session: only this browser signs out (its
    // cookie goes). Ending them all is the app's call (DisconnectUser).
    done(grpc::Status::OK);
    return;
  }
  v1::DisconnectRequest request;
  request.set_user(session.user);
  request.set_session(session.session_id);
  broker_->DisconnectAsync(
      request, [done = std::move(done)](grpc::Status status, v1::DisconnectResponse) mutable {
        // The broker records the session as ended before anything else, so these two mean the
        // logout happened too: the user was gone already, or the name is another session's now.
        if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
            status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
          status = grpc::Status::OK;
        }
        done(std::move(status));
      });
}

absl::StatusOr<Session> SessionGate::Authenticate(const httplib::Request& request,
                                                  absl::string_view path_user) const {
  absl::StatusOr<Session> session = tokens_->Verify(SessionTokenOf(request), absl::Now());
  if (!session.ok()) return session.status();
  if (!path_user.empty() && session->user != path_user) {
    return absl::PermissionDeniedError(
        absl::StrCat("this session belongs to '", session->user, "', not '", path_user, "'"));
  }
  return session;
}

void SessionGate::Reconnect(const Session& session, absl::AnyInvocable<void()> retry,
                            absl::AnyInvocable<void(grpc::Status)> give_up) {
  // NOT_FOUND may be about the user or about a room. Connect tells which: it creates the
  // queue only if the user was gone.
  Connect(session, [retry = std::move(retry), give_up = std::move(give_up)](
                       grpc::Status status, v1::ConnectResponse connected) mutable {
    if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      give_up(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                           "the session ended and the name is now held by another session"));
    } else if (!status.ok()) {
      give_up(std::move(status));
    } else if (connected.created()) {
      retry();
    } else {
      give_up(grpc::Status::OK);  // the user was there: the NOT_FOUND stands
    }
  });
}

}  // namespace parley::frontend
