#ifndef PARLEY_BROKER_STORE_MEMORY_CONNECTED_USER_H_
#define PARLEY_BROKER_STORE_MEMORY_CONNECTED_USER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "broker/store/memory/user_queue.h"
#include "common/token_bucket.h"

namespace parley::broker {

// A user between Connect and Disconnect (or expiry): the session holding the name, the
// user's queue, the rooms joined and when they were last active.
//
// Not thread-safe: owned by MemoryChatStore and touched only under its lock.
struct ConnectedUser {
  ConnectedUser(std::string name, std::string session, uint64_t epoch, size_t queue_capacity,
                absl::Time now, TokenBucket publish_bucket)
      : name(std::move(name)),
        session(std::move(session)),
        queue(epoch, queue_capacity),
        last_active(now),
        publish_bucket(publish_bucket) {}

  const std::string name;
  const std::string session;
  UserQueue queue;
  absl::btree_set<std::string> rooms;
  // Rooms left lately, and when: a Leave retried within --idempotency_window (its first try
  // finished, its answer lost) is answered as done, not "not a member".
  absl::flat_hash_map<std::string, absl::Time> left_at;
  absl::Time last_active;      // last Connect or Poll
  bool online = true;          // as the rooms' presence has it (Connect makes a user online)
  TokenBucket publish_bucket;  // --publish_rate / --publish_burst
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_STORE_MEMORY_CONNECTED_USER_H_
