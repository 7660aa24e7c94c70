#ifndef PARLEY_BROKER_STORE_REDIS_SHARD_MAP_H_
#define PARLEY_BROKER_STORE_REDIS_SHARD_MAP_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace parley::broker::redis {

// The shard of a user or room name among `shards` Redis primaries: Lamping and Veach's jump
// consistent hash of the name's 64-bit FNV-1a hash. Both are fixed functions (unlike
// absl::Hash, which is seeded per process), so every broker, of any build, agrees; and going
// from n to n+1 shards moves only about 1/(n+1) of the names, each to the new shard.
// Pure; any thread.
size_t ShardOf(absl::string_view name, size_t shards);

// The two halves, for tests and the shard-moving tool.
uint64_t Fnv1a64(absl::string_view bytes);
int32_t JumpConsistentHash(uint64_t key, int32_t buckets);

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_SHARD_MAP_H_
