#ifndef PARLEY_FRONTEND_BROKER_BROKER_API_H_
#define PARLEY_FRONTEND_BROKER_BROKER_API_H_

#include <grpcpp/support/status.h>

#include <memory>

#include "absl/functional/any_invocable.h"
#include "common/executor.h"
#include "parley/v1/broker.pb.h"

namespace parley::frontend {

// The broker as the frontend's routes see it: every call asynchronous. A call starts and
// returns at once; its `done` runs once, later on another thread (gRPC's, for BrokerClient)
// or at once on the calling thread when the call cannot start, with the status and the
// answer. `done` must not block; it may start further calls. The seam between the routes and
// the gRPC client: route tests run against a fake broker as well as the real one.
// Implementations are thread-safe.
class BrokerApi {
 public:
  template <typename Response>
  using Done = absl::AnyInvocable<void(grpc::Status, Response)>;

  // A Poll in flight. Cancel() ends it with CANCELLED (the HTTP client left); any thread.
  class PendingPoll {
   public:
    virtual ~PendingPoll() = default;
    virtual void Cancel() = 0;
  };

  virtual ~BrokerApi() = default;

  // Null when answered at once (the frontend is shutting down: OK and empty). `executor`, if
  // not null, is where `done` would best run (the HTTP loop of the request that asked): an
  // implementation may post it there, one post for all the answers it has for that executor
  // at once, instead of running it on its own thread.
  virtual std::shared_ptr<PendingPoll> PollAsync(const v1::PollRequest& request, Executor* executor,
                                                 Done<v1::PollResponse> done) = 0;
  virtual void ConnectAsync(const v1::ConnectRequest& request, Done<v1::ConnectResponse> done) = 0;
  virtual void DisconnectAsync(const v1::DisconnectRequest& request,
                               Done<v1::DisconnectResponse> done) = 0;
  virtual void PublishAsync(const v1::PublishRequest& request, Done<v1::PublishResponse> done) = 0;
  virtual void JoinAsync(const v1::JoinRequest& request, Done<v1::JoinResponse> done) = 0;
  virtual void LeaveAsync(const v1::LeaveRequest& request, Done<v1::LeaveResponse> done) = 0;
  virtual void HistoryAsync(const v1::HistoryRequest& request, Done<v1::HistoryResponse> done) = 0;
  virtual void MembersAsync(const v1::MembersRequest& request, Done<v1::MembersResponse> done) = 0;
  virtual void RoomsAsync(const v1::RoomsRequest& request, Done<v1::RoomsResponse> done) = 0;
  virtual void StatsAsync(Done<v1::StatsResponse> done) = 0;

  // The server API's calls (the admin listener's routes). A fake with no use for them keeps
  // these, which answer UNIMPLEMENTED at once.
  virtual void CreateRoomAsync(const v1::CreateRoomRequest&, Done<v1::CreateRoomResponse> done) {
    done(Unimplemented(), {});
  }
  virtual void AddMemberAsync(const v1::AddMemberRequest&, Done<v1::AddMemberResponse> done) {
    done(Unimplemented(), {});
  }
  virtual void RemoveMemberAsync(const v1::RemoveMemberRequest&,
                                 Done<v1::RemoveMemberResponse> done) {
    done(Unimplemented(), {});
  }
  virtual void DisconnectUserAsync(const v1::DisconnectUserRequest&,
                                   Done<v1::DisconnectUserResponse> done) {
    done(Unimplemented(), {});
  }
  virtual void ListRoomsAsync(Done<v1::ListRoomsResponse> done) { done(Unimplemented(), {}); }

  // For shutdown: ends every Poll in flight (OK and empty) and answers later ones so at once.
  virtual void CancelPolls() = 0;
  // CancelPolls, then waits until every call's `done` has returned; after it none runs.
  virtual void Quiesce() = 0;

 private:
  static grpc::Status Unimplemented() {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not offered by this broker client");
  }
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_BROKER_BROKER_API_H_
