#include "broker/server/broker_metrics.h"

#include <httplib.h>

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "broker/server/status_mapping.h"
#include "common/http_listener.h"
#include "common/log.h"

namespace parley::broker {
namespace {

using metrics::Sample;

// Prometheus' and gRPC's name for each code (OK, NOT_FOUND, ...).
std::string CodeName(grpc::StatusCode code) {
  return std::string(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
}

}  // namespace

// Seconds, for the latencies of one machine or one private network; fine between 1 and 25 ms,
// around the wake lag's 5 ms target: a quantile is interpolated within its bucket, so a wide
// bucket hides where in it the tail is.
const std::vector<double> kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075,
                                            0.01,   0.015,   0.02,   0.025, 0.05,   0.1,   1};

BrokerMetrics::BrokerMetrics() {
  rpcs_ = &registry_.AddCounter("parley_broker_rpcs_total",
                                "Broker RPCs answered, by method and code.", {"method", "code"});
  wake_lag_seconds_ =
      &registry_
           .AddHistogram("parley_broker_wake_lag_seconds",
                         "From the store's change (a message committed; with Redis, its script "
                         "by Redis's clock) to a poll parked on this broker being answered with "
                         "it.",
                         kLatencyBounds)
           .WithLabels({});
  stream_read_pauses_ =
      &registry_
           .AddCounter("parley_broker_stream_read_pauses_total",
                       "Times a PollStream stopped reading its client's polls because "
                       "--max_stream_polls answers waited to be written (the client reads too "
                       "slowly).",
                       {})
           .WithLabels({});
}

BrokerMetrics::RedisHistograms BrokerMetrics::AddRedisHistograms() {
  const std::vector<double>& bounds = kLatencyBounds;
  return RedisHistograms{
      &registry_
           .AddHistogram("parley_broker_redis_round_trip_seconds",
                         "Redis commands and scripts, from sent to answered.", bounds)
           .WithLabels({}),
      &registry_
           .AddHistogram("parley_broker_notification_lag_seconds",
                         "From the Redis script that published a change (by Redis's clock) to "
                         "this broker waking the parked polls it concerns.",
                         bounds)
           .WithLabels({})};
}

void BrokerMetrics::WatchRedis(const redis::RedisConnectionCounters* counters) {
  auto read = [](const std::atomic<uint64_t>* value) {
    return [value] { return std::vector<Sample>{{{}, static_cast<double>(value->load())}}; };
  };
  registry_.AddCallbackCounter("parley_broker_redis_commands_total",
                               "Commands and scripts sent to Redis.", {},
                               read(&counters->commands));
  registry_.AddCallbackCounter(
      "parley_broker_redis_errors_total",
      "Redis calls that failed, by kind: error (Redis answered an error), deadline (no answer "
      "within --redis_timeout), unavailable (not connected, or lost with the connection).",
      {"kind"}, [counters] {
        return std::vector<Sample>{
            {{"error"}, static_cast<double>(counters->error_replies.load())},
            {{"deadline"}, static_cast<double>(counters->deadline_exceeded.load())},
            {{"unavailable"}, static_cast<double>(counters->unavailable.load())}};
      });
  registry_.AddCallbackCounter("parley_broker_redis_connects_total",
                               "Connections made to Redis (first ones and reconnects).", {},
                               read(&counters->connects));
  registry_.AddCallbackCounter("parley_broker_redis_notifications_total",
                               "Change notifications received from Redis (pub/sub).", {},
                               read(&counters->notifications));
}

void BrokerMetrics::Watch(ChatState* state) {
  // The scrape's thread may wait: it is the metrics server's own.
  registry_.SetBeforeRender([this, state] {
    absl::Notification answered;
    state->Stats([&](absl::StatusOr<ChatStats> stats) {
      if (stats.ok()) snapshot_ = *stats;  // else the figures of the last scrape stay
      answered.Notify();
    });
    answered.WaitForNotification();
  });
  auto read = [this](uint64_t ChatStats::*field) {
    return [this, field] {
      return std::vector<Sample>{{{}, static_cast<double>(snapshot_.*field)}};
    };
  };
  registry_.AddCallbackGauge("parley_broker_users", "Connected users.", {},
                             read(&ChatStats::users));
  registry_.AddCallbackGauge("parley_broker_rooms", "Rooms.", {}, read(&ChatStats::rooms));
  registry_.AddCallbackGauge("parley_broker_parked_polls", "Polls parked, waiting for a message.",
                             {}, read(&ChatStats::parked_polls));
  registry_.AddCallbackHistogram("parley_broker_queue_depth", "Messages held per user queue.",
                                 {0, 1, 10, 50, 100, 250, 500, 1000, 5000}, [state] {
                                   std::vector<double> depths;
                                   for (size_t depth : state->QueueDepths())
                                     depths.push_back(static_cast<double>(depth));
                                   return depths;
                                 });
  auto counter = [&](const char* name, const char* help, uint64_t ChatStats::*field) {
    registry_.AddCallbackCounter(name, help, {}, read(field));
  };
  counter("parley_broker_messages_published_total", "Messages published (chat and direct).",
          &ChatStats::messages_published);
  counter("parley_broker_messages_delivered_total", "Messages returned to polls.",
          &ChatStats::messages_delivered);
  counter("parley_broker_messages_dropped_total",
          "Messages a poll skipped because its queue had dropped them (gap).",
          &ChatStats::messages_dropped);
  counter("parley_broker_idempotent_duplicates_total",
          "Publishes answered from the idempotency cache (retries).",
          &ChatStats::idempotent_duplicates);
  counter("parley_broker_publishes_rate_limited_total",
          "Publishes refused by the per-user rate limit (RESOURCE_EXHAUSTED).",
          &ChatStats::publishes_limited);
  counter("parley_broker_presence_notifies_total",
          "Room presence changes published to the members' parked polls (at most one per room "
          "per --presence_notify_interval).",
          &ChatStats::presence_notifies);
  counter("parley_broker_presence_wakes_total", "Parked polls ended by a presence change alone.",
          &ChatStats::presence_wakes);
  registry_.AddProcessMetrics();
}

void BrokerMetrics::CountRpc(absl::string_view method, grpc::StatusCode code) {
  const std::string code_name = CodeName(code);
  rpcs_->WithLabels({std::string(method), code_name}).Increment();
  if (LogEnabled(LogLevel::kDebug))
    Log(LogLevel::kDebug, "rpc", {{"method", method}, {"code", code_name}});
}

struct MetricsHttpServer::Impl {
  httplib::Server server;
};

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, const BrokerMetrics* metrics) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError("--metrics_listen must be host:port");
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  server->impl_ = std::make_unique<Impl>();
  httplib::Server& http = server->impl_->server;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  http.Get("/metrics", [metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics->Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  const std::string host = listen.substr(0, colon);
  server->port_ =
      port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (server->port_ <= 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  server->thread_ = ListenInBackground(http);
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (impl_ != nullptr) impl_->server.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace parley::broker
