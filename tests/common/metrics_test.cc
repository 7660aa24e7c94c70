#include "common/metrics/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/prometheus_text.h"

namespace parley::metrics {
namespace {

using ::parley::testing::ParseWithPrometheusClient;

TEST(MetricsTest, CountersGaugesAndHistogramsParseAsPrometheusText) {
  Registry registry;
  auto& requests = registry.AddCounter("http_requests_total", "HTTP requests.", {"route", "code"});
  requests.WithLabels({"/api/poll", "200"}).Increment(3);
  requests.WithLabels({"/api/messages", "503"}).Increment();
  registry.AddGauge("held_polls", "Long polls waiting.").WithLabels({}).Set(7);
  auto& wait = registry.AddHistogram("poll_wait_seconds", "Wait.", {0.1, 1, 10});
  wait.WithLabels({}).Observe(0.05);
  wait.WithLabels({}).Observe(0.5);
  wait.WithLabels({}).Observe(100);
  registry.AddCallbackGauge("users", "Users.", {"state"}, [] {
    return std::vector<Sample>{{{"online"}, 2}, {{"offline"}, 1}};
  });
  registry.AddCallbackHistogram("queue_depth", "Depth.", {1, 10}, [] {
    return std::vector<double>{0, 5, 50};
  });
  registry.AddCallbackCounter("published_total", "Published.", {}, [] {
    return std::vector<Sample>{{{}, 42}};
  });
  registry.AddProcessMetrics();

  const std::string parsed = ParseWithPrometheusClient(registry.Render());
  for (const char* expected : {
           "counter http_requests_total{code=200,route=/api/poll} 3.0",
           "counter http_requests_total{code=503,route=/api/messages} 1.0",
           "gauge held_polls{} 7.0",
           "histogram poll_wait_seconds_bucket{le=0.1} 1.0",
           "histogram poll_wait_seconds_bucket{le=1} 2.0",
           "histogram poll_wait_seconds_bucket{le=10} 2.0",
           "histogram poll_wait_seconds_bucket{le=+Inf} 3.0",
           "histogram poll_wait_seconds_count{} 3.0",
           "histogram poll_wait_seconds_sum{} 100.55",
           "gauge users{state=online} 2.0",
           "gauge users{state=offline} 1.0",
           "histogram queue_depth_bucket{le=1} 1.0",
           "histogram queue_depth_bucket{le=10} 2.0",
           "histogram queue_depth_bucket{le=+Inf} 3.0",
           "counter published_total{} 42.0",
       }) {
    EXPECT_TRUE(absl::StrContains(parsed, expected)) << expected << "\n" << parsed;
  }
  EXPECT_TRUE(absl::StrContains(parsed, "gauge process_resident_memory_bytes{}")) << parsed;
  EXPECT_TRUE(absl::StrContains(parsed, "gauge process_threads{}")) << parsed;
  EXPECT_TRUE(absl::StrContains(parsed, "counter process_cpu_seconds_total{}")) << parsed;
  EXPECT_FALSE(absl::StrContains(parsed, "Error")) << parsed;
}

TEST(MetricsTest, BeforeRenderRunsOncePerScrapeAheadOfTheCallbacks) {
  Registry registry;
  int snapshots = 0;
  registry.SetBeforeRender([&] { ++snapshots; });
  registry.AddCallbackGauge("a", "A.", {}, [&] {
    return std::vector<Sample>{{{}, 1.0 * snapshots}};
  });
  registry.AddCallbackGauge("b", "B.", {}, [&] {
    return std::vector<Sample>{{{}, 1.0 * snapshots}};
  });
  const std::string text = registry.Render();
  EXPECT_EQ(snapshots, 1);
  EXPECT_TRUE(absl::StrContains(text, "\na 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "\nb 1\n")) << text;
  registry.Render();
  EXPECT_EQ(snapshots, 2);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Registry registry;
  registry.AddCounter("odd_total", "Odd \\ help\nline.", {"value"})
      .WithLabels({"quote\" back\\slash\nnewline"})
      .Increment();
  const std::string text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, R"(odd_total{value="quote\" back\\slash\nnewline"} 1)"))
      << text;
  EXPECT_TRUE(absl::StrContains(ParseWithPrometheusClient(text),
                                "counter odd_total{value=quote\" back\\slash\nnewline} 1.0"))
      << ParseWithPrometheusClient(text);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  Counter& counter = registry.AddCounter("c_total", "C.").WithLabels({});
  Histogram& histogram = registry.AddHistogram("h", "H.", {1}).WithLabels({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Increment();
        histogram.Observe(0.5);
        if (i % 1000 == 0) (void)registry.Render();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 40000u);
  EXPECT_EQ(histogram.Read().count, 40000u);
  EXPECT_DOUBLE_EQ(histogram.Read().sum, 20000);
}

}  // namespace
}  // namespace parley::metrics
