#ifndef PARLEY_BROKER_SERVER_BROKER_METRICS_H_
#define PARLEY_BROKER_SERVER_BROKER_METRICS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/core/chat_state.h"
#include "broker/store/redis/redis_link.h"
#include "common/metrics/metrics.h"

namespace parley::broker {

// The broker's Prometheus metrics: RPCs by method and code (counted by the RPC layer), and
// the chat state's figures read at scrape time (users, rooms, parked polls, queue depths,
// messages published / delivered / dropped, idempotent duplicates), plus the process's RSS,
// threads and CPU. Thread-safe; owned by BrokerServer, outliving every call.
class BrokerMetrics {
 public:
  BrokerMetrics();
  // The chat state's figures, read at every scrape. Once, before the first scrape.
  void Watch(ChatState* state);
  // The Redis store's figures: round trips and notification lag (the store observes them in
  // the histograms returned) and its connections' counters (read at every scrape; `counters`
  // outlives the metrics). Once, before the first scrape.
  struct RedisHistograms {
    metrics::Histogram* round_trip_seconds;
    metrics::Histogram* notification_lag_seconds;
  };
  RedisHistograms AddRedisHistograms();
  void WatchRedis(const redis::RedisConnectionCounters* counters);

  // Called once per finished RPC, from the completion-queue threads (and logged at debug).
  void CountRpc(absl::string_view method, grpc::StatusCode code);
  // From a store change to the parked poll it woke being answered with it (PollRead observes).
  metrics::Histogram* wake_lag_seconds() const { return wake_lag_seconds_; }
  // A PollStream stopped reading: --max_stream_polls answers wait to be written (its client
  // reads too slowly, or not at all).
  void CountStreamReadPause() { stream_read_pauses_->Increment(); }
  uint64_t stream_read_pauses() const { return stream_read_pauses_->value(); }

  std::string Render() const { return registry_.Render(); }

 private:
  metrics::Registry registry_;
  metrics::Family<metrics::Counter>* rpcs_;
  metrics::Histogram* wake_lag_seconds_;
  metrics::Counter* stream_read_pauses_;
  // ChatState::Stats() walks every user under the state's lock: taken once per scrape (in
  // the registry's before-render hook) and read by every callback. Touched only inside
  // Render, which the registry serializes.
  ChatStats snapshot_;
};

// Serves GET /metrics (and /healthz) over HTTP for --metrics_listen: an accept thread plus a
// pool of two. Owned by BrokerServer; started and destroyed by its controlling thread, and
// `metrics` must outlive it.
class MetricsHttpServer {
 public:
  // Binds `listen` (host:port, port 0 picks one) and starts serving `metrics`.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                                  const BrokerMetrics* metrics);
  ~MetricsHttpServer();  // stops serving and joins the thread

  int port() const { return port_; }

 private:
  MetricsHttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_BROKER_METRICS_H_
