#include "broker/server/rpc_handlers.h"

#include "broker/server/proto_conversion.h"
#include "broker/server/status_mapping.h"

namespace parley::broker {

grpc::Status RpcHandlers::Connect(const v1::ConnectRequest& request,
                                  v1::ConnectResponse* response) {
  absl::StatusOr<ConnectResult> result = state_->Connect(request.user(), request.session());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_epoch(result->epoch);
  response->set_cursor(result->cursor);
  response->set_created(result->created);
  for (const RoomPresenceInfo& room : result->presence) ToProto(room, response->add_presence());
  return grpc::Status::OK;
}

grpc::Status RpcHandlers::Disconnect(const v1::DisconnectRequest& request,
                                     v1::DisconnectResponse*) {
  return ToGrpcStatus(state_->Disconnect(request.user(), request.session()));
}

grpc::Status RpcHandlers::Publish(const v1::PublishRequest& request,
                                  v1::PublishResponse* response) {
  PublishInput input;
  input.sender = request.sender();
  input.room = request.room();
  input.to_user = request.to_user();
  input.text = request.text();
  input.idempotency_key = request.idempotency_key();
  absl::StatusOr<PublishResult> result = state_->Publish(input);
  if (!result.ok()) return ToGrpcStatus(result.status());
  ToProto(*result->message, 0, response->mutable_message());
  response->set_recipients(result->recipients);
  response->set_duplicate(result->duplicate);
  return grpc::Status::OK;
}

grpc::Status RpcHandlers::Join(const v1::JoinRequest& request, v1::JoinResponse* response) {
  absl::StatusOr<JoinResult> result = state_->Join(request.user(), request.room());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_created(result->created);
  response->set_joined(result->joined);
  ToProto({request.room(), result->presence}, response->mutable_presence());
  return grpc::Status::OK;
}

grpc::Status RpcHandlers::Leave(const v1::LeaveRequest& request, v1::LeaveResponse*) {
  return ToGrpcStatus(state_->Leave(request.user(), request.room()));
}

grpc::Status RpcHandlers::History(const v1::HistoryRequest& request,
                                  v1::HistoryResponse* response) {
  absl::StatusOr<std::vector<MessagePtr>> messages =
      state_->History(request.room(), request.limit());
  if (!messages.ok()) return ToGrpcStatus(messages.status());
  for (const MessagePtr& message : *messages) ToProto(*message, 0, response->add_messages());
  return grpc::Status::OK;
}

grpc::Status RpcHandlers::Members(const v1::MembersRequest& request,
                                  v1::MembersResponse* response) {
  MembersQuery query;
  query.limit = request.limit();
  query.after = request.after();
  query.online_only = request.online_only();
  query.prefix = request.prefix();
  absl::StatusOr<MembersResult> result = state_->Members(request.room(), query);
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (const MemberInfo& member : result->page.members) {
    v1::Member* out = response->add_members();
    out->set_user(member.user);
    out->set_online(member.online);
  }
  response->set_next_after(result->page.next_after);
  ToProto({request.room(), result->presence}, response->mutable_presence());
  return grpc::Status::OK;
}

grpc::Status RpcHandlers::Rooms(const v1::RoomsRequest& request, v1::RoomsResponse* response) {
  absl::StatusOr<std::vector<RoomPresenceInfo>> rooms = state_->RoomsOf(request.user());
  if (!rooms.ok()) return ToGrpcStatus(rooms.status());
  for (const RoomPresenceInfo& room : *rooms) {
    response->add_rooms(room.room);
    ToProto(room, response->add_presence());
  }
  return grpc::Status::OK;
}

grpc::Status RpcHandlers::Stats(const v1::StatsRequest&, v1::StatsResponse* response) {
  const ChatStats stats = state_->Stats();
  response->set_users(stats.users);
  response->set_rooms(stats.rooms);
  response->set_parked_polls(stats.parked_polls);
  response->set_messages_published(stats.messages_published);
  return grpc::Status::OK;
}

}  // namespace parley::broker
