#ifndef PARLEY_FRONTEND_HTTP_FRONTEND_METRICS_H_
#define PARLEY_FRONTEND_HTTP_FRONTEND_METRICS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "frontend/broker/poll_stream_counters.h"
#include "frontend/http/poll_json.h"
#include "frontend/net/http_server.h"

namespace parley::frontend {

// The frontend's Prometheus metrics (GET /metrics): HTTP requests by route pattern and
// status, long polls held right now, how long polls waited, open connections and those
// refused or closed for room, accept errors, messages in the JSON cache, and
// the process's RSS, threads and CPU. Thread-safe; owned by FrontendServer and used from every HTTP
// thread.
class FrontendMetrics {
 public:
  // `poll_json`'s cache size and the HTTP server's `connections` counters are read at every
  // scrape (the loop-lag maximum is taken, so each scrape covers the time since the last);
  // both must outlive this object.
  FrontendMetrics(PollJson* poll_json, HttpServerCounters* connections,
                  PollStreamCounters* streams);

  void CountRequest(absl::string_view route, int status);
  // Brackets one long poll's wait for the broker.
  void PollStarted() { held_polls_->Add(1); }
  void PollEnded(absl::Duration waited);

  std::string Render() const { return registry_.Render(); }

 private:
  metrics::Registry registry_;
  metrics::Family<metrics::Counter>* requests_;
  metrics::Gauge* held_polls_;
  metrics::Histogram* poll_wait_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_HTTP_FRONTEND_METRICS_H_
