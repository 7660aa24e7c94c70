#ifndef PARLEY_BROKER_STORE_MEMORY_IDEMPOTENCY_CACHE_H_
#define PARLEY_BROKER_STORE_MEMORY_IDEMPOTENCY_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/core/message.h"

namespace parley::broker {

// The answer a Publish gave, kept so a retry with the same key gets it again.
struct PublishRecord {
  MessagePtr message;
  uint32_t recipients = 0;
};

// Remembers (sender, idempotency key) → first Publish answer for `window`, then forgets it.
// Memory is bounded by the publish rate times the window: entries are dropped oldest first as
// they expire, on every call.
//
// Not thread-safe: owned by MemoryChatStore and touched only under its lock.
class IdempotencyCache {
 public:
  explicit IdempotencyCache(absl::Duration window) : window_(window) {}

  std::optional<PublishRecord> Find(absl::string_view sender, absl::string_view key,
                                    absl::Time now);
  void Insert(absl::string_view sender, absl::string_view key, PublishRecord record,
              absl::Time now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    PublishRecord record;
    absl::Time expires_at;
  };
  void DropExpired(absl::Time now);
  static std::string CacheKey(absl::string_view sender, absl::string_view key);

  const absl::Duration window_;
  absl::flat_hash_map<std::string, Entry> entries_;
  std::deque<std::string> insertion_order_;  // expiry order, since the window is fixed
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_STORE_MEMORY_IDEMPOTENCY_CACHE_H_
