#ifndef PARLEY_BROKER_CORE_POLL_WAITER_H_
#define PARLEY_BROKER_CORE_POLL_WAITER_H_

#include <memory>
#include <vector>

#include "absl/time/time.h"

namespace parley::broker {

// A parked read: something waiting for a user's queue to change. The chat logic keeps a
// shared_ptr to each parked waiter; when the queue changes (a message arrives, the user
// leaves, the broker drains) it removes the waiter and calls Wake() once, after releasing its
// own lock, from whichever thread made the change. The waiter then reads again (and may park
// again). Implementations must make Wake() safe to call from any thread, concurrently with
// their own timers and cancellation.
class PollWaiter {
 public:
  virtual ~PollWaiter() = default;
  // `changed_at`: when the store made the change that wakes it (real time, for the wake-lag
  // metric), or absl::InfinitePast() when there is no one change (a resync, a drain,
  // presence).
  virtual void Wake(absl::Time changed_at) = 0;
};

using WaiterList = std::vector<std::shared_ptr<PollWaiter>>;

// Wakes every waiter in `waiters`. Call with no lock held.
inline void WakeAll(const WaiterList& waiters, absl::Time changed_at = absl::InfinitePast()) {
  for (const auto& waiter : waiters) waiter->Wake(changed_at);
}

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_POLL_WAITER_H_
