#include "frontend/http/frontend_metrics.h"

#include <string>

namespace parley::frontend {

FrontendMetrics::FrontendMetrics(PollJson* poll_json) {
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
