#include "frontend/broker/broker_client.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace parley::frontend {
namespace {

// Completion threads: two, so one slow `done` does not hold every answer back. (Debian's
// libgrpc checks each event against every tag outstanding on its queue; two queues also
// halve that scan.)
constexpr int kCompletionQueues = 2;
// PollStreams per client at most: a frontend in front of more brokers shares them.
constexpr size_t kMaxStreams = 64;
constexpr absl::Duration kRecountEvery = absl::Seconds(30);

// The host of a "dns:///host:port" (or "dns://authority/host:port") target; empty for others.
std::string DnsName(const std::string& target, int brokers) {
  if (brokers != 0 || target.rfind("dns:", 0) != 0) return "";
  std::string rest = target.substr(4);
  if (rest.rfind("//", 0) == 0) rest = rest.substr(rest.find('/', 2) + 1);
  return rest.substr(0, rest.rfind(':'));
}

// How many addresses `name` has now (0 when it does not resolve).
size_t CountAddresses(const std::string& name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0) return 0;
  absl::flat_hash_set<std::string> distinct;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    distinct.insert(std::string(reinterpret_cast<const char*>(a->ai_addr), a->ai_addrlen));
  }
  freeaddrinfo(found);
  return distinct.size();
}

std::shared_ptr<grpc::Channel> Dial(const std::string& address,
                                    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                                    int index) {
  grpc::ChannelArguments args;
  // Distinct arguments, or gRPC would share one connection among the channels.
  args.SetInt("parley.channel_index", index);
  // gRPC's default reconnect backoff grows to two minutes; a restarted broker should be
  // found again within about a second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A broker that vanishes without a reset (its machine gone) leaves a PollStream open
  // forever; pings every 5 s unanswered for 5 s end it, and its polls are sent again.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Every broker the target names or resolves to, each call to the next one that is up.
  args.SetServiceConfigJSON(R"({"loadBalancingConfig": [{"round_robin": {}}]})");
  return grpc::CreateCustomChannel(
      address, credentials ? credentials : grpc::InsecureChannelCredentials(), args);
}

}  // namespace

BrokerClient::BrokerClient(const BrokerClientOptions& options)
    : call_timeout_(options.call_timeout),
      poll_margin_(options.poll_margin),
      dns_name_(DnsName(options.address, options.brokers)) {
  for (int i = 0; i < std::max(options.channels, 1); ++i) {
    channels_.push_back(Dial(options.address, options.credentials, i));
    stubs_.push_back(v1::Broker::NewStub(channels_.back()));
    // Connect now rather than at first use: a call meeting a channel still connecting waited
    // ~100 ms (bench siege10's p99 after a start).
    channels_.back()->GetState(/*try_to_connect=*/true);
  }
  for (int i = 0; i < kCompletionQueues; ++i) {
    queues_.push_back(std::make_unique<grpc::CompletionQueue>());
    completion_threads_.emplace_back(&BrokerClient::Drain, queues_.back().get());
  }
  if (!options.poll_stream) return;
  PollStreamCounters* counters = options.counters ? options.counters : &own_counters_;
  const size_t brokers = dns_name_.empty() ? static_cast<size_t>(std::max(options.brokers, 1))
                                           : std::max<size_t>(CountAddresses(dns_name_), 1);
  // A DNS name may grow: every slot exists (an idle PollStream holds no call), the count
  // decides how many take polls.
  const size_t slots = ActiveStreamsFor(dns_name_.empty() ? brokers : kMaxStreams);
  for (size_t i = 0; i < slots; ++i) {
    streams_.push_back(std::make_unique<PollStream>(
        stubs_[i % stubs_.size()].get(), queues_[i % queues_.size()].get(), counters,
        [this](const v1::PollRequest& request, Done<v1::PollResponse> done) {
          return UnaryPollAsync(request, std::move(done));
        },
        options.stream_max_age));
  }
  active_streams_ = ActiveStreamsFor(brokers);
  expiry_thread_ = std::thread(&BrokerClient::ExpireOverduePolls, this);
}

BrokerClient::~BrokerClient() {
  Quiesce();
  stop_expiry_.Notify();
  if (expiry_thread_.joinable()) expiry_thread_.join();
  for (auto& stream : streams_) stream->Close();
  for (auto& queue : queues_) queue->Shutdown();
  for (std::thread& thread : completion_threads_) thread.join();
}

void BrokerClient::Drain(grpc::CompletionQueue* queue) {
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) static_cast<Completion*>(tag)->Complete(ok);
}

grpc::CompletionQueue* BrokerClient::NextQueue() {
  return queues_[next_queue_.fetch_add(1, std::memory_order_relaxed) % queues_.size()].get();
}

size_t BrokerClient::NextUp(size_t first, size_t count) {
  if (stubs_.size() > 1) {
    for (size_t i = 0; i < count; ++i) {
      const size_t index = (first + i) % count;
      // GetState(true) also starts connecting an idle channel.
      if (channels_[index % stubs_.size()]->GetState(/*try_to_connect=*/true) ==
          GRPC_CHANNEL_READY) {
        return index;
      }
    }
  }
  return first % count;  // one channel, or none is up: this call finds out why
}

