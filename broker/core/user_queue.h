#ifndef PARLEY_BROKER_CORE_USER_QUEUE_H_
#define PARLEY_BROKER_CORE_USER_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "broker/core/message.h"
#include "broker/core/poll_waiter.h"

namespace parley::broker {

// What one read of a queue returns.
struct QueueRead {
  std::vector<SequencedMessage> messages;
  uint64_t cursor = 0;  // seq of the last message returned, else the cursor read after
  bool gap = false;     // messages after the cursor had already been dropped
  uint64_t missed = 0;  // how many (with gap)
};

// One user's messages: a bounded ring of shared messages numbered 1, 2, 3, ... When the ring
// is full the oldest message is dropped; a reader whose cursor points before the oldest kept
// message is told gap = true. Also holds the reads parked on this queue and the broker-side
// cursor of consume-mode reads.
//
// Not thread-safe: owned by ChatState and touched only under its lock.
class UserQueue {
 public:
  UserQueue(uint64_t epoch, size_t capacity);

  uint64_t epoch() const { return epoch_; }
  // The seq of the newest message (0 if none was ever appended).
  uint64_t last_seq() const { return next_seq_ - 1; }

  // Appends a message and returns its seq; moves the parked waiters into *to_wake.
  uint64_t Append(MessagePtr message, WaiterList* to_wake);

  // Up to `max` messages with seq > cursor, oldest first.
  // REQUIRES: cursor <= last_seq(); max > 0.
  QueueRead ReadAfter(uint64_t cursor, size_t max) const;

  // Like ReadAfter from the broker-kept consume cursor, which then advances past what was
  // returned.
  QueueRead Consume(size_t max);

  // `wake_on_presence`: the waiter also wants to hear of presence changes in the user's rooms
  // (TakePresenceWaiters).
  void AddWaiter(std::shared_ptr<PollWaiter> waiter, bool wake_on_presence = false);
  // Returns false if `waiter` was not parked here (already woken).
  bool RemoveWaiter(PollWaiter* waiter);
  // Moves every parked waiter into *to_wake.
  void TakeWaiters(WaiterList* to_wake);
  // Moves the waiters parked with wake_on_presence into *to_wake.
  void TakePresenceWaiters(WaiterList* to_wake);
  size_t waiter_count() const { return waiters_.size(); }
  size_t size() const { return ring_.size(); }  // messages held

 private:
  const uint64_t epoch_;
  const size_t capacity_;
  std::deque<MessagePtr> ring_;  // ring_[i] has seq first_seq_ + i
  uint64_t first_seq_ = 1;
  uint64_t next_seq_ = 1;
  uint64_t consume_cursor_ = 0;
  struct ParkedWaiter {
    std::shared_ptr<PollWaiter> waiter;
    bool wake_on_presence = false;
  };
  absl::flat_hash_map<PollWaiter*, ParkedWaiter> waiters_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_USER_QUEUE_H_
