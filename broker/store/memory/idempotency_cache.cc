#include "broker/store/memory/idempotency_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace parley::broker {

std::string IdempotencyCache::CacheKey(absl::string_view sender, absl::string_view key) {
  // Names cannot contain '\n', so the pair maps to the string one to one.
  return absl::StrCat(sender, "\n", key);
}

std::optional<PublishRecord> IdempotencyCache::Find(absl::string_view sender, absl::string_view key,
                                                    absl::Time now) {
  DropExpired(now);
  auto it = entries_.find(CacheKey(sender, key));
  if (it == entries_.end()) return std::nullopt;
  return it->second.record;
}

void IdempotencyCache::Insert(absl::string_view sender, absl::string_view key, PublishRecord record,
                              absl::Time now) {
  DropExpired(now);
  std::string cache_key = CacheKey(sender, key);
  auto [it, inserted] = entries_.try_emplace(cache_key, Entry{std::move(record), now + window_});
  if (inserted) insertion_order_.push_back(std::move(cache_key));
}

void IdempotencyCache::DropExpired(absl::Time now) {
  while (!insertion_order_.empty()) {
    auto it = entries_.find(insertion_order_.front());
    if (it != entries_.end() && it->second.expires_at > now) break;
    if (it != entries_.end()) entries_.erase(it);
    insertion_order_.pop_front();
  }
}

}  // namespace parley::broker
