#include "frontend/http/frontend_metrics.h"

#include <string>

namespace parley::frontend {

FrontendMetrics::FrontendMetrics(PollJson* poll_json, HttpServerCounters* connections,
                                 PollStreamCounters* streams) {
  requests_ = &registry_.AddCounter("parley_frontend_http_requests_total",
                                    "HTTP requests answered, by route pattern and status.",
                                    {"route", "code"});
  held_polls_ =
      &registry_
           .AddGauge("parley_frontend_held_polls", "Long polls waiting for the broker right now.")
           .WithLabels({});
  poll_wait_ = &registry_
                    .AddHistogram("parley_frontend_poll_wait_seconds",
                                  "How long long polls waited for the broker's answer.",
                                  metrics::LatencyBounds())
                    .WithLabels({});
  registry_.AddCallbackGauge(
      "parley_frontend_json_cache_messages",
      "Messages whose JSON the frontend keeps rendered (bounded; see PollJson).", {}, [poll_json] {
        return std::vector<metrics::Sample>{{{}, static_cast<double>(poll_json->CachedMessages())}};
      });
  const auto one = [](double value) { return std::vector<metrics::Sample>{{{}, value}}; };
  registry_.AddCallbackGauge(
      "parley_frontend_open_connections",
      "Client connections open right now, idle keep-alive ones included.", {},
      [connections, one] { return one(static_cast<double>(connections->connections.load())); });
  registry_.AddCallbackCounter(
      "parley_frontend_connections_refused_total",
      "Connections answered 503 at_capacity at once: --max_connections open and none idle.", {},
      [connections, one] {
        return one(static_cast<double>(connections->refused_at_capacity.load()));
      });
  registry_.AddCallbackCounter(
      "parley_frontend_idle_connections_closed_total",
      "Idle keep-alive connections closed to make room for a new one at --max_connections.", {},
      [connections, one] {
        return one(static_cast<double>(connections->idle_closed_for_room.load()));
      });
  registry_.AddCallbackCounter(
      "parley_frontend_accept_errors_total",
      "accept() failures (out of file descriptors and the like); accepting pauses 100 ms.", {},
      [connections, one] { return one(static_cast<double>(connections->accept_errors.load())); });
  registry_.AddCallbackGauge(
      "parley_frontend_loop_lag_seconds",
      "The longest an HTTP event loop was late for a timer since the last scrape (probed every "
      "second on every loop): how long a ready connection may wait for its loop.",
      {}, [connections, one] {
        return one(static_cast<double>(connections->loop_lag_max_us.exchange(0)) / 1e6);
      });
  registry_.AddCallbackGauge(
      "parley_frontend_stream_polls_in_flight",
      "Long polls sent (or about to be) on the PollStreams to the broker, not yet answered.", {},
      [streams, one] { return one(static_cast<double>(streams->polls_in_flight.load())); });
  registry_.AddCallbackCounter(
      "parley_frontend_stream_resends_total",
      "Cursor polls sent again on a new PollStream after theirs ended (broker restart).", {},
      [streams, one] { return one(static_cast<double>(streams->resends.load())); });
  registry_.AddCallbackCounter(
      "parley_frontend_streams_started_total", "PollStream calls opened to the broker.", {},
      [streams, one] { return one(static_cast<double>(streams->streams_started.load())); });
  registry_.AddCallbackCounter(
      "parley_frontend_streams_retired_total",
      "PollStream calls half-closed at their age (--poll_stream_max_age), their polls answered "
      "where they were.",
      {}, [streams, one] { return one(static_cast<double>(streams->streams_retired.load())); });
  registry_.AddCallbackCounter(
      "parley_frontend_stream_unary_fallbacks_total",
      "Long polls sent as unary Poll RPCs because the broker has no PollStream.", {},
      [streams, one] { return one(static_cast<double>(streams->unary_fallbacks.load())); });
  registry_.AddProcessMetrics();
}

void FrontendMetrics::CountRequest(absl::string_view route, int status) {
  requests_->WithLabels({std::string(route), std::to_string(status)}).Increment();
}

void FrontendMetrics::PollEnded(absl::Duration waited) {
  held_polls_->Add(-1);
  poll_wait_->Observe(absl::ToDoubleSeconds(waited));
}

}  // namespace parley::frontend
