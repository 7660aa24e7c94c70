// The operator's view of the real programs: /metrics on both services parsed by the
// Prometheus project's own parser, and the parley-health check the containers run.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/child_process.h"
#include "tests/testing/prometheus_text.h"
#include "tests/testing/wait_for.h"

namespace parley {
namespace {

using ::parley::testing::ChildProcess;

using ::parley::testing::RunCommand;
const auto& Parse = ::parley::testing::ParseWithPrometheusClient;

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  // A broker (with `broker_flags` too) and a frontend for it.
  void Start(const std::vector<std::string>& broker_flags) {
    std::vector<std::string> argv = {PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=1",
                                     "--drain_delay=0s", "--metrics_listen=127.0.0.1:0"};
    argv.insert(argv.end(), broker_flags.begin(), broker_flags.end());
    broker_ = std::make_unique<ChildProcess>(argv);
    broker_port_ = broker_->WaitForListeningPort();
    ASSERT_NE(broker_port_, 0) << broker_->Output();
    const auto line = broker_->WaitForLine("metrics_port=");
    ASSERT_TRUE(line.has_value()) << broker_->Output();
    metrics_port_ = std::stoi(line->substr(line->find("metrics_port=") + 13));
    frontend_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{PARLEY_FRONTEND_BINARY, "--listen=127.0.0.1:0",
                                 absl::StrCat("--broker=127.0.0.1:", broker_port_)});
    frontend_port_ = frontend_->WaitForListeningPort();
    ASSERT_NE(frontend_port_, 0) << frontend_->Output();
  }

  // Logs `name` in; the session cookie to send with its requests (the login's body in *body).
  httplib::Headers Login(httplib::Client& client, const std::string& name,
                         std::string* body = nullptr) {
    httplib::Result login = client.Post("/api/session", absl::StrCat(R"({"name":")", name, R"("})"),
                                        "application/json");
    EXPECT_TRUE(login && login->status == 200);
    if (!login) return {};
    if (body != nullptr) *body = login->body;
    const std::string set_cookie = login->get_header_value("Set-Cookie");
    return {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}};
  }

  std::unique_ptr<ChildProcess> broker_;
  std::unique_ptr<ChildProcess> frontend_;
  int broker_port_ = 0;
  int metrics_port_ = 0;
  int frontend_port_ = 0;
};

