#include "frontend/routes/seed_routes.h"

#include <string>

#include "absl/time/clock.h"
#include "frontend/http/http_error.h"
#include "frontend/routes/route_helpers.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace parley::frontend {
namespace {

void PutPost(const RouteContext& context, const httplib::Request& request,
             httplib::Response& response) {
  std::optional<Session> session =
      RequireSession(context, request, response, request.matches[1].str());
  if (!session) return;
  v1::PublishRequest publish;
  publish.set_sender(session->user);
  publish.set_room("lobby");
  publish.set_text(request.get_param_value("message"));
  v1::PublishResponse published;
  grpc::Status status = context.sessions->WithReconnect(
      *session, [&] { return context.broker->Publish(publish, &published); });
  if (!status.ok()) {
    WriteError(response, FromGrpcStatus(status));
    return;
  }
  response.set_content("", "text/plain");
}

bool IsLobbyChat(const v1::Message& message) {
  return message.kind() == v1::CHAT && message.room() == "lobby";
}

void GetPost(const RouteContext& context, const httplib::Request& request,
             httplib::Response& response) {
  std::optional<Session> session =
      RequireSession(context, request, response, request.matches[1].str());
  if (!session) return;
  // One message at a time from the broker-kept cursor, skipping what the tutorial's page
  // never showed (joins, leaves, other rooms, direct messages), until the wait runs out.
  const absl::Time give_up = absl::Now() + context.options->seed_wait;
  google::protobuf::Value text;
  text.set_string_value("");
  while (true) {
    const absl::Duration left = give_up - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    v1::PollRequest poll;
    poll.set_user(session->user);
    poll.set_consume(true);
    poll.set_max_messages(1);
    poll.set_wait_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(left)));
    v1::PollResponse polled;
    if (!PollBroker(context, *session, poll, &polled, response)) return;
    if (polled.messages_size() == 0) break;  // the wait passed (or shutdown)
    if (IsLobbyChat(polled.messages(0))) {
      text.set_string_value(polled.messages(0).text());
      break;
    }
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(text, &json);
  response.set_header("Cache-Control", "no-store");
  response.set_content(json, "application/json");
}

}  // namespace

void AddSeedRoutes(const RouteContext& context, RouteTable& routes) {
  using Request = const httplib::Request&;
  using Response = httplib::Response&;
  routes.Post("/put_post/([^/]+)", [&context](Request q, Response r) { PutPost(context, q, r); });
  routes.Get("/get_post/([^/]+)", [&context](Request q, Response r) { GetPost(context, q, r); });
  routes.Post("/get_post/([^/]+)", [&context](Request q, Response r) { GetPost(context, q, r); });
}

}  // namespace parley::frontend
