#include "broker/server/broker_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/server/poll_call.h"
#include "broker/server/unary_call.h"
#include "broker/store/memory/memory_chat_store.h"
#include "common/log.h"

namespace parley::broker {
namespace {

using v1::Broker;

constexpr int kPollCallsPerQueue = 8;    // requests kept open so bursts of polls are matched fast
constexpr int kStreamCallsPerQueue = 1;  // a frontend opens its few streams once
constexpr int kUnaryCallsPerQueue = 2;
constexpr char kServiceName[] = "parley.v1.Broker";

std::unique_ptr<ChatStore> MakeStore(const BrokerServerOptions& options, BrokerMetrics* metrics) {
  if (options.make_store) return options.make_store(options.chat);
  if (!options.redis.shards.empty()) {
    redis::RedisChatStoreOptions redis = options.redis;
    const BrokerMetrics::RedisHistograms histograms = metrics->AddRedisHistograms();
    redis.round_trip_seconds = histograms.round_trip_seconds;
    redis.notification_lag_seconds = histograms.notification_lag_seconds;
    auto store = std::make_unique<redis::RedisChatStore>(options.chat, std::move(redis));
    metrics->WatchRedis(&store->counters());
    return store;
  }
  return std::make_unique<MemoryChatStore>(options.chat);
}

template <typename Request, typename Response>
using HandlerOf = UnaryHandler<Request, Response>;

}  // namespace

struct BrokerServer::UnaryHandlers {
  HandlerOf<v1::ConnectRequest, v1::ConnectResponse> connect;
  HandlerOf<v1::DisconnectRequest, v1::DisconnectResponse> disconnect;
  HandlerOf<v1::PublishRequest, v1::PublishResponse> publish;
  HandlerOf<v1::JoinRequest, v1::JoinResponse> join;
  HandlerOf<v1::LeaveRequest, v1::LeaveResponse> leave;
  HandlerOf<v1::HistoryRequest, v1::HistoryResponse> history;
  HandlerOf<v1::MembersRequest, v1::MembersResponse> members;
  HandlerOf<v1::RoomsRequest, v1::RoomsResponse> rooms;
  HandlerOf<v1::StatsRequest, v1::StatsResponse> stats;
  HandlerOf<v1::CreateRoomRequest, v1::CreateRoomResponse> create_room;
  HandlerOf<v1::AddMemberRequest, v1::AddMemberResponse> add_member;
  HandlerOf<v1::RemoveMemberRequest, v1::RemoveMemberResponse> remove_member;
  HandlerOf<v1::DisconnectUserRequest, v1::DisconnectUserResponse> disconnect_user;
  HandlerOf<v1::ListRoomsRequest, v1::ListRoomsResponse> list_rooms;
};

BrokerServer::BrokerServer(const BrokerServerOptions& options, const Clock* clock)
    : options_(options),
      store_(MakeStore(options, &metrics_)),
      state_(options.chat, clock, store_.get()),
      handlers_(&state_),
      health_(&gate_, &in_flight_) {
  metrics_.Watch(&state_);
  auto bind = [this](const char* name, auto method) {
    return [this, name, method](const auto& request, auto* response, GrpcDone done) {
      (handlers_.*method)(request, response,
                          [this, name, done = std::move(done)](grpc::Status status) mutable {
                            metrics_.CountRpc(name, status.error_code());
                            std::move(done)(std::move(status));
                          });
    };
  };
  unary_ = std::make_unique<UnaryHandlers>(UnaryHandlers{
      bind("Connect", &RpcHandlers::Connect), bind("Disconnect", &RpcHandlers::Disconnect),
      bind("Publish", &RpcHandlers::Publish), bind("Join", &RpcHandlers::Join),
      bind("Leave", &RpcHandlers::Leave), bind("History", &RpcHandlers::History),
      bind("Members", &RpcHandlers::Members), bind("Rooms", &RpcHandlers::Rooms),
      bind("Stats", &RpcHandlers::Stats), bind("CreateRoom", &RpcHandlers::CreateRoom),
      bind("AddMember", &RpcHandlers::AddMember), bind("RemoveMember", &RpcHandlers::RemoveMember),
      bind("DisconnectUser", &RpcHandlers::DisconnectUser),
      bind("ListRooms", &RpcHandlers::ListRooms)});
}

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(
    const BrokerServerOptions& options, const Clock* clock) {
  std::unique_ptr<BrokerServer> broker(new BrokerServer(options, clock));
  if (!options.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> metrics =
        MetricsHttpServer::Start(options.metrics_listen, &broker->metrics_);
    if (!metrics.ok()) {
      absl::MutexLock lock(&broker->shutdown_mu_);
      broker->stopped_ = true;  // nothing of gRPC was started
      return metrics.status();
    }
    broker->metrics_http_ = std::move(*metrics);
  }
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC listens with SO_REUSEPORT by default: a second broker on the same port would start
  // fine and split the users between two in-memory states. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Frontends ping their idle PollStreams every few seconds to notice a broker that vanished
  // without a reset; by default gRPC would answer such pings (more often than every five
  // minutes with no data) with GOAWAY "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(
                                   std::min(options.max_connection_age, absl::Hours(24 * 24)))));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(kConnectionAgeGrace)));
  }
  builder.AddListeningPort(
      options.listen, options.credentials ? options.credentials : grpc::InsecureServerCredentials(),
      &broker->port_);
  builder.RegisterService(&broker->service_);
  builder.RegisterService(broker->health_.service());
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) broker->queues_.push_back(builder.AddCompletionQueue());
  broker->server_ = builder.BuildAndStart();
  if (broker->server_ == nullptr || broker->port_ == 0) {
    // Nothing was started; the queues were never used and can go.
    for (auto& cq : broker->queues_) {
      cq->Shutdown();
      broker->DrainQueue(cq.get());
    }
    broker->queues_.clear();
    {
      absl::MutexLock lock(&broker->shutdown_mu_);
      broker->stopped_ = true;
    }
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  broker->health_.SetServing("", true);
  broker->store_ready_ = broker->store_->ready();
  broker->health_.SetServing(kServiceName, broker->store_ready_);
  for (auto& cq : broker->queues_) {
    broker->StartCalls(cq.get());
    broker->health_.StartCalls(cq.get());
    broker->queue_threads_.emplace_back(&BrokerServer::DrainQueue, broker.get(), cq.get());
  }
  broker->sweeper_ = std::thread(&BrokerServer::RunTimers, broker.get());
  return broker;
}