TEST_F(ObservabilityTest, BothServicesExportPrometheusMetrics) {
  httplib::Client client("127.0.0.1", frontend_port_);
  const httplib::Headers cookie = Login(client, "alice");
  ASSERT_EQ(client
                .Post("/api/messages", cookie, R"({"room":"lobby","text":"hi","clientId":"c1"})",
                      "application/json")
                ->status,
            200);
  ASSERT_EQ(client
                .Post("/api/messages", cookie, R"({"room":"lobby","text":"hi","clientId":"c1"})",
                      "application/json")
                ->status,
            200);  // a retry: an idempotent duplicate
  ASSERT_EQ(client.Get("/api/poll?cursor=0&wait=0", cookie)->status, 200);
  ASSERT_EQ(client.Get("/nope")->status, 404);

  httplib::Result frontend_metrics = client.Get("/metrics");
  ASSERT_TRUE(frontend_metrics);
  EXPECT_EQ(frontend_metrics->status, 200);
  EXPECT_TRUE(absl::StartsWith(frontend_metrics->get_header_value("Content-Type"), "text/plain"));
  // A request is counted as its answer leaves the route, before it is written: the 404 is
  // there in the first scrape, but scraping until it is keeps the test honest either way.
  std::string frontend;
  ASSERT_TRUE(parley::testing::WaitFor([&] {
    frontend = Parse(client.Get("/metrics")->body);
    return absl::StrContains(frontend, "{code=404,route=unrouted} 1.0");
  })) << frontend;
  for (const char* expected : {
           "counter parley_frontend_http_requests_total{code=200,route=/api/session} 1.0",
           "counter parley_frontend_http_requests_total{code=200,route=/api/messages} 2.0",
           "counter parley_frontend_http_requests_total{code=200,route=/api/poll} 1.0",
           "counter parley_frontend_http_requests_total{code=404,route=unrouted} 1.0",
           "gauge parley_frontend_held_polls{} 0.0",
           "gauge parley_frontend_open_connections{}",  // the scrape's own, and closing ones
           "counter parley_frontend_connections_refused_total{} 0.0",
           "counter parley_frontend_idle_connections_closed_total{} 0.0",
           "counter parley_frontend_accept_errors_total{} 0.0",
           "gauge parley_frontend_loop_lag_seconds{}",
           // The poll went on the broker stream, which opened once and lost nothing.
           "gauge parley_frontend_stream_polls_in_flight{} 0.0",
           "counter parley_frontend_streams_started_total{} 1.0",
           "counter parley_frontend_stream_resends_total{} 0.0",
           "counter parley_frontend_stream_unary_fallbacks_total{} 0.0",
           "histogram parley_frontend_poll_wait_seconds_count{} 1.0",
           "gauge process_threads{}",
           "gauge process_resident_memory_bytes{}",
       }) {
    EXPECT_TRUE(absl::StrContains(frontend, expected)) << expected << "\n" << frontend;
  }
  EXPECT_FALSE(absl::StrContains(frontend, "gauge parley_frontend_open_connections{} 0.0"));
  // The poll's messages were rendered once and kept.
  EXPECT_TRUE(absl::StrContains(frontend, "gauge parley_frontend_json_cache_messages{}"))
      << frontend;
  EXPECT_FALSE(absl::StrContains(frontend, "gauge parley_frontend_json_cache_messages{} 0.0"))
      << frontend;

  httplib::Client metrics("127.0.0.1", metrics_port_);
  httplib::Result broker_metrics = metrics.Get("/metrics");
  ASSERT_TRUE(broker_metrics);
  EXPECT_EQ(broker_metrics->status, 200);
  const std::string broker = Parse(broker_metrics->body);
  for (const char* expected : {
           "counter parley_broker_rpcs_total{code=OK,method=Connect} 1.0",
           "counter parley_broker_rpcs_total{code=OK,method=Publish} 2.0",
           "counter parley_broker_rpcs_total{code=OK,method=PollStream} 1.0",  // per poll
           "gauge parley_broker_users{} 1.0",
           "gauge parley_broker_rooms{} 1.0",
           "gauge parley_broker_parked_polls{} 0.0",
           "histogram parley_broker_queue_depth_count{} 1.0",
           "counter parley_broker_messages_published_total{} 1.0",
           "counter parley_broker_messages_delivered_total{} 2.0",  // alice's JOIN and "hi"
           "counter parley_broker_messages_dropped_total{} 0.0",
           "counter parley_broker_idempotent_duplicates_total{} 1.0",
           "counter process_cpu_seconds_total{}",
       }) {
    EXPECT_TRUE(absl::StrContains(broker, expected)) << expected << "\n" << broker;
  }
}

// The limits' counters move when their limit is met (docs/operations.md, "Limits").
class ObservabilityLimitsTest : public ObservabilityTest {
 protected:
  void SetUp() override {
    Start({"--publish_burst=1", "--publish_rate=0.01", "--queue_capacity=2"});
  }
};

TEST_F(ObservabilityLimitsTest, RefusalsAndDropsAreCounted) {
  httplib::Client client("127.0.0.1", frontend_port_);
  const httplib::Headers bob = Login(client, "bob");
  const httplib::Headers alice = Login(client, "alice");
  const httplib::Headers carol = Login(client, "carol");
  const std::string say = R"({"room":"lobby","text":"hi"})";
  ASSERT_EQ(client.Post("/api/messages", alice, say, "application/json")->status, 200);
  ASSERT_EQ(client.Post("/api/messages", alice, say, "application/json")->status, 429);
  ASSERT_EQ(client.Post("/api/messages", carol, say, "application/json")->status, 200);
  // bob's queue (2 lines) has dropped the oldest of its 5; his read from the start says so.
  ASSERT_EQ(client.Get("/api/poll?cursor=0&wait=0", bob)->status, 200);

  httplib::Client metrics("127.0.0.1", metrics_port_);
  const std::string broker = Parse(metrics.Get("/metrics")->body);
  for (const char* expected : {
           "counter parley_broker_publishes_rate_limited_total{} 1.0",
           "counter parley_broker_rpcs_total{code=RESOURCE_EXHAUSTED,method=Publish} 1.0",
           "counter parley_broker_messages_dropped_total{} 3.0",
       }) {
    EXPECT_TRUE(absl::StrContains(broker, expected)) << expected << "\n" << broker;
  }

  broker_->Signal(SIGKILL);
  ASSERT_EQ(client.Post("/api/messages", carol, say, "application/json")->status, 503);
  std::string frontend;
  EXPECT_TRUE(parley::testing::WaitFor([&] {
    frontend = Parse(client.Get("/metrics")->body);
    return absl::StrContains(
        frontend, "counter parley_frontend_http_requests_total{code=503,route=/api/messages} 1.0");
  })) << frontend;
  EXPECT_TRUE(absl::StrContains(
      frontend, "counter parley_frontend_http_requests_total{code=429,route=/api/messages} 1.0"))
      << frontend;
}

