#ifndef PARLEY_BROKER_STORE_REDIS_QUEUE_MIRROR_H_
#define PARLEY_BROKER_STORE_REDIS_QUEUE_MIRROR_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/chat_store.h"
#include "broker/core/message.h"

namespace parley::broker::redis {

// What this broker knows of the queues of one Redis shard's users between reads, so that a poll
// woken by a room line is answered, and a poll with nothing to read parks, without a round
// trip. Without it every delivery cost two reads through Redis (the woken poll's, and its next
// poll's before it parks), and the last of a thousand woken polls waited for the others' reads.
//
// A read that found nothing teaches it the user's epoch, last seq and rooms, and the number of
// the shard's last notification then (chat.lua numbers them). Each later notification either
// carries room lines (every member of the room on the shard got each as its next seq: they are
// added to the members known here), or says a user's record changed in a way only Redis can
// answer (the user is forgotten), or that every epoch changed (everything is forgotten). The
// shard's notifications reach one subscriber in order; a break in their numbers, or a new
// subscription, forgets everything, and reads sent before then teach nothing. A user is
// answered here only while every notification since its read has been seen, its cursor is
// within the lines kept, and the reader's epoch is the user's.
//
// Thread-safe: its own mutex guards everything, and nothing is called out while it is held.
// Notifications, what reads taught and sweeps come from RedisChatStore's loop thread; Read comes
// from whichever thread a poll arrives on, so a poll the mirror answers costs no hand-off to the
// loop (in a broker re-parking a thousand polls a second, those hand-offs were most of its CPU).
// The order that matters holds under the lock: a line is added before the wake that follows it,
// so a read either sees the line or began before the wake (WaiterRegistry's ticket).
class QueueMirror {
 public:
  // `max_lines`: room lines kept per user (at most the queue capacity, so no line a cursor
  // within them asks for has been trimmed from the queue).
  explicit QueueMirror(size_t max_lines) : max_lines_(max_lines) {}
  QueueMirror(const QueueMirror&) = delete;
  QueueMirror& operator=(const QueueMirror&) = delete;

  // Counts changes of what the mirror can trust: a read sent at one count teaches nothing if it
  // is answered at another.
  uint64_t generation() const {
    absl::MutexLock lock(&mu_);
    return generation_;
  }

  // A new subscription: notifications may have been lost.
  void Resubscribed();
  // The shard's notifications, as received. `event` is its number.
  // `parse` gives a room notification's lines; it runs only if a member of `room` is known here
  // (every broker gets every line of the shard). Lines that do not parse forget everything.
  using ParseLines = absl::FunctionRef<absl::StatusOr<std::vector<MessagePtr>>()>;
  void RoomLines(uint64_t event, absl::string_view room, ParseLines parse);
  void UserChanged(uint64_t event, absl::string_view user);
  void EveryUserChanged(uint64_t event);
  // A notification that changes no queue (presence).
  void Other(uint64_t event) {
    absl::MutexLock lock(&mu_);
    Continue(event);
  }

  // A write of this broker's own was acknowledged with the shard's notification `event`: reads
  // here are not answered from the mirror until it has been seen, so a publish acknowledged
  // here is in every read here after it.
  void Wrote(uint64_t event) {
    absl::MutexLock lock(&mu_);
    written_ = std::max(written_, event);
  }

  // A read that found nothing, sent at `generation`: the user's epoch, last seq and rooms as of
  // the shard's notification `event`.
  void Learn(uint64_t generation, const std::string& user, uint64_t epoch, uint64_t seq,
             const std::vector<std::string>& rooms, uint64_t event);
  // The read answered from what is known, or nullopt (read Redis). A read answered here counts
  // as the user's activity at `now`, reported by TakeAnswered.
  std::optional<StoreRead> Read(const ReadInput& input, size_t max_messages, absl::Time now);
  // The users answered here since the last call, with the time of their last answer. Users
  // neither learnt nor answered since the call before are forgotten (called each sweep, so
  // what is kept is bounded by the users who polled here in the last two sweeps).
  std::vector<std::pair<std::string, absl::Time>> TakeAnswered();

  size_t users() const {
    absl::MutexLock lock(&mu_);
    return users_.size();
  }

 private:
  struct User {
    std::string name;
    uint64_t epoch = 0;
    uint64_t seq = 0;   // the queue's last
    uint64_t base = 0;  // lines after it are in `lines`
    std::deque<SequencedMessage> lines;
    std::vector<std::string> rooms;  // sorted
    uint64_t learnt_at = 0;          // notifications up to this one were in the read
    std::optional<absl::Time> answered;
    int idle_sweeps = 0;
  };

  // Whether `event` follows the last one; a break forgets everything.
  bool Continue(uint64_t event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forget(absl::node_hash_map<std::string, User>::iterator user)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_lines_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_event_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none since the subscription
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;     // Wrote's latest
  absl::node_hash_map<std::string, User> users_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<User*>> by_room_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_QUEUE_MIRROR_H_
