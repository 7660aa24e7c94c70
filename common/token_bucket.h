#ifndef PARLEY_COMMON_TOKEN_BUCKET_H_
#define PARLEY_COMMON_TOKEN_BUCKET_H_

#include <algorithm>

#include "absl/time/time.h"

namespace parley {

// A token bucket: up to `burst` actions at once, refilled at `rate_per_second`. Not
// thread-safe: its owner's lock guards it (one bucket per user in the broker, per address in
// the frontend).
class TokenBucket {
 public:
  TokenBucket(double rate_per_second, double burst, absl::Time now)
      : rate_(rate_per_second), burst_(burst), tokens_(burst), updated_(now) {}

  // Takes one token if there is one; otherwise answers how long until there will be.
  absl::Duration TryTake(absl::Time now) {
    Refill(now);
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return absl::ZeroDuration();
    }
    return absl::Seconds((1 - tokens_) / rate_);
  }

  // Full again (nothing to remember about this client) by `now`.
  bool IsFull(absl::Time now) {
    Refill(now);
    return tokens_ >= burst_;
  }

 private:
  void Refill(absl::Time now) {
    if (now > updated_) {
      tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - updated_) * rate_);
      updated_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  absl::Time updated_;
};

}  // namespace parley

#endif  // PARLEY_COMMON_TOKEN_BUCKET_H_
