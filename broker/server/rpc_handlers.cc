#include "broker/server/rpc_handlers.h"

#include <string>
#include <utility>

#include "broker/server/proto_conversion.h"
#include "broker/server/status_mapping.h"

namespace parley::broker {
namespace {

// Finishes with `result`'s error, or fills the response with `fill` and finishes OK.
template <typename T, typename Fill>
auto Answer(GrpcDone done, Fill fill) {
  return [done = std::move(done), fill = std::move(fill)](absl::StatusOr<T> result) mutable {
    if (!result.ok()) {
      std::move(done)(ToGrpcStatus(result.status()));
      return;
    }
    fill(*result);
    std::move(done)(grpc::Status::OK);
  };
}

StatusDone AnswerStatus(GrpcDone done) {
  return [done = std::move(done)](absl::Status status) mutable {
    std::move(done)(ToGrpcStatus(status));
  };
}

}  // namespace

void RpcHandlers::Connect(const v1::ConnectRequest& request, v1::ConnectResponse* response,
                          GrpcDone done) {
  const absl::Time started = request.session_started_unix_ms() > 0
                                 ? absl::FromUnixMillis(request.session_started_unix_ms())
                                 : absl::InfinitePast();
  state_->Connect(request.user(), request.session(), started,
                  Answer<ConnectResult>(std::move(done), [response](ConnectResult& result) {
                    response->set_epoch(result.epoch);
                    response->set_cursor(result.cursor);
                    response->set_created(result.created);
                    for (const RoomPresenceInfo& room : result.presence) {
                      ToProto(room, response->add_presence());
                    }
                  }));
}

void RpcHandlers::Disconnect(const v1::DisconnectRequest& request, v1::DisconnectResponse*,
                             GrpcDone done) {
  state_->Disconnect(request.user(), request.session(), AnswerStatus(std::move(done)));
}

void RpcHandlers::Publish(const v1::PublishRequest& request, v1::PublishResponse* response,
                          GrpcDone done) {
  PublishInput input;
  input.sender = request.sender();
  input.room = request.room();
  input.to_user = request.to_user();
  input.text = request.text();
  input.idempotency_key = request.idempotency_key();
  input.system = request.system();
  input.hold_for_session = request.hold_for_session();
  input.sender_session = request.sender_session();
  input.to_holder = request.to_holder();
  const bool direct = !input.to_user.empty();
  state_->Publish(input,
                  Answer<PublishResult>(std::move(done), [response, direct](PublishResult& result) {
                    ToProto(*result.message, 0, response->mutable_message());
                    response->set_recipients(result.recipients);
                    response->set_duplicate(result.duplicate);
                    response->set_held(direct && result.recipients == 0);
                  }));
}

void RpcHandlers::Join(const v1::JoinRequest& request, v1::JoinResponse* response, GrpcDone done) {
  state_->Join(
      request.user(), request.room(), request.granted(),
      Answer<JoinResult>(std::move(done), [response, room = request.room()](JoinResult& result) {
        response->set_created(result.created);
        response->set_joined(result.joined);
        ToProto({room, result.presence}, response->mutable_presence());
      }));
}

void RpcHandlers::Leave(const v1::LeaveRequest& request, v1::LeaveResponse*, GrpcDone done) {
  state_->Leave(request.user(), request.room(), AnswerStatus(std::move(done)));
}

void RpcHandlers::History(const v1::HistoryRequest& request, v1::HistoryResponse* response,
                          GrpcDone done) {
  HistoryQuery query{.limit = request.limit(), .before = request.before()};
  state_->History(request.room(), request.user(), query,
                  Answer<HistoryPage>(std::move(done), [response](HistoryPage& page) {
                    for (const MessagePtr& message : page.messages) {
                      ToProto(*message, 0, response->add_messages());
                    }
                    response->set_older(page.older);
                  }));
}

void RpcHandlers::Members(const v1::MembersRequest& request, v1::MembersResponse* response,
                          GrpcDone done) {
  MembersQuery query;
  query.limit = request.limit();
  query.after = request.after();
  query.online_only = request.online_only();
  query.prefix = request.prefix();
  state_->Members(request.room(), request.user(), query,
                  Answer<MembersResult>(
                      std::move(done), [response, room = request.room()](MembersResult& result) {
                        for (const MemberInfo& member : result.page.members) {
                          v1::Member* out = response->add_members();
                          out->set_user(member.user);
                          out->set_online(member.online);
                        }
                        response->set_next_after(result.page.next_after);
                        ToProto({room, result.presence}, response->mutable_presence());
                      }));
}

void RpcHandlers::Rooms(const v1::RoomsRequest& request, v1::RoomsResponse* response,
                        GrpcDone done) {
  state_->RoomsOf(request.user(),
                  Answer<std::vector<RoomPresenceInfo>>(
                      std::move(done), [response](std::vector<RoomPresenceInfo>& rooms) {
                        for (const RoomPresenceInfo& room : rooms) {
                          response->add_rooms(room.room);
                          ToProto(room, response->add_presence());
                        }
                      }));
}

void RpcHandlers::CreateRoom(const v1::CreateRoomRequest& request, v1::CreateRoomResponse* response,
                             GrpcDone done) {
  RoomSpec spec;
  spec.name = request.name();
  spec.is_private = request.private_();
  spec.members.assign(request.members().begin(), request.members().end());
  state_->CreateRoom(
      spec, Answer<CreateRoomResult>(std::move(done), [response](CreateRoomResult& result) {
        ToProto(result.room, response->mutable_room());
        for (const std::string& user : result.joined) {
          response->add_joined(user);
        }
      }));
}

void RpcHandlers::AddMember(const v1::AddMemberRequest& request, v1::AddMemberResponse* response,
                            GrpcDone done) {
  state_->AddMember(
      request.room(), request.user(),
      Answer<bool>(std::move(done), [response](bool joined) { response->set_joined(joined); }));
}

void RpcHandlers::RemoveMember(const v1::RemoveMemberRequest& request,
                               v1::RemoveMemberResponse* response, GrpcDone done) {
  state_->RemoveMember(
      request.room(), request.user(),
      Answer<bool>(std::move(done), [response](bool left) { response->set_left(left); }));
}

void RpcHandlers::DisconnectUser(const v1::DisconnectUserRequest& request,
                                 v1::DisconnectUserResponse* response, GrpcDone done) {
  state_->EndUser(request.user(), Answer<bool>(std::move(done), [response](bool was_connected) {
                    response->set_was_connected(was_connected);
                  }));
}

void RpcHandlers::ListRooms(const v1::ListRoomsRequest&, v1::ListRoomsResponse* response,
                            GrpcDone done) {
  state_->ListRooms(Answer<std::vector<RoomListing>>(std::move(done),
                                                     [response](std::vector<RoomListing>& rooms) {
                                                       for (const RoomListing& room : rooms)
                                                         ToProto(room, response->add_rooms());
                                                     }));
}

void RpcHandlers::Stats(const v1::StatsRequest&, v1::StatsResponse* response, GrpcDone done) {
  state_->Stats(Answer<ChatStats>(std::move(done), [response](ChatStats& stats) {
    response->set_users(stats.users);
    response->set_rooms(stats.rooms);
    response->set_parked_polls(stats.parked_polls);
    response->set_messages_published(stats.messages_published);
  }));
}

}  // namespace parley::broker
