#ifndef PARLEY_BROKER_CORE_POLL_WAITER_H_
#define PARLEY_BROKER_CORE_POLL_WAITER_H_

#include <iterator>
#include <memory>
#include <utility>
#include <vector>

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
  virtual void Wake() = 0;
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

  // Ends the deferral on this thread and wakes everything held back. Call with no lock held.
  void RunNow() {
    if (current_ == this) current_ = outer_;
    WaiterList waiters = std::move(held_);
    held_.clear();
    for (const auto& waiter : waiters) waiter->Wake();
  }

 private:
  friend void WakeAll(WaiterList waiters);
  static inline thread_local DeferredWakes* current_ = nullptr;
  DeferredWakes* const outer_;
  WaiterList held_;
};

// Wakes every waiter in `waiters`, or hands them to this thread's DeferredWakes. Call with no
// lock held.
inline void WakeAll(WaiterList waiters) {
  if (DeferredWakes::current_ != nullptr) {
    WaiterList& held = DeferredWakes::current_->held_;
    held.insert(held.end(), std::make_move_iterator(waiters.begin()),
                std::make_move_iterator(waiters.end()));
    return;
  }
  for (const auto& waiter : waiters) waiter->Wake();
}

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_POLL_WAITER_H_
