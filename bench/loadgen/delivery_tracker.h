#ifndef PARLEY_BENCH_LOADGEN_DELIVERY_TRACKER_H_
#define PARLEY_BENCH_LOADGEN_DELIVERY_TRACKER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace parley::bench {

// The publisher's messages and what every subscriber received: counts deliveries, losses,
// duplicates, reorderings and publish→receive latency. A message text is
// "<run>_<sequence>_<send time ns>_<publisher connection>"; texts of other runs are ignored.
// Order is judged per publisher connection (each has one publish in flight, so its order is
// defined; concurrent connections' relative order is the server's to choose). A message
// counts as sent if the server accepted it or any subscriber received it (an answer can time
// out after the message went out). Single-threaded.
class DeliveryTracker {
 public:
  DeliveryTracker(uint64_t run_id, int subscribers);

  std::string MessageText(int sequence, int64_t now_ns, int publisher) const;
  void OnPublished(int sequence);  // the server accepted it
  // A text received by `subscriber` at `now_ns`.
  void OnReceived(int subscriber, absl::string_view text, int64_t now_ns);

  int64_t published() const { return sent_count_; }
  int64_t acknowledged() const { return published_count_; }
  int64_t delivered() const { return delivered_; }
  int64_t expected() const { return sent_count_ * subscribers_; }
  int64_t duplicated() const { return duplicated_; }
  int64_t out_of_order() const { return out_of_order_; }
  int64_t foreign() const { return foreign_; }
  // Latency percentile (0..100) in microseconds over every delivery.
  double LatencyMicros(double percentile);

 private:
  struct Subscriber {
    std::vector<bool> seen;
    std::vector<int> highest;  // per publisher connection
  };
  void MarkSent(int sequence);

  const uint64_t run_id_;
  const int subscribers_;
  std::vector<Subscriber> received_;
  std::vector<bool> published_;
  std::vector<bool> sent_;  // accepted, or received by someone
  int64_t published_count_ = 0;
  int64_t sent_count_ = 0;
  int64_t delivered_ = 0;
  int64_t duplicated_ = 0;
  int64_t out_of_order_ = 0;
  int64_t foreign_ = 0;
  std::vector<uint32_t> latencies_us_;
  bool sorted_ = false;
};

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_DELIVERY_TRACKER_H_