size_t BrokerClient::ActiveStreamsFor(size_t brokers) const {
  return std::max(stubs_.size(), std::min(brokers, kMaxStreams));
}

void BrokerClient::ExpireOverduePolls() {
  absl::Time recount_at = absl::Now() + kRecountEvery;
  while (!stop_expiry_.WaitForNotificationWithTimeout(absl::Milliseconds(250))) {
    const absl::Time now = absl::Now();
    for (auto& stream : streams_) stream->ExpireOverdue(now);
    if (!dns_name_.empty() && now >= recount_at) {
      recount_at = now + kRecountEvery;
      // Fewer brokers: the streams past the count take no new polls and empty by themselves.
      if (const size_t brokers = CountAddresses(dns_name_); brokers > 0) {
        active_streams_ = ActiveStreamsFor(brokers);
      }
    }
  }
}

void BrokerClient::CallStarted() {
  absl::MutexLock lock(&mu_);
  ++calls_in_flight_;
}

void BrokerClient::CallEnded() {
  absl::MutexLock lock(&mu_);
  --calls_in_flight_;
}

void BrokerClient::Quiesce() {
  CancelPolls();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &calls_in_flight_));
}

std::shared_ptr<BrokerClient::PendingPoll> BrokerClient::PollAsync(const v1::PollRequest& request,
                                                                   Executor* executor,
                                                                   Done<v1::PollResponse> done) {
  if (streams_.empty()) return UnaryPollAsync(request, std::move(done));
  {
    absl::MutexLock lock(&mu_);
    if (polls_cancelled_) {
      done(grpc::Status::OK, v1::PollResponse());  // shutting down: answered empty at once
      return nullptr;
    }
    ++calls_in_flight_;
  }
  const absl::Time deadline = absl::Now() + absl::Milliseconds(request.wait_ms()) + poll_margin_;
  // A user's polls keep to one stream while its channel is up, so they reach the same broker,
  // whose Redis store answers them from its mirror of the user's queue (a poll that moves to
  // another broker costs that broker a Redis read to learn the user again). Any broker could
  // answer: a stream that is down hands its users to the next one up.
  const size_t slot = absl::Hash<absl::string_view>{}(request.user());
  return streams_[NextUp(slot, active_streams_.load(std::memory_order_relaxed))]->Add(
      request, deadline, executor,
      [this, done = std::move(done)](grpc::Status status, v1::PollResponse response) mutable {
        done(std::move(status), std::move(response));
        done = nullptr;  // what it holds goes before the call counts as ended
        CallEnded();
      });
}

std::shared_ptr<BrokerClient::PendingPoll> BrokerClient::UnaryPollAsync(
    const v1::PollRequest& request, Done<v1::PollResponse> done) {
  auto poll = std::make_shared<Poll>();
  poll->client_ = this;
  poll->context_.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(request.wait_ms()) + poll_margin_));
  poll->done_ = std::move(done);
  bool registered = false;
  {
    absl::MutexLock lock(&mu_);
    if (!polls_cancelled_) registered = polls_.insert(poll.get()).second;
  }
  if (!registered) {  // shutting down: answered empty at once
    poll->done_(grpc::Status::OK, v1::PollResponse());
    return nullptr;
  }
  CallStarted();
  poll->self_ = poll;  // until the tag comes back
  poll->reader_ = NextStub().PrepareAsyncPoll(&poll->context_, request, NextQueue());
  poll->reader_->StartCall();
  poll->reader_->Finish(&poll->response_, &poll->status_, static_cast<Completion*>(poll.get()));
  return poll;
}

void BrokerClient::Poll::Complete(bool) {
  BrokerClient* client = client_;
  bool shutting_down = false;
  {
    absl::MutexLock lock(&client->mu_);
    client->polls_.erase(this);
    shutting_down = client->polls_cancelled_;
  }
  grpc::Status status = std::move(status_);
  if (shutting_down && !status.ok()) {
    // Answered empty because the frontend is shutting down.
    response_.Clear();
    status = grpc::Status::OK;
  }
  // Moved out so that what `done` holds (which may hold this poll) is released once it ran.
  Done<v1::PollResponse> done = std::move(done_);
  done(std::move(status), std::move(response_));
  done = nullptr;
  std::shared_ptr<Poll> last = std::move(self_);  // may free this object
  last.reset();
  client->CallEnded();
}

void BrokerClient::CancelPolls() {
  {
    absl::MutexLock lock(&mu_);
    polls_cancelled_ = true;
    for (Poll* poll : polls_) poll->Cancel();
  }
  for (auto& stream : streams_) stream->AnswerAllEmpty();
}

// One unary call in flight; deletes itself when its tag has come back and `done` has run.
template <typename Response>
class BrokerClient::UnaryCall final : public Completion {
 public:
  UnaryCall(BrokerClient* client, Done<Response> done) : client_(client), done_(std::move(done)) {}
  void Complete(bool) override {
    BrokerClient* client = client_;
    done_(std::move(status_), std::move(response_));
    delete this;
    client->CallEnded();
  }

