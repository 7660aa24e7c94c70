#ifndef PARLEY_TESTS_TESTING_SHARD_NAMES_H_
#define PARLEY_TESTS_TESTING_SHARD_NAMES_H_

#include <cstddef>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/store/redis/shard_map.h"

namespace parley::testing {

// A user or room name starting with `prefix` whose keys live on `shard` (modulo `shards`) of
// the Redis store: for tests that need a name on a given shard. Any thread.
inline std::string NameOnShard(const std::string& prefix, size_t shard, size_t shards) {
  for (int i = 0;; ++i) {
    std::string name = absl::StrCat(prefix, i);
    if (broker::redis::ShardOf(name, shards) == shard % shards) return name;
  }
}

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_SHARD_NAMES_H_
