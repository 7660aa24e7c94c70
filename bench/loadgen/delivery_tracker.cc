#include "bench/loadgen/delivery_tracker.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace parley::bench {

DeliveryTracker::DeliveryTracker(uint64_t run_id, int subscribers)
    : run_id_(run_id), subscribers_(subscribers), received_(subscribers) {}

std::string DeliveryTracker::MessageText(int sequence, int64_t now_ns, int publisher) const {
  return absl::StrCat(run_id_, "_", sequence, "_", now_ns, "_", publisher);
}

void DeliveryTracker::MarkSent(int sequence) {
  if (sequence >= static_cast<int>(sent_.size())) sent_.resize(sequence + 1);
  if (!sent_[sequence]) ++sent_count_;
  sent_[sequence] = true;
}

void DeliveryTracker::OnPublished(int sequence) {
  if (sequence >= static_cast<int>(published_.size())) published_.resize(sequence + 1);
  if (!published_[sequence]) ++published_count_;
  published_[sequence] = true;
  MarkSent(sequence);
}

void DeliveryTracker::OnReceived(int subscriber, absl::string_view text, int64_t now_ns) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '_');
  uint64_t run = 0;
  int sequence = 0;
  int64_t sent_ns = 0;
  int publisher = 0;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &run) || run != run_id_ ||
      !absl::SimpleAtoi(parts[1], &sequence) || !absl::SimpleAtoi(parts[2], &sent_ns) ||
      !absl::SimpleAtoi(parts[3], &publisher) || sequence < 0 || publisher < 0 ||
      publisher > 1024) {
    ++foreign_;
    return;
  }
  Subscriber& s = received_[subscriber];
  if (sequence >= static_cast<int>(s.seen.size())) s.seen.resize(sequence + 1);
  if (s.seen[sequence]) {
    ++duplicated_;
    return;
  }
  s.seen[sequence] = true;
  MarkSent(sequence);
  if (publisher >= static_cast<int>(s.highest.size())) s.highest.resize(publisher + 1, -1);
  if (sequence < s.highest[publisher]) ++out_of_order_;
  s.highest[publisher] = std::max(s.highest[publisher], sequence);
  ++delivered_;
  latencies_us_.push_back(static_cast<uint32_t>(std::max<int64_t>(0, now_ns - sent_ns) / 1000));
  sorted_ = false;
}

double DeliveryTracker::LatencyMicros(double percentile) {
  if (latencies_us_.empty()) return 0;
  if (!sorted_) {
    std::sort(latencies_us_.begin(), latencies_us_.end());
    sorted_ = true;
  }
  const size_t index =
      std::min(latencies_us_.size() - 1,
               static_cast<size_t>(percentile / 100.0 * static_cast<double>(latencies_us_.size())));
  return latencies_us_[index];
}

}  // namespace parley::bench
