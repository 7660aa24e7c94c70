#ifndef PARLEY_COMMON_METRICS_METRICS_H_
#define PARLEY_COMMON_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace parley::metrics {

// A small Prometheus exporter (text format 0.0.4): no Prometheus client library is packaged
// in Debian 12. Counters, gauges and histograms, each a family with fixed label names, and
// gauges computed at scrape time by callbacks. Every type here is thread-safe: values are
// atomics, and a family's label map has its own mutex (hot paths keep the pointer that
// WithLabels returns; it stays valid as long as the family).

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void Add(int64_t by) { value_.fetch_add(by, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending (+Inf is implied).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, then +Inf (not cumulative)
  std::atomic<double> sum_{0};
};

using LabelValues = std::vector<std::string>;

// One metric name with its help, label names and a child per label-value combination.
template <typename Metric>
class Family {
 public:
  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<Metric>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}

  // The child for `values` (one per label name), created on first use.
  Metric& WithLabels(const LabelValues& values) {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<Metric>& child = children_[values];
    if (child == nullptr) child = make_();
    return *child;
  }

  // Calls `visit(values, metric)` for every child, in no particular order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    absl::MutexLock lock(&mu_);
    for (const auto& [values, child] : children_) visit(values, *child);
  }

  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Metric>()> make_;
  mutable absl::Mutex mu_;
  absl::node_hash_map<LabelValues, std::unique_ptr<Metric>> children_ ABSL_GUARDED_BY(mu_);
};

// A value read when scraped (users, queue depth, process RSS), with its labels.
struct Sample {
  LabelValues labels;
  double value = 0;
};

// The metrics of one process. Families are created at start-up and live as long as the
// registry; Render() may run concurrently with updates.
class Registry {
 public:
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds,
                                  std::vector<std::string> label_names = {});
  // A gauge family whose samples `read` computes at every scrape.
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names,
                        std::function<std::vector<Sample>()> read);
  // The same for a counter kept elsewhere (it must only grow).
  void AddCallbackCounter(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names,
                          std::function<std::vector<Sample>()> read);
  // A histogram of the values `read` returns at every scrape (e.g. every queue's depth).
  void AddCallbackHistogram(const std::string& name, const std::string& help,
                            std::vector<double> bounds, std::function<std::vector<double>()> read);
  // Runs `prepare` at the start of every Render, before any callback, under the same lock:
  // callbacks can then share one snapshot instead of each computing its own.
  void SetBeforeRender(std::function<void()> prepare);
  // Adds process_resident_memory_bytes, process_threads and process_cpu_seconds_total
  // (from /proc/self).
  void AddProcessMetrics();

  // Every family in the text exposition format, in the order they were added.
  std::string Render() const;

 private:
  struct Entry {
    std::string name;
    std::string help;
    std::string type;  // counter, gauge, histogram
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
    std::vector<std::string> callback_labels;
    std::function<std::vector<Sample>()> callback;
    std::vector<double> callback_bounds;
    std::function<std::vector<double>()> histogram_callback;
  };
  Entry& Add(const std::string& name, const std::string& help, const std::string& type);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  std::function<void()> before_render_ ABSL_GUARDED_BY(mu_);
};

// Bounds for latencies in seconds: 5 ms .. 60 s.
std::vector<double> LatencyBounds();

}  // namespace parley::metrics

#endif  // PARLEY_COMMON_METRICS_METRICS_H_
