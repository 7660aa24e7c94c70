#ifndef PARLEY_BROKER_CORE_CLOCK_H_
#define PARLEY_BROKER_CORE_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace parley::broker {

// Where the chat logic gets the time from, so that presence, expiry and idempotency windows can
// be tested by moving a fake clock instead of sleeping. Implementations are safe for concurrent
// use.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CLOCK_H_
