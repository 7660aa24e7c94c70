#include "broker/store/memory/user_queue.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace parley::broker {

UserQueue::UserQueue(uint64_t epoch, size_t capacity)
    : epoch_(epoch), capacity_(std::max<size_t>(capacity, 1)) {}

uint64_t UserQueue::Append(MessagePtr message) {
  ring_.push_back(std::move(message));
  const uint64_t seq = next_seq_++;
  if (ring_.size() > capacity_) {
    ring_.pop_front();
    ++first_seq_;
  }
  return seq;
}

QueueRead UserQueue::ReadAfter(uint64_t cursor, size_t max) const {
  assert(cursor <= last_seq());
  assert(max > 0);
  QueueRead read;
  uint64_t start = cursor + 1;
  if (start < first_seq_) {
    read.gap = true;
    read.missed = first_seq_ - start;
    start = first_seq_;
  }
  const uint64_t end = std::min<uint64_t>(last_seq(), start + max - 1);
  read.cursor = start - 1;
  for (uint64_t seq = start; seq <= end; ++seq) {
    read.messages.push_back({seq, ring_[seq - first_seq_]});
    read.cursor = seq;
  }
  if (read.messages.empty() && !read.gap) read.cursor = cursor;
  return read;
}

QueueRead UserQueue::Consume(size_t max) {
  QueueRead read = ReadAfter(consume_cursor_, max);
  consume_cursor_ = read.cursor;
  return read;
}

}  // namespace parley::broker
