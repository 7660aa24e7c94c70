#include "frontend/broker/broker_client.h"

#include <algorithm>

#include "absl/synchronization/notification.h"

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

template <typename Request, typename Response, typename Method>
grpc::Status BrokerClient::Unary(Method method, const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_));
  return (NextStub().*method)(&context, request, response);
}

grpc::Status BrokerClient::Connect(const v1::ConnectRequest& request,
                                   v1::ConnectResponse* response) {
  return Unary(&v1::Broker::Stub::Connect, request, response);
}
grpc::Status BrokerClient::Disconnect(const v1::DisconnectRequest& request,
                                      v1::DisconnectResponse* response) {
  return Unary(&v1::Broker::Stub::Disconnect, request, response);
}
grpc::Status BrokerClient::Publish(const v1::PublishRequest& request,
                                   v1::PublishResponse* response) {
  return Unary(&v1::Broker::Stub::Publish, request, response);
}
grpc::Status BrokerClient::Join(const v1::JoinRequest& request, v1::JoinResponse* response) {
  return Unary(&v1::Broker::Stub::Join, request, response);
}
grpc::Status BrokerClient::Leave(const v1::LeaveRequest& request, v1::LeaveResponse* response) {
  return Unary(&v1::Broker::Stub::Leave, request, response);
}
grpc::Status BrokerClient::History(const v1::HistoryRequest& request,
                                   v1::HistoryResponse* response) {
  return Unary(&v1::Broker::Stub::History, request, response);
}
grpc::Status BrokerClient::Members(const v1::MembersRequest& request,
                                   v1::MembersResponse* response) {
  return Unary(&v1::Broker::Stub::Members, request, response);
}
grpc::Status BrokerClient::Rooms(const v1::RoomsRequest& request, v1::RoomsResponse* response) {
  return Unary(&v1::Broker::Stub::Rooms, request, response);
}
grpc::Status BrokerClient::Stats(v1::StatsResponse* response) {
  return Unary(&v1::Broker::Stub::Stats, v1::StatsRequest(), response);
}

grpc::Status BrokerClient::Poll(const v1::PollRequest& request, v1::PollResponse* response,
                                PollCancellation* cancellation) {
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(request.wait_ms()) + poll_margin_));
  {
    absl::MutexLock lock(&mu_);
    if (polls_cancelled_) return grpc::Status::OK;
    polls_.insert(&context);
  }
  // The callback API: gRPC's own threads read the answer and wake only this thread,
  // instead of every waiting HTTP thread taking turns polling the channel.
  grpc::Status status;
  absl::Notification done;
  if (cancellation != nullptr) cancellation->Attach(&context);
  NextStub().async()->Poll(&context, &request, response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (cancellation != nullptr) cancellation->Detach();
  absl::MutexLock lock(&mu_);
  polls_.erase(&context);
  if (polls_cancelled_ && !status.ok()) {
    response->Clear();
    return grpc::Status::OK;  // answered empty because the frontend is shutting down
  }
  return status;
}

void BrokerClient::CancelPolls() {
  absl::MutexLock lock(&mu_);
  polls_cancelled_ = true;
  for (grpc::ClientContext* context : polls_) context->TryCancel();
}

}  // namespace parley::frontend
