#ifndef PARLEY_BROKER_STORE_MEMORY_USER_QUEUE_H_
#define PARLEY_BROKER_STORE_MEMORY_USER_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "broker/core/message.h"

namespace parley::broker {

// One user's messages: a bounded ring of shared messages numbered 1, 2, 3, ... When the ring
// is full the oldest message is dropped; a reader whose cursor points before the oldest kept
// message is told gap = true. Also holds the broker-side cursor of consume-mode reads.
//
// Not thread-safe: owned by MemoryChatStore and touched only under its lock.
class UserQueue {
 public:
  UserQueue(uint64_t epoch, size_t capacity);

  uint64_t epoch() const { return epoch_; }
  // The seq of the newest message (0 if none was ever appended).
  uint64_t last_seq() const { return next_seq_ - 1; }

  // Appends a message and returns its seq.
  uint64_t Append(MessagePtr message);

  // Up to `max` messages with seq > cursor, oldest first.
  // REQUIRES: cursor <= last_seq(); max > 0.
  QueueRead ReadAfter(uint64_t cursor, size_t max) const;

  // Like ReadAfter from the broker-kept consume cursor, which then advances past what was
  // returned.
  QueueRead Consume(size_t max);

  size_t size() const { return ring_.size(); }  // messages held

 private:
  const uint64_t epoch_;
  const size_t capacity_;
  std::deque<MessagePtr> ring_;  // ring_[i] has seq first_seq_ + i
  uint64_t first_seq_ = 1;
  uint64_t next_seq_ = 1;
  uint64_t consume_cursor_ = 0;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_STORE_MEMORY_USER_QUEUE_H_