BrokerServer::~BrokerServer() { Shutdown(); }

void BrokerServer::StartCalls(grpc::ServerCompletionQueue* cq) {
  PollReadBinding read;
  read.state = &state_;
  read.deadlines = &deadlines_;
  read.gate = &gate_;
  read.max_wait = options_.max_wait;
  read.deadline_margin = options_.deadline_margin;
  read.wake_lag_seconds = metrics_.wake_lag_seconds();
  PollCallBinding poll;
  poll.service = &service_;
  poll.cq = cq;
  poll.read = read;
  poll.live_calls = &live_poll_calls_;
  poll.in_flight = &in_flight_;
  poll.metrics = &metrics_;
  for (int i = 0; i < kPollCallsPerQueue; ++i) PollCall::Start(poll);
  PollStreamBinding stream;
  stream.service = &service_;
  stream.cq = cq;
  stream.read = read;
  stream.live_calls = &live_stream_calls_;
  stream.in_flight = &in_flight_;
  stream.metrics = &metrics_;
  stream.registry = &streams_;
  stream.max_polls = options_.max_stream_polls;
  for (int i = 0; i < kStreamCallsPerQueue; ++i) PollStreamCall::Start(stream);
  auto start_unary = [&](auto method, const auto* handler) {
    StartUnaryCall(&service_, cq, &gate_, &in_flight_, method, handler);
  };
  for (int i = 0; i < kUnaryCallsPerQueue; ++i) {
    start_unary(&Broker::AsyncService::RequestConnect, &unary_->connect);
    start_unary(&Broker::AsyncService::RequestDisconnect, &unary_->disconnect);
    start_unary(&Broker::AsyncService::RequestPublish, &unary_->publish);
    start_unary(&Broker::AsyncService::RequestJoin, &unary_->join);
    start_unary(&Broker::AsyncService::RequestLeave, &unary_->leave);
    start_unary(&Broker::AsyncService::RequestHistory, &unary_->history);
    start_unary(&Broker::AsyncService::RequestMembers, &unary_->members);
    start_unary(&Broker::AsyncService::RequestRooms, &unary_->rooms);
    start_unary(&Broker::AsyncService::RequestStats, &unary_->stats);
  }
  // The server API's calls are rare: one call of each waits per queue.
  start_unary(&Broker::AsyncService::RequestCreateRoom, &unary_->create_room);
  start_unary(&Broker::AsyncService::RequestAddMember, &unary_->add_member);
  start_unary(&Broker::AsyncService::RequestRemoveMember, &unary_->remove_member);
  start_unary(&Broker::AsyncService::RequestDisconnectUser, &unary_->disconnect_user);
  start_unary(&Broker::AsyncService::RequestListRooms, &unary_->list_rooms);
}

