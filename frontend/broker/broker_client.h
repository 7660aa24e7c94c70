#ifndef PARLEY_FRONTEND_BROKER_BROKER_CLIENT_H_
#define PARLEY_FRONTEND_BROKER_BROKER_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "frontend/broker/broker_api.h"
#include "frontend/broker/completion.h"
#include "frontend/broker/poll_stream.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::frontend {

struct BrokerClientOptions {
  std::string address;  // a gRPC target (BrokerTarget::grpc_target), round-robined
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // TLS to the broker; null: plaintext
  absl::Duration call_timeout = absl::Seconds(2);         // bounds every RPC but Poll
  absl::Duration poll_margin = absl::Seconds(2);          // a Poll's deadline is its wait + this
  int channels = 1;
  // Long polls travel as PollStream messages (one stream per channel); false: one unary Poll
  // RPC each.
  bool poll_stream = true;
  // Where the streams count (metrics); null: nowhere anyone reads.
  PollStreamCounters* counters = nullptr;
  // Brokers the target names (BrokerTarget::listed_brokers); 0: count them by DNS, now and
  // every 30 s. Polls get at least one PollStream per broker (up to kMaxStreams).
  int brokers = 1;
  // Each PollStream call is retired after about this long (0: never), so streams spread onto
  // brokers added since.
  absl::Duration stream_max_age = absl::Minutes(2);
};

// The frontend's connection to the brokers (BrokerApi over gRPC): `channels` gRPC channels to
// the target, each with gRPC's round_robin policy over every broker the target names or
// resolves to, and its own HTTP/2 connection per broker (gRPC reconnects them by itself, with a
// short backoff so a restarted broker is found within about a second; a broker that is down
// is skipped). Calls go to the connected channels in turn: after a broker restart the
// channels reconnect one by one, and a call must not pick one still waiting out its backoff
// while another is up. Every call has a deadline, and a registry of in-flight Polls lets
// shutdown answer them at once. Polls go on PollStreams, at least one per broker (each
// stream's call lands on the next broker in round_robin's turn; keepalive pings every few
// seconds notice a broker gone without a reset, and its cursor polls move to another), or
// as unary Polls without `poll_stream` or when the broker lacks the stream.
//
// Calls complete on completion queues of our own, each drained by one thread that runs the
// calls' `done`. (gRPC's callback API left an answer unnoticed until its backup poller's next
// round, ~100 ms, whenever none of gRPC's threads happened to be polling: a thread always
// waiting in `Next()` is always polling.)
// Thread-safe: the HTTP loop threads and the completion threads call it concurrently.
class BrokerClient final : public BrokerApi {
 public:
  explicit BrokerClient(const BrokerClientOptions& options);
  ~BrokerClient() override;  // Quiesce, then ends the streams and the completion threads

  // A Poll in flight: its gRPC context, answer and callback. Holds itself (self_) until its
  // tag has come back.
  class Poll final : public PendingPoll, public Completion {
   public:
    void Cancel() override { context_.TryCancel(); }
    void Complete(bool ok) override;

   private:
    friend class BrokerClient;
    BrokerClient* client_ = nullptr;
    std::shared_ptr<Poll> self_;
    grpc::ClientContext context_;
    v1::PollResponse response_;
    grpc::Status status_;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PollResponse>> reader_;
    Done<v1::PollResponse> done_;
  };

  void CancelPolls() override;
  void Quiesce() override;

  // A Poll's deadline is its wait + `poll_margin`. On a stream, `done` is posted to
  // `executor` (all the answers of one broker message for it in one post); as a unary Poll,
  // it runs on the completion thread.
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
  void CreateRoomAsync(const v1::CreateRoomRequest& request,
                       Done<v1::CreateRoomResponse> done) override;
  void AddMemberAsync(const v1::AddMemberRequest& request,
                      Done<v1::AddMemberResponse> done) override;
  void RemoveMemberAsync(const v1::RemoveMemberRequest& request,
                         Done<v1::RemoveMemberResponse> done) override;
  void DisconnectUserAsync(const v1::DisconnectUserRequest& request,
                           Done<v1::DisconnectUserResponse> done) override;
  void ListRoomsAsync(Done<v1::ListRoomsResponse> done) override;

 private:
  template <typename Request, typename Response>
  using AsyncMethod = std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (
      v1::Broker::Stub::*)(grpc::ClientContext*, const Request&, grpc::CompletionQueue*);
  template <typename Response>
  class UnaryCall;

  std::shared_ptr<PendingPoll> UnaryPollAsync(const v1::PollRequest& request,
                                              Done<v1::PollResponse> done);
  // Every quarter second: ends stream polls the broker left unanswered past their deadline;
  // every 30 s with a DNS target: counts the brokers again.
  void ExpireOverduePolls();
  // Of `count` channels (or streams, stream i on channel i % channels), the one at `first`
  // (modulo `count`) or the next after it whose channel is up; with one channel, that one.
  size_t NextUp(size_t first, size_t count);
  // How many PollStreams take polls for `brokers` brokers: one each (at most kMaxStreams), and
  // at least one per channel.
  size_t ActiveStreamsFor(size_t brokers) const;

  template <typename Request, typename Response>
  void UnaryAsync(AsyncMethod<Request, Response> method, const Request& request,
                  Done<Response> done);
  grpc::CompletionQueue* NextQueue();
  static void Drain(grpc::CompletionQueue* queue);

  const absl::Duration call_timeout_;
  const absl::Duration poll_margin_;
  v1::Broker::Stub& NextStub() {
    return *stubs_[NextUp(next_stub_.fetch_add(1, std::memory_order_relaxed), stubs_.size())];
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::Broker::Stub>> stubs_;  // stubs_[i] uses channels_[i]
  std::atomic<size_t> next_stub_{0};
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> completion_threads_;  // one per queue
  std::atomic<size_t> next_queue_{0};
  PollStreamCounters own_counters_;
  // streams_[i] on channels_[i % channels]; or none. The first active_streams_ take polls.
  std::vector<std::unique_ptr<PollStream>> streams_;
  std::atomic<size_t> active_streams_{0};
  const std::string dns_name_;  // the name to count brokers of; empty: the count is known
  std::thread expiry_thread_;
  absl::Notification stop_expiry_;

  absl::Mutex mu_;
  absl::flat_hash_set<Poll*> polls_ ABSL_GUARDED_BY(mu_);
  bool polls_cancelled_ ABSL_GUARDED_BY(mu_) = false;
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // started, `done` not yet returned

  void CallStarted();
  void CallEnded();
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_BROKER_BROKER_CLIENT_H_
