#ifndef PARLEY_TESTS_TESTING_FAKE_CLOCK_H_
#define PARLEY_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/clock.h"

namespace parley::testing {

// A clock that moves only when a test says so. Thread-safe.
class FakeClock final : public broker::Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_FAKE_CLOCK_H_