void BrokerServer::DrainQueue(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<CompletionTag*>(tag)->OnCompletion(ok);
}

void BrokerServer::RunTimers() {
  // Presence is published at most once per interval per room; ticking at a tenth of it
  // tells a room's first change within a tenth of the interval.
  const absl::Duration tick = std::clamp(options_.chat.presence_notify_interval / 10,
                                         absl::Milliseconds(10), absl::Milliseconds(250));
  absl::Time next_sweep = absl::Now() + options_.sweep_interval;
  while (!stop_sweeper_.WaitForNotificationWithTimeout(tick)) {
    // Each waits for its answer, so timers never overlap and none is in flight at shutdown.
    if (absl::Now() >= next_sweep) {
      absl::Notification swept;
      state_.Sweep([&](absl::StatusOr<SweepResult>) { swept.Notify(); });
      swept.WaitForNotification();
      next_sweep = absl::Now() + options_.sweep_interval;
    }
    absl::Notification published;
    state_.PublishDuePresence([&](absl::Status) { published.Notify(); });
    published.WaitForNotification();
    UpdateReadiness();
  }
}

void BrokerServer::UpdateReadiness() {
  const bool ready = store_->ready();
  if (ready == store_ready_) return;
  store_ready_ = ready;
  absl::MutexLock lock(&shutdown_mu_);
  if (shutdown_begun_) return;  // NOT_SERVING already, for good
  health_.SetServing(kServiceName, ready);
  Log(ready ? LogLevel::kInfo : LogLevel::kWarning, "store_readiness",
      {{"service", kServiceName}, {"health", ready ? "SERVING" : "NOT_SERVING"}});
}

void BrokerServer::BeginShutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shutdown_begun_ || stopped_) return;
  shutdown_begun_ = true;
  health_.SetServing("", false);
  health_.SetServing(kServiceName, false);
  state_.BeginDrain();
  streams_.ForEach([](PollStreamCall& stream) { stream.Drain(); });
}

void BrokerServer::Shutdown() {
  BeginShutdown();
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  // Not under shutdown_mu_ from here: the sweeper takes it (UpdateReadiness) before it can
  // see it is to stop, so joining it with the lock held would wait for ever.
  // The sweeper may wake parked polls, so it stops before the queues do.
  stop_sweeper_.Notify();
  sweeper_.join();
  // Calls in flight get until shutdown_timeout; then gRPC cancels whatever is left and drops
  // the connections at once instead of waiting for clients to close them.
  in_flight_.WaitUntilIdle(absl::Now() + options_.shutdown_timeout);
  server_->Shutdown(std::chrono::system_clock::now());
  gate_.Close();
  // Answers still to come from the store arrive now, while the calls they finish can see the
  // gate closed; none comes after.
  store_->Stop();
  for (auto& cq : queues_) cq->Shutdown();
  for (std::thread& thread : queue_threads_) thread.join();
  // Last: a deadline passing until now could still answer (its Finish is refused once the
  // gate is closed); the calls it still holds go with it.
  deadlines_.Stop();
}

}  // namespace parley::broker
