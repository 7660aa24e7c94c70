#ifndef PARLEY_TESTS_TESTING_WAIT_FOR_H_
#define PARLEY_TESTS_TESTING_WAIT_FOR_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace parley::testing {

// Waits until `condition` holds, checking it every millisecond, for at most `timeout`.
// Returns whether it held. For state another thread or process changes and that offers no
// notification of its own (counters, health); the timeout only bounds a failing test.
inline bool WaitFor(const std::function<bool()>& condition,
                    absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_WAIT_FOR_H_
