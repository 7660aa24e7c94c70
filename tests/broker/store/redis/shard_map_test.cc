#include "broker/store/redis/shard_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace parley::broker::redis {
namespace {

TEST(ShardMapTest, TheHashesAreTheFixedPublishedFunctions) {
  // FNV-1a's published test vectors, and values of the jump hash's reference implementation:
  // a broker built elsewhere must place every name where this one does.
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(JumpConsistentHash(0, 1), 0);
  EXPECT_EQ(JumpConsistentHash(1, 2), 0);
  EXPECT_EQ(JumpConsistentHash(256, 1024), 520);
  EXPECT_EQ(JumpConsistentHash(10863919174838991ULL, 11), 6);
  EXPECT_EQ(JumpConsistentHash(2016238256797177309ULL, 11), 3);
}

TEST(ShardMapTest, NamesSpreadEvenlyAndAddingAShardMovesOnlyItsShare) {
  constexpr int kNames = 20'000;
  std::vector<size_t> three(kNames);
  std::vector<int> per_shard(3);
  for (int i = 0; i < kNames; ++i) {
    three[i] = ShardOf(absl::StrCat("user", i), 3);
    ASSERT_LT(three[i], 3u);
    ++per_shard[three[i]];
  }
  for (int count : per_shard) EXPECT_NEAR(count, kNames / 3, kNames / 30);
  int moved = 0;
  for (int i = 0; i < kNames; ++i) {
    const size_t four = ShardOf(absl::StrCat("user", i), 4);
    if (four != three[i]) {
      ++moved;
      EXPECT_EQ(four, 3u) << "a name moved between old shards";
    }
  }
  EXPECT_NEAR(moved, kNames / 4, kNames / 40);
  EXPECT_EQ(ShardOf("anyone", 1), 0u);
}

}  // namespace
}  // namespace parley::broker::redis
