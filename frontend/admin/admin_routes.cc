#include "frontend/admin/admin_routes.h"

#include <string>
#include <utility>

#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/routes/route_helpers.h"
#include "parley/v1/http_api.pb.h"

namespace parley::frontend {
namespace {

constexpr uint64_t kMaxPage = 1000;  // the broker's history and members maximum

// Parses the JSON body into `body`; answers 400 and returns false if it does not parse.
bool ParseBody(const ExchangePtr& exchange, google::protobuf::Message* body) {
  if (absl::Status parsed = ParseJson(exchange->request().body, body); !parsed.ok()) {
    RespondError(exchange, FromStatus(parsed));
    return false;
  }
  return true;
}

void Publish(BrokerApi* broker, const ExchangePtr& exchange) {
  v1::AdminPublishRequest body;
  if (!ParseBody(exchange, &body)) return;
  if (body.room().empty() == body.to().empty()) {
    RespondError(exchange, {400, "invalid_argument", "exactly one of room and to is required"});
    return;
  }
  v1::PublishRequest publish;
  publish.set_system(true);
  publish.set_sender(body.from().empty() ? "system" : body.from());
  if (!body.room().empty()) publish.set_room(body.room());
  if (!body.to().empty()) publish.set_to_user(body.to());
  publish.set_text(body.text());
  publish.set_idempotency_key(body.client_id());
  broker->PublishAsync(publish, AnswerWith<v1::PublishResponse>(exchange));
}

void CreateRoom(BrokerApi* broker, const ExchangePtr& exchange) {
  v1::AdminCreateRoomRequest body;
  if (!ParseBody(exchange, &body)) return;
  v1::CreateRoomRequest create;
  create.set_name(body.name());
  create.set_private_(body.private_());
  *create.mutable_members() = body.members();
  broker->CreateRoomAsync(create, AnswerWith<v1::CreateRoomResponse>(exchange));
}

void AddMember(BrokerApi* broker, const ExchangePtr& exchange) {
  v1::AdminAddMemberRequest body;
  if (!ParseBody(exchange, &body)) return;
  v1::AddMemberRequest add;
  add.set_room(exchange->request().matches[1]);
  add.set_user(body.user());
  broker->AddMemberAsync(add, AnswerWith<v1::AddMemberResponse>(exchange));
}

void RemoveMember(BrokerApi* broker, const ExchangePtr& exchange) {
  v1::RemoveMemberRequest remove;
  remove.set_room(exchange->request().matches[1]);
  remove.set_user(exchange->request().matches[2]);
  broker->RemoveMemberAsync(remove, AnswerWith<v1::RemoveMemberResponse>(exchange));
}

void DisconnectUser(BrokerApi* broker, const ExchangePtr& exchange) {
  v1::DisconnectUserRequest disconnect;
  disconnect.set_user(exchange->request().matches[1]);
  broker->DisconnectUserAsync(disconnect, AnswerWith<v1::DisconnectUserResponse>(exchange));
}

void ListRooms(BrokerApi* broker, const ExchangePtr& exchange) {
  broker->ListRoomsAsync(AnswerWith<v1::ListRoomsResponse>(exchange));
}

void Members(BrokerApi* broker, const ExchangePtr& exchange) {
  // No user: the server API reads private rooms too.
  absl::StatusOr<v1::MembersRequest> members = MembersRequestOf(exchange->request(), kMaxPage);
  if (!members.ok()) {
    RespondError(exchange, FromStatus(members.status()));
    return;
  }
  broker->MembersAsync(*members, AnswerWith<v1::MembersResponse>(exchange));
}

void History(BrokerApi* broker, const ExchangePtr& exchange) {
  absl::StatusOr<v1::HistoryRequest> history = HistoryRequestOf(exchange->request(), kMaxPage);
  if (!history.ok()) {
    RespondError(exchange, FromStatus(history.status()));
    return;
  }
  broker->HistoryAsync(*history, AnswerWith<v1::HistoryResponse>(exchange));
}

}  // namespace

void AddAdminRoutes(BrokerApi* broker, RouteTable& routes) {
  using Handler = void (*)(BrokerApi*, const ExchangePtr&);
  auto bind = [broker](Handler handler) {
    return [broker, handler](const ExchangePtr& exchange) { handler(broker, exchange); };
  };
  routes.Post("/admin/v1/publish", bind(Publish));
  routes.Post("/admin/v1/rooms", bind(CreateRoom));
  routes.Get("/admin/v1/rooms", bind(ListRooms));
  routes.Post("/admin/v1/rooms/([^/]+)/members", bind(AddMember));
  routes.Get("/admin/v1/rooms/([^/]+)/members", bind(Members));
  routes.Delete("/admin/v1/rooms/([^/]+)/members/([^/]+)", bind(RemoveMember));
  routes.Get("/admin/v1/rooms/([^/]+)/history", bind(History));
  routes.Post("/admin/v1/users/([^/]+)/disconnect", bind(DisconnectUser));
}

}  // namespace parley::frontend
