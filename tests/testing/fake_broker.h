#ifndef PARLEY_TESTS_TESTING_FAKE_BROKER_H_
#define PARLEY_TESTS_TESTING_FAKE_BROKER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "frontend/broker/broker_api.h"
#include "google/protobuf/message.h"

namespace parley::testing {

// A scripted broker for route tests (frontend::BrokerApi without gRPC). Every call is
// recorded. A unary call is answered at once, on the calling thread, by the script the test
// set for its method (default: OK and an empty answer). A Poll is held until the test answers
// it (AnswerPoll: its `done` runs on the poll's executor, as BrokerClient runs it, or on the
// test's thread without one) or it is cancelled (then it ends CANCELLED, inline, as a stricter
// form of gRPC's callback). Thread-safe.
class FakeBroker : public frontend::BrokerApi {
 public:
  // Fills `response` for `request` and returns the status. Method names as in broker.proto.
  using Script = std::function<grpc::Status(const google::protobuf::Message& request,
                                            google::protobuf::Message* response)>;
  void Answer(const std::string& method, Script script);

  // Every request of `method` so far, in order (Poll included).
  std::vector<std::string> Requests(const std::string& method);  // as text format
  int Calls(const std::string& method);

  // Polls: waits until `count` have been made; the i-th's request; answers it.
  bool WaitForPolls(size_t count, absl::Duration timeout = absl::Seconds(10));
  v1::PollRequest PollRequestAt(size_t i);
  void AnswerPoll(size_t i, grpc::Status status, v1::PollResponse response);
  bool PollCancelled(size_t i);
  bool polls_cancelled();  // CancelPolls() was called

  std::shared_ptr<PendingPoll> PollAsync(const v1::PollRequest& request, Executor* executor,
                                         Done<v1::PollResponse> done) override;
  void ConnectAsync(const v1::ConnectRequest& request, Done<v1::ConnectResponse> done) override;
  void DisconnectAsync(const v1::DisconnectRequest& request,
                       Done<v1::DisconnectResponse> done) override;
  void PublishAsync(const v1::PublishRequest& request, Done<v1::PublishResponse> done) override;
  void JoinAsync(const v1::JoinRequest& request, Done<v1::JoinResponse> done) override;
  void LeaveAsync(const v1::LeaveRequest& request, Done<v1::LeaveResponse> done) override;
  void HistoryAsync(const v1::HistoryRequest& request, Done<v1::HistoryResponse> done) override;
  void MembersAsync(const v1::MembersRequest& request, Done<v1::MembersResponse> done) override;
  void RoomsAsync(const v1::RoomsRequest& request, Done<v1::RoomsResponse> done) override;
  void StatsAsync(Done<v1::StatsResponse> done) override;
  void CancelPolls() override;
  void Quiesce() override { CancelPolls(); }

 private:
  class HeldPoll;
  template <typename Request, typename Response>
  void Unary(const std::string& method, const Request& request, Done<Response> done);
  // Ends poll `i` once (true if this call did), its `done` on its executor if `posted`.
  bool Finish(size_t i, grpc::Status status, v1::PollResponse response, bool posted = false);

  absl::Mutex mu_;
  std::map<std::string, Script> scripts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> requests_ ABSL_GUARDED_BY(mu_);
  struct Poll {
    v1::PollRequest request;
    Executor* executor = nullptr;
    Done<v1::PollResponse> done;
    bool finished = false;
    bool cancelled = false;
  };
  std::vector<std::shared_ptr<Poll>> polls_ ABSL_GUARDED_BY(mu_);
  bool polls_cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_FAKE_BROKER_H_
