#include "frontend/routes/seed_routes.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "frontend/http/http_error.h"
#include "frontend/routes/route_helpers.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace parley::frontend {
namespace {

void PutPost(const RouteContext& context, const ExchangePtr& exchange) {
  const httplib::Request& request = exchange->request();
  std::optional<Session> session = RequireSession(context, exchange, request.matches[1].str());
  if (!session) return;
  v1::PublishRequest publish;
  publish.set_sender(session->user);
  publish.set_room("lobby");
  publish.set_text(request.get_param_value("message"));
  context.sessions->WithReconnect<v1::PublishResponse>(
      *session,
      [broker = context.broker, publish](SessionGate::Done<v1::PublishResponse> done) {
        broker->PublishAsync(publish, std::move(done));
      },
      [exchange](grpc::Status status, v1::PublishResponse) {
        if (!status.ok()) {
          RespondError(exchange, FromGrpcStatus(status));
          return;
        }
        httplib::Response response;
        response.set_content("", "text/plain");
        exchange->Respond(std::move(response));
      });
}

bool IsLobbyChat(const v1::Message& message) {
  return message.kind() == v1::CHAT && message.room() == "lobby";
}

// One /get_post: polls one message at a time from the broker-kept cursor, skipping what the
// tutorial's page never showed (joins, leaves, other rooms, direct messages), until a lobby
// chat line comes or the wait runs out. Each poll's answer (on a completion thread) starts the
// next.
class SeedGetPost : public std::enable_shared_from_this<SeedGetPost> {
 public:
  SeedGetPost(const RouteContext& context, ExchangePtr exchange, Session session)
      : exchange_(exchange),
        session_(std::move(session)),
        give_up_(absl::Now() + context.options->seed_wait),
        held_(HeldPoll::Watch(context, std::move(exchange))) {}

  void Next() {
    const absl::Duration left = give_up_ - absl::Now();
    if (left <= absl::ZeroDuration()) {
      Answer("");
      return;
    }
    v1::PollRequest poll;
    poll.set_user(session_.user);
    poll.set_consume(true);
    poll.set_max_messages(1);
    poll.set_wait_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(left)));
    held_->Poll(session_, poll,
                [self = shared_from_this()](grpc::Status status, v1::PollResponse polled) {
                  if (!status.ok()) {
                    self->held_->RespondFailure(status);
                  } else if (polled.messages_size() == 0) {
                    self->Answer("");  // the wait passed (or shutdown)
                  } else if (IsLobbyChat(polled.messages(0))) {
                    self->Answer(polled.messages(0).text());
                  } else {
                    self->Next();
                  }
                });
  }

 private:
  void Answer(const std::string& text) {
    google::protobuf::Value value;
    value.set_string_value(text);
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(value, &json);
    httplib::Response response;
    response.set_header("Cache-Control", "no-store");
    response.set_content(json, "application/json");
    exchange_->Respond(std::move(response));
  }

  const ExchangePtr exchange_;
  const Session session_;
  const absl::Time give_up_;
  const std::shared_ptr<HeldPoll> held_;
};

void GetPost(const RouteContext& context, const ExchangePtr& exchange) {
  std::optional<Session> session =
      RequireSession(context, exchange, exchange->request().matches[1].str());
  if (!session) return;
  std::make_shared<SeedGetPost>(context, exchange, *std::move(session))->Next();
}

}  // namespace

void AddSeedRoutes(const RouteContext& context, RouteTable& routes) {
  auto bind = [&context](ContextHandler handler) { return WithContext(context, handler); };
  routes.Post("/put_post/([^/]+)", bind(PutPost));
  routes.Get("/get_post/([^/]+)", bind(GetPost));
  routes.Post("/get_post/([^/]+)", bind(GetPost));
}

}  // namespace parley::frontend
