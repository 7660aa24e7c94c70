#ifndef PARLEY_BROKER_CORE_POLL_WAITER_H_
#define PARLEY_BROKER_CORE_POLL_WAITER_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "broker/core/answer_batch.h"

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

// Holds back the wakes that WakeAll() would do on this thread while it lives, and does them
// in RunNow() or its destructor. The RPC layer opens one around a handler so the caller's
// own answer (a Publish to 10,000 parked polls) leaves before the 10,000 answers it causes.
// Lives on one thread's stack; scopes nest (an inner one hands its wakes to nobody else).
class DeferredWakes {
 public:
  DeferredWakes() : outer_(current_) { current_ = this; }
  ~DeferredWakes() { RunNow(); }
  DeferredWakes(const DeferredWakes&) = delete;
  DeferredWakes& operator=(const DeferredWakes&) = delete;

  // Ends the deferral on this thread and wakes everything held back, their answers as one
  // AnswerBatch. Call with no lock held.
  void RunNow() {
    if (current_ == this) current_ = outer_;
    std::vector<Batch> batches = std::move(held_);
    held_.clear();
    AnswerBatch answers;
    for (const auto& [waiters, changed_at] : batches) {
      for (const auto& waiter : waiters) waiter->Wake(changed_at);
    }
  }

 private:
  friend void WakeAll(WaiterList waiters, absl::Time changed_at);
  using Batch = std::pair<WaiterList, absl::Time>;
  static inline thread_local DeferredWakes* current_ = nullptr;
  DeferredWakes* const outer_;
  std::vector<Batch> held_;
};

// Wakes every waiter in `waiters`, or hands them to this thread's DeferredWakes. Call with no
// lock held.
inline void WakeAll(WaiterList waiters, absl::Time changed_at = absl::InfinitePast()) {
  if (waiters.empty()) return;
  if (DeferredWakes::current_ != nullptr) {
    DeferredWakes::current_->held_.emplace_back(std::move(waiters), changed_at);
    return;
  }
  for (const auto& waiter : waiters) waiter->Wake(changed_at);
}

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_POLL_WAITER_H_
