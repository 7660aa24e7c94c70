#ifndef PARLEY_BROKER_SERVER_RPC_HANDLERS_H_
#define PARLEY_BROKER_SERVER_RPC_HANDLERS_H_

#include <grpcpp/support/status.h>

#include "broker/core/chat_state.h"
#include "parley/v1/broker.pb.h"

namespace parley::broker {

// Translates the answered-at-once RPCs between protobuf and the chat logic: each reads its
// request, calls ChatState, fills the response and maps the status. No state of its own;
// safe to call from every completion-queue thread at once.
class RpcHandlers {
 public:
  explicit RpcHandlers(ChatState* state) : state_(state) {}

  grpc::Status Connect(const v1::ConnectRequest& request, v1::ConnectResponse* response);
  grpc::Status Disconnect(const v1::DisconnectRequest& request, v1::DisconnectResponse*);
  grpc::Status Publish(const v1::PublishRequest& request, v1::PublishResponse* response);
  grpc::Status Join(const v1::JoinRequest& request, v1::JoinResponse* response);
  grpc::Status Leave(const v1::LeaveRequest& request, v1::LeaveResponse*);
  grpc::Status History(const v1::HistoryRequest& request, v1::HistoryResponse* response);
  grpc::Status Members(const v1::MembersRequest& request, v1::MembersResponse* response);
  grpc::Status Rooms(const v1::RoomsRequest& request, v1::RoomsResponse* response);
  grpc::Status Stats(const v1::StatsRequest&, v1::StatsResponse* response);

 private:
  ChatState* const state_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_RPC_HANDLERS_H_
