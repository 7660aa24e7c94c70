#include "frontend/routes/api_routes.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/routes/route_helpers.h"
#include "parley/v1/http_api.pb.h"

namespace parley::frontend {
namespace {

constexpr uint64_t kMaxBatch = 1000;
constexpr uint64_t kMaxMembersPage = 1000;  // the broker's MembersRequest.limit maximum

void CreateSession(const RouteContext& context, const httplib::Request& request,
                   httplib::Response& response) {
  v1::CreateSessionRequest body;
  if (absl::Status parsed = ParseJson(request.body, &body); !parsed.ok()) {
    WriteError(response, FromStatus(parsed));
    return;
  }
  if (absl::Status admitted = context.login_limiter->Admit(
          ClientAddress(request, context.options->trust_forwarded_for), absl::Now());
      !admitted.ok()) {
    HttpError error = FromStatus(admitted);
    error.retry_after_seconds = LoginRetrySeconds(*context.options);
    WriteError(response, error);
    return;
  }
  absl::StatusOr<Login> login = context.sessions->LogIn(body.name());
  if (!login.ok()) {
    HttpError error = FromStatus(login.status());
    if (login.status().code() == absl::StatusCode::kAlreadyExists) error.code = "name_taken";
    WriteError(response, error);
    return;
  }
  v1::SessionInfo info;
  info.set_user(login->session.user);
  info.set_token(login->token);
  info.set_expires_at(absl::ToUnixSeconds(login->session.expires_at));
  info.set_epoch(login->connected.epoch());
  info.set_cursor(login->connected.cursor());
  *info.mutable_presence() = login->connected.presence();
  response.set_header("Set-Cookie", SessionCookie(login->token, context.options->session_lifetime));
  WriteJson(response, info);
}

// The session's user with the queue's current epoch and cursor (connecting again if the
// broker lost the user).
void GetSession(const RouteContext& context, const httplib::Request& request,
                httplib::Response& response) {
  std::optional<Session> session = RequireSession(context, request, response);
  if (!session) return;
  v1::ConnectResponse connected;
  grpc::Status status = context.sessions->Connect(*session, &connected);
  if (!status.ok()) {
    WriteError(response, FromGrpcStatus(status));
    return;
  }
  v1::SessionInfo info;
  info.set_user(session->user);
  info.set_expires_at(absl::ToUnixSeconds(session->expires_at));
  info.set_epoch(connected.epoch());
  info.set_cursor(connected.cursor());
  *info.mutable_presence() = connected.presence();
  WriteJson(response, info);
}

void DeleteSession(const RouteContext& context, const httplib::Request& request,
                   httplib::Response& response) {
  std::optional<Session> session = RequireSession(context, request, response);
  if (!session) return;
  context.sessions->LogOut(*session);
  response.set_header("Set-Cookie", ClearedSessionCookie());
  response.set_content("{}", "application/json");
}

void Poll(const RouteContext& context, const httplib::Request& request,
          httplib::Response& response) {
  std::optional<Session> session = RequireSession(context, request, response);
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
      WriteError(response, FromStatus(value->status()));
      return;
    }
  }
  v1::PollRequest poll;
  if (request.has_param("presence")) {
    absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> versions =
        ParsePresenceVersions(request.get_param_value("presence"));
    if (!versions.ok()) {
      WriteError(response, FromStatus(versions.status()));
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
  v1::PollResponse polled;
  const absl::Time started = absl::Now();
  context.metrics->PollStarted();
  const bool answered = PollBroker(context, *session, poll, &polled, response);
  context.metrics->PollEnded(absl::Now() - started);
  if (!answered) return;
  WriteJsonText(response, context.poll_json->Write(polled));
}

void PostMessage(const RouteContext& context, const httplib::Request& request,
                 httplib::Response& response) {
  std::optional<Session> session = RequireSession(context, request, response);
  if (!session) return;
  v1::PostMessageRequest body;
  if (absl::Status parsed = ParseJson(request.body, &body); !parsed.ok()) {
    WriteError(response, FromStatus(parsed));
    return;
  }
  if (body.room().empty() == body.to().empty()) {
    WriteError(response, {400, "invalid_argument", "exactly one of room and to is required"});
    return;
  }
  v1::PublishRequest publish;
  publish.set_sender(session->user);
  if (!body.room().empty()) publish.set_room(body.room());
  if (!body.to().empty()) publish.set_to_user(body.to());
  publish.set_text(body.text());
  publish.set_idempotency_key(body.client_id());
  v1::PublishResponse published;
  grpc::Status status = context.sessions->WithReconnect(
      *session, [&] { return context.broker->Publish(publish, &published); });
  AnswerBrokerCall(response, status, published);
}

void ListRooms(const RouteContext& context, const httplib::Request& request,
               httplib::Response& response) {
  std::optional<Session> session = RequireSession(context, request, response);
  if (!session) return;
  v1::RoomsRequest rooms_of;
  rooms_of.set_user(session->user);
  v1::RoomsResponse rooms;
  grpc::Status status = context.sessions->WithReconnect(
      *session, [&] { return context.broker->Rooms(rooms_of, &rooms); });
  AnswerBrokerCall(response, status, rooms);
}

void JoinOrLeave(const RouteContext& context, const httplib::Request& request,
                 httplib::Response& response, bool join) {
  std::optional<Session> session = RequireSession(context, request, response);
  if (!session) return;
  const std::string room = request.matches[1];
  grpc::Status status;
  if (join) {
    v1::JoinRequest call;
    call.set_user(session->user);
    call.set_room(room);
    v1::JoinResponse joined;
    status = context.sessions->WithReconnect(*session,
                                             [&] { return context.broker->Join(call, &joined); });
    AnswerBrokerCall(response, status, joined);
  } else {
    v1::LeaveRequest call;
    call.set_user(session->user);
    call.set_room(room);
    v1::LeaveResponse left;
    status = context.sessions->WithReconnect(*session,
                                             [&] { return context.broker->Leave(call, &left); });
    AnswerBrokerCall(response, status, left);
  }
}

void History(const RouteContext& context, const httplib::Request& request,
             httplib::Response& response) {
  if (!RequireSession(context, request, response)) return;
  absl::StatusOr<uint64_t> limit = QueryNumber(request, "limit", 0, kMaxBatch);
  if (!limit.ok()) {
    WriteError(response, FromStatus(limit.status()));
    return;
  }
  v1::HistoryRequest call;
  call.set_room(request.matches[1]);
  call.set_limit(static_cast<uint32_t>(*limit));
  v1::HistoryResponse history;
  AnswerBrokerCall(response, context.broker->History(call, &history), history);
}

void Members(const RouteContext& context, const httplib::Request& request,
             httplib::Response& response) {
  if (!RequireSession(context, request, response)) return;
  absl::StatusOr<uint64_t> limit = QueryNumber(request, "limit", 0, kMaxMembersPage);
  absl::StatusOr<bool> online = QueryFlag(request, "online", false);
  for (const absl::Status& status : {limit.status(), online.status()}) {
    if (!status.ok()) {
      WriteError(response, FromStatus(status));
      return;
    }
  }
  v1::MembersRequest call;
  call.set_room(request.matches[1]);
  call.set_limit(static_cast<uint32_t>(*limit));
  call.set_online_only(*online);
  // `after` and `prefix` are checked by the broker (INVALID_ARGUMENT: 400).
  call.set_after(request.get_param_value("after"));
  call.set_prefix(request.get_param_value("prefix"));
  v1::MembersResponse members;
  AnswerBrokerCall(response, context.broker->Members(call, &members), members);
}

void Ready(const RouteContext& context, const std::atomic<bool>* draining,
           httplib::Response& response) {
  if (draining->load()) {
    WriteError(response, {503, "draining", "the frontend is shutting down", 1});
    return;
  }
  v1::StatsResponse stats;
  grpc::Status status = context.broker->Stats(&stats);
  if (!status.ok()) {
    WriteError(response, FromGrpcStatus(status));
    return;
  }
  response.set_content(R"({"status":"ready"})", "application/json");
}

}  // namespace

void AddApiRoutes(const RouteContext& context, const std::atomic<bool>* draining,
                  RouteTable& routes) {
  using Request = const httplib::Request&;
  using Response = httplib::Response&;
  routes.Post("/api/session", [&context](Request q, Response r) { CreateSession(context, q, r); });
  routes.Get("/api/session", [&context](Request q, Response r) { GetSession(context, q, r); });
  routes.Delete("/api/session",
                [&context](Request q, Response r) { DeleteSession(context, q, r); });
  routes.Get("/api/poll", [&context](Request q, Response r) { Poll(context, q, r); });
  routes.Post("/api/messages", [&context](Request q, Response r) { PostMessage(context, q, r); });
  routes.Get("/api/rooms", [&context](Request q, Response r) { ListRooms(context, q, r); });
  routes.Post("/api/rooms/([^/]+)/join",
              [&context](Request q, Response r) { JoinOrLeave(context, q, r, true); });
  routes.Post("/api/rooms/([^/]+)/leave",
              [&context](Request q, Response r) { JoinOrLeave(context, q, r, false); });
  routes.Get("/api/rooms/([^/]+)/history",
             [&context](Request q, Response r) { History(context, q, r); });
  routes.Get("/api/rooms/([^/]+)/members",
             [&context](Request q, Response r) { Members(context, q, r); });
  routes.Get("/healthz", [](Request, Response r) {
    r.set_content(R"({"status":"alive"})", "application/json");
  });
  routes.Get("/readyz", [&context, draining](Request, Response r) { Ready(context, draining, r); });
}

}  // namespace parley::frontend