  grpc::ClientContext context;
  grpc::Status status_;
  Response response_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;

 private:
  BrokerClient* const client_;
  Done<Response> done_;
};

template <typename Request, typename Response>
void BrokerClient::UnaryAsync(AsyncMethod<Request, Response> method, const Request& request,
                              Done<Response> done) {
  auto* call = new UnaryCall<Response>(this, std::move(done));
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_));
  CallStarted();
  call->reader = (NextStub().*method)(&call->context, request, NextQueue());
  call->reader->StartCall();
  call->reader->Finish(&call->response_, &call->status_, static_cast<Completion*>(call));
}

void BrokerClient::ConnectAsync(const v1::ConnectRequest& request, Done<v1::ConnectResponse> done) {
  UnaryAsync<v1::ConnectRequest, v1::ConnectResponse>(&v1::Broker::Stub::PrepareAsyncConnect,
                                                      request, std::move(done));
}
void BrokerClient::DisconnectAsync(const v1::DisconnectRequest& request,
                                   Done<v1::DisconnectResponse> done) {
  UnaryAsync<v1::DisconnectRequest, v1::DisconnectResponse>(
      &v1::Broker::Stub::PrepareAsyncDisconnect, request, std::move(done));
}
void BrokerClient::PublishAsync(const v1::PublishRequest& request, Done<v1::PublishResponse> done) {
  UnaryAsync<v1::PublishRequest, v1::PublishResponse>(&v1::Broker::Stub::PrepareAsyncPublish,
                                                      request, std::move(done));
}
void BrokerClient::JoinAsync(const v1::JoinRequest& request, Done<v1::JoinResponse> done) {
  UnaryAsync<v1::JoinRequest, v1::JoinResponse>(&v1::Broker::Stub::PrepareAsyncJoin, request,
                                                std::move(done));
}
void BrokerClient::LeaveAsync(const v1::LeaveRequest& request, Done<v1::LeaveResponse> done) {
  UnaryAsync<v1::LeaveRequest, v1::LeaveResponse>(&v1::Broker::Stub::PrepareAsyncLeave, request,
                                                  std::move(done));
}
void BrokerClient::HistoryAsync(const v1::HistoryRequest& request, Done<v1::HistoryResponse> done) {
  UnaryAsync<v1::HistoryRequest, v1::HistoryResponse>(&v1::Broker::Stub::PrepareAsyncHistory,
                                                      request, std::move(done));
}
void BrokerClient::MembersAsync(const v1::MembersRequest& request, Done<v1::MembersResponse> done) {
  UnaryAsync<v1::MembersRequest, v1::MembersResponse>(&v1::Broker::Stub::PrepareAsyncMembers,
                                                      request, std::move(done));
}
void BrokerClient::RoomsAsync(const v1::RoomsRequest& request, Done<v1::RoomsResponse> done) {
  UnaryAsync<v1::RoomsRequest, v1::RoomsResponse>(&v1::Broker::Stub::PrepareAsyncRooms, request,
                                                  std::move(done));
}
void BrokerClient::StatsAsync(Done<v1::StatsResponse> done) {
  UnaryAsync<v1::StatsRequest, v1::StatsResponse>(&v1::Broker::Stub::PrepareAsyncStats,
                                                  v1::StatsRequest(), std::move(done));
}

void BrokerClient::CreateRoomAsync(const v1::CreateRoomRequest& request,
                                   Done<v1::CreateRoomResponse> done) {
  UnaryAsync<v1::CreateRoomRequest, v1::CreateRoomResponse>(
      &v1::Broker::Stub::PrepareAsyncCreateRoom, request, std::move(done));
}
void BrokerClient::AddMemberAsync(const v1::AddMemberRequest& request,
                                  Done<v1::AddMemberResponse> done) {
  UnaryAsync<v1::AddMemberRequest, v1::AddMemberResponse>(&v1::Broker::Stub::PrepareAsyncAddMember,
                                                          request, std::move(done));
}
void BrokerClient::RemoveMemberAsync(const v1::RemoveMemberRequest& request,
                                     Done<v1::RemoveMemberResponse> done) {
  UnaryAsync<v1::RemoveMemberRequest, v1::RemoveMemberResponse>(
      &v1::Broker::Stub::PrepareAsyncRemoveMember, request, std::move(done));
}
void BrokerClient::DisconnectUserAsync(const v1::DisconnectUserRequest& request,
                                       Done<v1::DisconnectUserResponse> done) {
  UnaryAsync<v1::DisconnectUserRequest, v1::DisconnectUserResponse>(
      &v1::Broker::Stub::PrepareAsyncDisconnectUser, request, std::move(done));
}
void BrokerClient::ListRoomsAsync(Done<v1::ListRoomsResponse> done) {
  UnaryAsync<v1::ListRoomsRequest, v1::ListRoomsResponse>(&v1::Broker::Stub::PrepareAsyncListRooms,
                                                          v1::ListRoomsRequest(), std::move(done));
}

}  // namespace parley::frontend
