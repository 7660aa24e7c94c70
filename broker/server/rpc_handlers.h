#ifndef PARLEY_BROKER_SERVER_RPC_HANDLERS_H_
#define PARLEY_BROKER_SERVER_RPC_HANDLERS_H_

#include <grpcpp/support/status.h>

#include "broker/core/chat_state.h"
#include "broker/server/grpc_done.h"
#include "parley/v1/broker.pb.h"

namespace parley::broker {

// Translates the answered-at-once RPCs between protobuf and the chat logic: each reads its
// request, calls ChatState, and from ChatState's answer fills the response and maps the
// status. The response must live until `done` runs. No state of its own; safe to call from
// every completion-queue thread at once.
class RpcHandlers {
 public:
  explicit RpcHandlers(ChatState* state) : state_(state) {}

  void Connect(const v1::ConnectRequest& request, v1::ConnectResponse* response, GrpcDone done);
  void Disconnect(const v1::DisconnectRequest& request, v1::DisconnectResponse*, GrpcDone done);
  void Publish(const v1::PublishRequest& request, v1::PublishResponse* response, GrpcDone done);
  void Join(const v1::JoinRequest& request, v1::JoinResponse* response, GrpcDone done);
  void Leave(const v1::LeaveRequest& request, v1::LeaveResponse*, GrpcDone done);
  void History(const v1::HistoryRequest& request, v1::HistoryResponse* response, GrpcDone done);
  void Members(const v1::MembersRequest& request, v1::MembersResponse* response, GrpcDone done);
  void Rooms(const v1::RoomsRequest& request, v1::RoomsResponse* response, GrpcDone done);
  void Stats(const v1::StatsRequest&, v1::StatsResponse* response, GrpcDone done);
  // The server API's calls.
  void CreateRoom(const v1::CreateRoomRequest& request, v1::CreateRoomResponse* response,
                  GrpcDone done);
  void AddMember(const v1::AddMemberRequest& request, v1::AddMemberResponse* response,
                 GrpcDone done);
  void RemoveMember(const v1::RemoveMemberRequest& request, v1::RemoveMemberResponse* response,
                    GrpcDone done);
  void DisconnectUser(const v1::DisconnectUserRequest& request,
                      v1::DisconnectUserResponse* response, GrpcDone done);
  void ListRooms(const v1::ListRoomsRequest&, v1::ListRoomsResponse* response, GrpcDone done);

 private:
  ChatState* const state_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_RPC_HANDLERS_H_
