#include "frontend/broker/broker_client.h"

#include <algorithm>


namespace parley::frontend {
namespace {

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
  return grpc::CreateCustomChannel(
      address, credentials ? credentials : grpc::InsecureChannelCredentials(), args);
}

}  // namespace

BrokerClient::BrokerClient(const std::string& address,
                           std::shared_ptr<grpc::ChannelCredentials> credentials,
                           absl::Duration call_timeout, absl::Duration poll_margin, int channels)
    : call_timeout_(call_timeout), poll_margin_(poll_margin) {
  for (int i = 0; i < std::max(channels, 1); ++i) {
    channels_.push_back(Dial(address, credentials, i));
    stubs_.push_back(v1::Broker::NewStub(channels_.back()));
    // Connect now rather than at first use: a call meeting a channel still connecting waited
    // ~100 ms (bench siege10's p99 after a start).
    channels_.back()->GetState(/*try_to_connect=*/true);
  }
}

v1::Broker::Stub& BrokerClient::NextStub() {
  const size_t first = next_stub_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < stubs_.size(); ++i) {
    const size_t index = (first + i) % stubs_.size();
    // GetState(true) also starts connecting an idle channel.
    if (channels_[index]->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY) {
      return *stubs_[index];
    }
  }
  return *stubs_[first % stubs_.size()];  // none is up: this call finds out why
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
                                                                   Done<v1::PollResponse> done) {
  auto poll = std::make_shared<Poll>();
  poll->context_.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(request.wait_ms()) + poll_margin_));
  poll->request_ = request;
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
  // The callback holds the poll until gRPC is done with its context and messages.
  NextStub().async()->Poll(&poll->context_, &poll->request_, &poll->response_,
                           [this, poll](grpc::Status status) {
                             bool shutting_down = false;
                             {
                               absl::MutexLock lock(&mu_);
                               polls_.erase(poll.get());
                               shutting_down = polls_cancelled_;
                             }
                             if (shutting_down && !status.ok()) {
                               // Answered empty because the frontend is shutting down.
                               poll->response_.Clear();
                               status = grpc::Status::OK;
                             }
                             // Moved out so that what `done` holds (which may hold this
                             // poll) is released once it has run.
                             Done<v1::PollResponse> done = std::move(poll->done_);
                             done(std::move(status), std::move(poll->response_));
                             done = nullptr;
                             CallEnded();
                           });
  return poll;
}

void BrokerClient::CancelPolls() {
  absl::MutexLock lock(&mu_);
  polls_cancelled_ = true;
  for (Poll* poll : polls_) poll->Cancel();
}

template <typename Request, typename Response>
void BrokerClient::UnaryAsync(AsyncMethod<Request, Response> method, const Request& request,
                              Done<Response> done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
    Done<Response> done;
  };
  auto* call = new Call;
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_));
  call->request = request;
  call->done = std::move(done);
  CallStarted();
  (NextStub().async()->*method)(&call->context, &call->request, &call->response,
                                [this, call](grpc::Status status) {
                                  call->done(std::move(status), std::move(call->response));
                                  delete call;
                                  CallEnded();
                                });
}

void BrokerClient::ConnectAsync(const v1::ConnectRequest& request, Done<v1::ConnectResponse> done) {
  UnaryAsync<v1::ConnectRequest, v1::ConnectResponse>(&v1::Broker::Stub::async::Connect, request,
                                                      std::move(done));
}
void BrokerClient::DisconnectAsync(const v1::DisconnectRequest& request,
                                   Done<v1::DisconnectResponse> done) {
  UnaryAsync<v1::DisconnectRequest, v1::DisconnectResponse>(&v1::Broker::Stub::async::Disconnect,
                                                            request, std::move(done));
}
void BrokerClient::PublishAsync(const v1::PublishRequest& request, Done<v1::PublishResponse> done) {
  UnaryAsync<v1::PublishRequest, v1::PublishResponse>(&v1::Broker::Stub::async::Publish, request,
                                                      std::move(done));
}
void BrokerClient::JoinAsync(const v1::JoinRequest& request, Done<v1::JoinResponse> done) {
  UnaryAsync<v1::JoinRequest, v1::JoinResponse>(&v1::Broker::Stub::async::Join, request,
                                                std::move(done));
}
void BrokerClient::LeaveAsync(const v1::LeaveRequest& request, Done<v1::LeaveResponse> done) {
  UnaryAsync<v1::LeaveRequest, v1::LeaveResponse>(&v1::Broker::Stub::async::Leave, request,
                                                  std::move(done));
}
void BrokerClient::HistoryAsync(const v1::HistoryRequest& request, Done<v1::HistoryResponse> done) {
  UnaryAsync<v1::HistoryRequest, v1::HistoryResponse>(&v1::Broker::Stub::async::History, request,
                                                      std::move(done));
}
void BrokerClient::MembersAsync(const v1::MembersRequest& request, Done<v1::MembersResponse> done) {
  UnaryAsync<v1::MembersRequest, v1::MembersResponse>(&v1::Broker::Stub::async::Members, request,
                                                      std::move(done));
}
void BrokerClient::RoomsAsync(const v1::RoomsRequest& request, Done<v1::RoomsResponse> done) {
  UnaryAsync<v1::RoomsRequest, v1::RoomsResponse>(&v1::Broker::Stub::async::Rooms, request,
                                                  std::move(done));
}
void BrokerClient::StatsAsync(Done<v1::StatsResponse> done) {
  UnaryAsync<v1::StatsRequest, v1::StatsResponse>(&v1::Broker::Stub::async::Stats,
                                                  v1::StatsRequest(), std::move(done));
}

}  // namespace parley::frontend
