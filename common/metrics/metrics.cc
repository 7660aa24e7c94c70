#include "common/metrics/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace parley::metrics {
namespace {

// The text format escapes \ and newline in help text, and also " in label values.
std::string Escape(absl::string_view text, bool quotes) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// `{a="x",b="y"}` (plus `extra`, e.g. le="0.5"), or "" with no labels at all.
std::string LabelText(const std::vector<std::string>& names, const LabelValues& values,
                      absl::string_view extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"",
                    Escape(values[i], /*quotes=*/true), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, out.empty() ? "" : ",", extra);
  return out.empty() ? "" : absl::StrCat("{", out, "}");
}

std::string Number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  return absl::StrCat(value);
}

// The value after `key` in a /proc "Key:   value" file, 0 if absent.
double ProcStatusValue(absl::string_view key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, key)) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line.substr(key.size()), ' ', absl::SkipWhitespace());
    double value = 0;
    if (!parts.empty() && absl::SimpleAtod(parts[0], &value)) return value;
  }
  return 0;
}

double ProcessCpuSeconds() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command (which may hold spaces) start after the last ')'.
  const size_t end = text.rfind(')');
  if (end == std::string::npos) return 0;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(text).substr(end + 2), ' ', absl::SkipWhitespace());
  // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the command.
  double user = 0;
  double system = 0;
  if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &user) ||
      !absl::SimpleAtod(fields[12], &system)) {
    return 0;
  }
  return (user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> LatencyBounds() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60};
}

Registry::Entry& Registry::Add(const std::string& name, const std::string& help,
                               const std::string& type) {
  absl::MutexLock lock(&mu_);
  entries_.push_back(std::make_unique<Entry>());
  Entry& entry = *entries_.back();
  entry.name = name;
  entry.help = help;
  entry.type = type;
  return entry;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  Entry& entry = Add(name, help, "counter");
  entry.counters = std::make_unique<Family<Counter>>(std::move(label_names),
                                                     [] { return std::make_unique<Counter>(); });
  return *entry.counters;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  Entry& entry = Add(name, help, "gauge");
  entry.gauges = std::make_unique<Family<Gauge>>(std::move(label_names),
                                                 [] { return std::make_unique<Gauge>(); });
  return *entry.gauges;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<double> bounds,
                                          std::vector<std::string> label_names) {
  Entry& entry = Add(name, help, "histogram");
  entry.histograms = std::make_unique<Family<Histogram>>(
      std::move(label_names), [bounds] { return std::make_unique<Histogram>(bounds); });
  return *entry.histograms;
}

void Registry::AddCallbackGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names,
                                std::function<std::vector<Sample>()> read) {
  Entry& entry = Add(name, help, "gauge");
  entry.callback_labels = std::move(label_names);
  entry.callback = std::move(read);
}

void Registry::AddCallbackCounter(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::function<std::vector<Sample>()> read) {
  Entry& entry = Add(name, help, "counter");
  entry.callback_labels = std::move(label_names);
  entry.callback = std::move(read);
}

void Registry::AddCallbackHistogram(const std::string& name, const std::string& help,
                                    std::vector<double> bounds,
                                    std::function<std::vector<double>()> read) {
  Entry& entry = Add(name, help, "histogram");
  entry.callback_bounds = std::move(bounds);
  entry.histogram_callback = std::move(read);
}

void Registry::AddProcessMetrics() {
  AddCallbackGauge("process_resident_memory_bytes", "Resident memory of this process.", {}, [] {
    return std::vector<Sample>{{{}, ProcStatusValue("VmRSS:") * 1024}};
  });
  AddCallbackGauge("process_threads", "Threads of this process.", {}, [] {
    return std::vector<Sample>{{{}, ProcStatusValue("Threads:")}};
  });
  AddCallbackCounter("process_cpu_seconds_total", "User and system CPU time of this process.", {},
                     [] {
                       return std::vector<Sample>{{{}, ProcessCpuSeconds()}};
                     });
}

namespace {

void RenderHistogram(const std::string& name, const std::vector<std::string>& label_names,
                     const LabelValues& values, const std::vector<double>& bounds,
                     const Histogram::Snapshot& snapshot, std::string* out) {
  for (size_t i = 0; i <= bounds.size(); ++i) {
    const double bound = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
    absl::StrAppend(out, name, "_bucket",
                    LabelText(label_names, values, absl::StrCat("le=\"", Number(bound), "\"")), " ",
                    snapshot.cumulative[i], "\n");
  }
  absl::StrAppend(out, name, "_sum", LabelText(label_names, values), " ", Number(snapshot.sum),
                  "\n", name, "_count", LabelText(label_names, values), " ", snapshot.count, "\n");
}

}  // namespace

void Registry::SetBeforeRender(std::function<void()> prepare) {
  absl::MutexLock lock(&mu_);
  before_render_ = std::move(prepare);
}

std::string Registry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  if (before_render_) before_render_();
  for (const auto& entry : entries_) {
    absl::StrAppend(&out, "# HELP ", entry->name, " ", Escape(entry->help, /*quotes=*/false),
                    "\n# TYPE ", entry->name, " ", entry->type, "\n");
    if (entry->counters) {
      entry->counters->ForEach([&](const LabelValues& values, const Counter& counter) {
        absl::StrAppend(&out, entry->name, LabelText(entry->counters->label_names(), values), " ",
                        counter.value(), "\n");
      });
    } else if (entry->gauges) {
      entry->gauges->ForEach([&](const LabelValues& values, const Gauge& gauge) {
        absl::StrAppend(&out, entry->name, LabelText(entry->gauges->label_names(), values), " ",
                        gauge.value(), "\n");
      });
    } else if (entry->histograms) {
      const auto& names = entry->histograms->label_names();
      entry->histograms->ForEach([&](const LabelValues& values, const Histogram& histogram) {
        RenderHistogram(entry->name, names, values, histogram.bounds(), histogram.Read(), &out);
      });
    } else if (entry->histogram_callback) {
      Histogram histogram(entry->callback_bounds);
      for (double value : entry->histogram_callback()) histogram.Observe(value);
      RenderHistogram(entry->name, {}, {}, histogram.bounds(), histogram.Read(), &out);
    } else if (entry->callback) {
      for (const Sample& sample : entry->callback()) {
        absl::StrAppend(&out, entry->name, LabelText(entry->callback_labels, sample.labels), " ",
                        Number(sample.value), "\n");
      }
    }
  }
  return out;
}

}  // namespace parley::metrics
