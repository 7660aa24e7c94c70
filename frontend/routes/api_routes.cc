#include "frontend/routes/api_routes.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/routes/route_helpers.h"
#include "parley/v1/http_api.pb.h"

namespace parley::frontend {
namespace {

constexpr uint64_t kMaxBatch = 1000;
constexpr uint64_t kMaxMembersPage = 1000;  // the broker's MembersRequest.limit maximum

v1::SessionInfo SessionInfoOf(const Session& session, const v1::ConnectResponse& connected) {
  v1::SessionInfo info;
  info.set_user(session.user);
  info.set_expires_at(absl::ToUnixSeconds(session.expires_at));
  info.set_epoch(connected.epoch());
  info.set_cursor(connected.cursor());
  *info.mutable_presence() = connected.presence();
  info.set_identity(std::string(SessionSourceName(session.source)));
  info.set_display_name(session.display_name);
  return info;
}

void CreateSession(const RouteContext& context, const ExchangePtr& exchange) {
  const httplib::Request& request = exchange->request();
  v1::CreateSessionRequest body;
  if (absl::Status parsed = ParseJson(request.body, &body); !parsed.ok()) {
    RespondError(exchange, FromStatus(parsed));
    return;
  }
  if (absl::Status admitted = context.login_limiter->Admit(
          ClientAddress(request, context.options->trust_forwarded_for), absl::Now());
      !admitted.ok()) {
    HttpError error = FromStatus(admitted);
    error.retry_after_seconds = context.login_limiter->retry_seconds();
    RespondError(exchange, error);
    return;
  }
  if (body.name().empty() == body.token().empty()) {
    RespondError(exchange, {400, "invalid_argument", "exactly one of name and token is required"});
    return;
  }
  auto answer = [exchange](absl::StatusOr<Login> login) {
    if (!login.ok()) {
      HttpError error = FromStatus(login.status());
      if (login.status().code() == absl::StatusCode::kAlreadyExists) error.code = "name_taken";
      RespondError(exchange, error);
      return;
    }
    v1::SessionInfo info = SessionInfoOf(login->session, login->connected);
    info.set_token(login->token);
    httplib::Response response;
    response.set_header("Set-Cookie",
                        SessionCookie(login->token, login->session.expires_at - absl::Now()));
    WriteJson(response, info);
    exchange->Respond(std::move(response));
  };
  if (body.token().empty()) {
    context.sessions->LogIn(body.name(), std::move(answer));
  } else {
    context.sessions->LogInWithToken(body.token(), std::move(answer));
  }
}

// The session's user with the queue's current epoch and cursor (connecting again if the
// broker lost the user).
void GetSession(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  context.sessions->Connect(
      *session, [exchange, session = *session](grpc::Status status, v1::ConnectResponse connected) {
        if (!status.ok()) {
          RespondError(exchange, FromGrpcStatus(status));
          return;
        }
        RespondJson(exchange, SessionInfoOf(session, connected));
      });
}

void DeleteSession(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  context.sessions->LogOut(*session, [exchange](grpc::Status status) {
    if (!status.ok()) {  // not done: the token still works, so the cookie stays; retry
      RespondError(exchange, FromGrpcStatus(status));
      return;
    }
    httplib::Response response;
    response.set_header("Set-Cookie", ClearedSessionCookie());
    response.set_content("{}", "application/json");
    exchange->Respond(std::move(response));
  });
}

void Poll(const RouteContext& context, const ExchangePtr& exchange) {
  const httplib::Request& request = exchange->request();
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  const uint64_t max_wait = absl::ToInt64Seconds(context.options->max_wait);
  const uint64_t default_wait =
      std::min<uint64_t>(absl::ToInt64Seconds(context.options->default_wait), max_wait);
  absl::StatusOr<uint64_t> cursor =
      QueryNumber(request, "cursor", 0, std::numeric_limits<uint64_t>::max());
  absl::StatusOr<uint64_t> wait = QueryNumber(request, "wait", default_wait, max_wait);
  absl::StatusOr<uint64_t> max = QueryNumber(request, "max", 100, kMaxBatch);
  absl::StatusOr<uint64_t> epoch =
      QueryNumber(request, "epoch", 0, std::numeric_limits<uint64_t>::max());
  for (const auto* value : {&cursor, &wait, &max, &epoch}) {
    if (!value->ok()) {
      RespondError(exchange, FromStatus(value->status()));
      return;
    }
  }
  v1::PollRequest poll;
  if (request.has_param("presence")) {
    absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> versions =
        ParsePresenceVersions(request.get_param_value("presence"));
    if (!versions.ok()) {
      RespondError(exchange, FromStatus(versions.status()));
      return;
    }
    poll.set_watch_presence(true);
    poll.mutable_presence_versions()->insert(versions->begin(), versions->end());
  }
  poll.set_user(session->user);
  poll.set_cursor(*cursor);
  poll.set_wait_ms(static_cast<uint32_t>(*wait * 1000));
  poll.set_max_messages(static_cast<uint32_t>(*max));
  poll.set_epoch(*epoch);
  const absl::Time started = absl::Now();
  context.metrics->PollStarted();
  std::shared_ptr<HeldPoll> held = HeldPoll::Watch(context, exchange);
  held->Poll(*session, poll,
             [&context, exchange, held, started](grpc::Status status, v1::PollResponse polled) {
               context.metrics->PollEnded(absl::Now() - started);
               if (!status.ok()) {
                 held->RespondFailure(status);
                 return;
               }
               httplib::Response response;
               WriteJsonText(response, context.poll_json->Write(polled));
               exchange->Respond(std::move(response));
             });
}

void PostMessage(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  v1::PostMessageRequest body;
  if (absl::Status parsed = ParseJson(exchange->request().body, &body); !parsed.ok()) {
    RespondError(exchange, FromStatus(parsed));
    return;
  }
  if (body.room().empty() == body.to().empty()) {
    RespondError(exchange, {400, "invalid_argument", "exactly one of room and to is required"});
    return;
  }
  v1::PublishRequest publish;
  publish.set_sender(session->user);
  if (!body.room().empty()) publish.set_room(body.room());
  if (!body.to().empty()) publish.set_to_user(body.to());
  // Under --auth=tokens every name is an app's user, who always comes back with the same
  // session: a direct message to one not connected now is kept for them. (With names anyone
  // may take a free name, so it is refused instead: the next holder may be someone else.)
  if (!body.to().empty() && context.options->auth == AuthMode::kTokens) {
    publish.set_hold_for_session(context.sessions->tokens().AppUserSession(body.to()));
  }
  if (!body.to_holder().empty() && body.to().empty()) {
    RespondError(exchange, {400, "invalid_argument", "toHolder is for a message with to"});
    return;
  }
  // Who writes (the message then says who the sender is) and, for a direct message, who it
  // is meant for: a name that changed hands is refused rather than read by a newcomer.
  publish.set_sender_session(session->session_id);
  publish.set_to_holder(body.to_holder());
  publish.set_text(body.text());
  publish.set_idempotency_key(body.client_id());
  CallAndAnswer(context, exchange, *session, std::move(publish), &BrokerApi::PublishAsync);
}

void ListRooms(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  v1::RoomsRequest rooms_of;
  rooms_of.set_user(session->user);
  CallAndAnswer(context, exchange, *session, std::move(rooms_of), &BrokerApi::RoomsAsync);
}

void Join(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  v1::JoinRequest call;
  call.set_user(session->user);
  call.set_room(exchange->request().matches[1]);
  CallAndAnswer(context, exchange, *session, std::move(call), &BrokerApi::JoinAsync);
}

void Leave(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  v1::LeaveRequest call;
  call.set_user(session->user);
  call.set_room(exchange->request().matches[1]);
  CallAndAnswer(context, exchange, *session, std::move(call), &BrokerApi::LeaveAsync);
}

void History(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  absl::StatusOr<v1::HistoryRequest> call = HistoryRequestOf(exchange->request(), kMaxBatch);
  if (!call.ok()) {
    RespondError(exchange, FromStatus(call.status()));
    return;
  }
  call->set_user(session->user);  // a private room is not there for those it does not admit
  context.broker->HistoryAsync(*call, AnswerWith<v1::HistoryResponse>(exchange));
}

void Members(const RouteContext& context, const ExchangePtr& exchange) {
  const httplib::Request& request = exchange->request();
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  absl::StatusOr<v1::MembersRequest> call = MembersRequestOf(request, kMaxMembersPage);
  if (!call.ok()) {
    RespondError(exchange, FromStatus(call.status()));
    return;
  }
  call->set_user(session->user);  // a private room is not there for those it does not admit
  context.broker->MembersAsync(*call, AnswerWith<v1::MembersResponse>(exchange));
}

// The room directory: every public room with its presence (counts), sorted by name. Private
// rooms are left out for everyone, members included (their own rooms are in /api/rooms).
void Directory(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session = RequireSession(context, exchange);
  if (!session) return;
  context.broker->ListRoomsAsync([exchange](grpc::Status status, v1::ListRoomsResponse listing) {
    if (!status.ok()) {
      RespondError(exchange, FromGrpcStatus(status));
      return;
    }
    v1::ListRoomsResponse open;
    for (v1::RoomListing& room : *listing.mutable_rooms()) {
      if (!room.private_()) *open.add_rooms() = std::move(room);
    }
    RespondJson(exchange, open);
  });
}

// Whether this frontend can serve: not draining. Not whether the broker answers: with the
// broker away every frontend still answers (503 with Retry-After, which the page copes with),
// while taking them all out of rotation would leave a proxy answering its own 503s and stall
// rollouts on the disruption budgets. /readyz/broker tells the broker's state.
void Ready(const RouteContext& context, const ExchangePtr& exchange) {
  if (context.draining->load()) {
    RespondError(exchange, {503, "draining", "the frontend is shutting down", 1});
    return;
  }
  httplib::Response response;
  response.set_content(R"({"status":"ready"})", "application/json");
  exchange->Respond(std::move(response));
}

// Whether the broker answers (a Stats call, within --broker_timeout): for operators and
// dashboards, never a probe.
void BrokerReady(const RouteContext& context, const ExchangePtr& exchange) {
  context.broker->StatsAsync([exchange](grpc::Status status, v1::StatsResponse) {
    if (!status.ok()) {
      RespondError(exchange, FromGrpcStatus(status));
      return;
    }
    httplib::Response response;
    response.set_content(R"({"status":"ready"})", "application/json");
    exchange->Respond(std::move(response));
  });
}

}  // namespace

void AddApiRoutes(const RouteContext& context, RouteTable& routes) {
  auto bind = [&context](ContextHandler handler) { return WithContext(context, handler); };
  routes.Post("/api/session", bind(CreateSession));
  routes.Get("/api/session", bind(GetSession));
  routes.Delete("/api/session", bind(DeleteSession));
  routes.Get("/api/poll", bind(Poll));
  routes.Post("/api/messages", bind(PostMessage));
  routes.Get("/api/rooms", bind(ListRooms));
  routes.Post("/api/rooms/([^/]+)/join", bind(Join));
  routes.Post("/api/rooms/([^/]+)/leave", bind(Leave));
  routes.Get("/api/rooms/([^/]+)/history", bind(History));
  routes.Get("/api/rooms/([^/]+)/members", bind(Members));
  routes.Get("/api/directory", bind(Directory));
  routes.Get("/healthz", [](const ExchangePtr& exchange) {
    httplib::Response response;
    response.set_content(R"({"status":"alive"})", "application/json");
    exchange->Respond(std::move(response));
  });
  routes.Get("/readyz", bind(Ready));
}

void AddBrokerStateRoute(const RouteContext& context, RouteTable& routes) {
  routes.Get("/readyz/broker", WithContext(context, BrokerReady));
}

}  // namespace parley::frontend
