#ifndef PARLEY_BROKER_SERVER_BROKER_SERVER_H_
#define PARLEY_BROKER_SERVER_BROKER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "broker/core/chat_state.h"
#include "broker/core/clock.h"
#include "broker/server/broker_metrics.h"
#include "broker/server/completion_queue_gate.h"
#include "broker/server/health_service.h"
#include "broker/server/in_flight_calls.h"
#include "broker/server/poll_deadlines.h"
#include "broker/server/poll_stream_call.h"
#include "broker/server/poll_stream_registry.h"
#include "broker/server/rpc_handlers.h"
#include "broker/store/redis/redis_chat_store.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::broker {

// How long calls on a connection past its age may still run: a frontend retires a PollStream
// call within 2.4 min (--poll_stream_max_age 2 min × 1.2) and its last polls wait up to 30 s;
// a call still open after that is cancelled and its cursor polls are sent again.
inline constexpr absl::Duration kConnectionAgeGrace = absl::Minutes(3);

struct BrokerServerOptions {
  std::string listen = "0.0.0.0:50051";
  int threads = 0;  // completion queues, one thread each; 0: one per core
  absl::Duration max_wait = absl::Seconds(30);
  absl::Duration deadline_margin = absl::Milliseconds(250);
  absl::Duration sweep_interval = absl::Seconds(5);
  absl::Duration shutdown_timeout = absl::Seconds(5);
  // Unanswered polls one PollStream may hold (parked, or answered and not yet written); a
  // poll beyond is answered RESOURCE_EXHAUSTED, and reading pauses while as many answers wait.
  size_t max_stream_polls = 50'000;
  // A client connection is told to go (GOAWAY) after this long, so clients spread over
  // brokers added since (a DNS target is resolved again); 0: never. Its calls get
  // kConnectionAgeGrace to finish.
  absl::Duration max_connection_age = absl::Minutes(5);
  std::string metrics_listen;  // host:port for GET /metrics over HTTP; empty: none
  // TLS (common/grpc_tls.h); null: plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  ChatOptions chat;
  // Redis shards to keep the chat state in (shared with every broker naming the same ones);
  // none: this process's memory.
  redis::RedisChatStoreOptions redis;
  // Makes the store instead (tests run the broker over a store that answers later, as one
  // with round trips does); unset: by `redis`.
  std::function<std::unique_ptr<ChatStore>(const ChatOptions&)> make_store;
};

// The running broker: the gRPC server (Broker and the standard health service on the async
// API, plus reflection), its completion queues with one thread each, and the sweeper
// thread that expires idle users, marks users offline and publishes room presence. Owns the
// store and the ChatState over it.
//
// Threads: each queue thread only dispatches tags to the call objects (UnaryCall, PollCall).
// Public methods may be called from any one controlling thread (main, or a test).
class BrokerServer {
 public:
  // Builds and starts the server; fails if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<BrokerServer>> Start(const BrokerServerOptions& options,
                                                             const Clock* clock);
  ~BrokerServer();  // Shutdown()

  // The bound port (useful with port 0).
  int port() const { return port_; }
  // The bound metrics port, 0 without --metrics_listen.
  int metrics_port() const { return metrics_http_ ? metrics_http_->port() : 0; }
  const BrokerMetrics& metrics() const { return metrics_; }
  ChatState& state() { return state_; }
  // Poll call objects alive: parked, finishing, and those waiting for the next request.
  int64_t live_poll_calls() const { return live_poll_calls_.load(); }
  // PollStream call objects alive, those waiting for the next stream included.
  int64_t live_stream_calls() const { return live_stream_calls_.load(); }

  // Health turns NOT_SERVING and every parked Poll is answered at once (OK, empty). The
  // server keeps answering; new Polls no longer park; each PollStream ends once it has no
  // poll left. Idempotent.
  void BeginShutdown();
  // BeginShutdown, then stops: in-flight calls get until shutdown_timeout, queues are drained
  // and threads joined. Idempotent.
  void Shutdown();

 private:
  BrokerServer(const BrokerServerOptions& options, const Clock* clock);
  void StartCalls(grpc::ServerCompletionQueue* cq);
  void DrainQueue(grpc::ServerCompletionQueue* cq);
  // The sweeper thread: ChatState::Sweep every sweep_interval, PublishDuePresence and the
  // store's readiness every tick.
  void RunTimers();
  // parley.v1.Broker is SERVING while the store is ready (and the broker not shutting down);
  // the overall health stays SERVING, so a broker cut off from Redis is taken out of rotation
  // but not restarted.
  void UpdateReadiness();

  const BrokerServerOptions options_;
  BrokerMetrics metrics_;  // first: the store observes its histograms
  std::unique_ptr<ChatStore> store_;
  ChatState state_;
  RpcHandlers handlers_;
  parley::v1::Broker::AsyncService service_;
  HealthService health_;  // before server_, which serves it
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> queue_threads_;
  std::thread sweeper_;
  bool store_ready_ = false;  // as parley.v1.Broker's health last said; sweeper thread only
  absl::Notification stop_sweeper_;
  CompletionQueueGate gate_;
  std::atomic<int64_t> live_poll_calls_{0};
  std::atomic<int64_t> live_stream_calls_{0};
  InFlightCalls in_flight_;
  PollStreamRegistry<PollStreamCall> streams_;
  // After everything a PollCall points to: calls it still holds are released before those go.
  PollDeadlines deadlines_;
  int port_ = 0;
  std::unique_ptr<MetricsHttpServer> metrics_http_;

  // Serializes BeginShutdown and the start of Shutdown (stopped_ makes it run once); never
  // held while joining a thread that takes it.
  absl::Mutex shutdown_mu_;
  bool shutdown_begun_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(shutdown_mu_) = false;

  // The handlers of the unary RPCs, bound once; UnaryCall holds pointers to them.
  struct UnaryHandlers;
  std::unique_ptr<UnaryHandlers> unary_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_BROKER_SERVER_H_