TEST_F(ObservabilityTest, AParkedPollWokenByAMessageIsCountedInTheWakeLag) {
  httplib::Client client("127.0.0.1", frontend_port_);
  std::string body;
  const httplib::Headers cookie = Login(client, "alice", &body);
  // The session's cursor ("cursor":"N"): the poll waits for what comes after it.
  const size_t at = body.find("\"cursor\":\"");
  ASSERT_NE(at, std::string::npos) << body;
  const std::string cursor = body.substr(at + 10, body.find('"', at + 10) - at - 10);
  httplib::Client metrics("127.0.0.1", metrics_port_);
  auto broker_metrics = [&] { return Parse(metrics.Get("/metrics")->body); };
  EXPECT_TRUE(
      absl::StrContains(broker_metrics(), "histogram parley_broker_wake_lag_seconds_count{} 0.0"));

  std::thread poller([&] {
    httplib::Client own("127.0.0.1", frontend_port_);
    own.set_read_timeout(10, 0);
    httplib::Result poll = own.Get(absl::StrCat("/api/poll?wait=8&cursor=", cursor), cookie);
    EXPECT_TRUE(poll && poll->status == 200 && absl::StrContains(poll->body, "woken"));
  });
  ASSERT_TRUE(parley::testing::WaitFor([&] {
    return absl::StrContains(broker_metrics(), "gauge parley_broker_parked_polls{} 1.0");
  }));
  const absl::Time sent = absl::Now();
  ASSERT_EQ(
      client
          .Post("/api/messages", cookie, R"({"room":"lobby","text":"woken"})", "application/json")
          ->status,
      200);
  poller.join();
  const double most = absl::ToDoubleSeconds(absl::Now() - sent);
  std::string broker;
  EXPECT_TRUE(parley::testing::WaitFor([&] {
    broker = broker_metrics();
    return absl::StrContains(broker, "histogram parley_broker_wake_lag_seconds_count{} 1.0");
  })) << broker;
  // The one observation is the time from the change to the answer: more than nothing, less
  // than the publish and the answer took together as the test saw them.
  const std::string sum = "histogram parley_broker_wake_lag_seconds_sum{} ";
  const size_t sum_at = broker.find(sum);
  ASSERT_NE(sum_at, std::string::npos) << broker;
  const double lag = std::strtod(broker.c_str() + sum_at + sum.size(), nullptr);
  EXPECT_GT(lag, 0.0);
  EXPECT_LT(lag, most);
}

TEST_F(ObservabilityTest, HealthToolChecksGrpcHealthAndHttpReadiness) {
  const std::string tool = PARLEY_HEALTH_BINARY;
  std::string output;
  EXPECT_EQ(RunCommand(absl::StrCat(tool, " --grpc=127.0.0.1:", broker_port_), &output), 0)
      << output;
  EXPECT_EQ(RunCommand(absl::StrCat(tool, " --grpc=127.0.0.1:", broker_port_,
                                    " --service=parley.v1.Broker"),
                       &output),
            0)
      << output;
  EXPECT_EQ(RunCommand(absl::StrCat(tool, " --grpc=127.0.0.1:", broker_port_, " --service=nope"),
                       &output),
            1);
  ASSERT_TRUE(parley::testing::WaitFor([&] {
    return RunCommand(absl::StrCat(tool, " --http=127.0.0.1:", frontend_port_, "/readyz")) == 0;
  }));
  EXPECT_EQ(
      RunCommand(absl::StrCat(tool, " --http=127.0.0.1:", frontend_port_, "/missing"), &output), 1);
  EXPECT_TRUE(absl::StrContains(output, "HTTP 404")) << output;
  EXPECT_EQ(RunCommand(absl::StrCat(tool, " --grpc=127.0.0.1:1 --timeout=500ms"), &output), 1);
  EXPECT_EQ(RunCommand(tool, &output), 2);  // neither mode: usage error

  // A draining broker is not healthy.
  broker_->Signal(SIGTERM);
  ASSERT_TRUE(parley::testing::WaitFor(
      [&] { return RunCommand(absl::StrCat(tool, " --grpc=127.0.0.1:", broker_port_)) != 0; }));
}

}  // namespace
}  // namespace parley
