#include "broker/store/redis/shard_map.h"

namespace parley::broker::redis {

uint64_t Fnv1a64(absl::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

int32_t JumpConsistentHash(uint64_t key, int32_t buckets) {
  int64_t bucket = -1;
  int64_t next = 0;
  while (next < buckets) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    next = static_cast<int64_t>(
        static_cast<double>(bucket + 1) *
        (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<int32_t>(bucket);
}

size_t ShardOf(absl::string_view name, size_t shards) {
  if (shards <= 1) return 0;
  return static_cast<size_t>(JumpConsistentHash(Fnv1a64(name), static_cast<int32_t>(shards)));
}

}  // namespace parley::broker::redis
