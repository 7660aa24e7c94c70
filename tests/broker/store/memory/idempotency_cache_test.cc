#include "broker/store/memory/idempotency_cache.h"

#include <gtest/gtest.h>

#include <memory>

namespace parley::broker {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

PublishRecord Record(uint32_t recipients) {
  auto message = std::make_shared<Message>();
  message->id = "m" + std::to_string(recipients);
  return {message, recipients};
}

TEST(IdempotencyCacheTest, FindsWhatWasInsertedForTheSameSenderOnly) {
  IdempotencyCache cache(absl::Minutes(10));
  cache.Insert("alice", "k1", Record(3), kStart);
  auto found = cache.Find("alice", "k1", kStart);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->recipients, 3u);
  EXPECT_EQ(found->message->id, "m3");
  EXPECT_FALSE(cache.Find("bob", "k1", kStart).has_value());
  EXPECT_FALSE(cache.Find("alice", "k2", kStart).has_value());
}

TEST(IdempotencyCacheTest, ForgetsAfterTheWindowAndFreesMemory) {
  IdempotencyCache cache(absl::Minutes(10));
  cache.Insert("alice", "k1", Record(1), kStart);
  cache.Insert("alice", "k2", Record(2), kStart + absl::Minutes(5));
  EXPECT_TRUE(cache.Find("alice", "k1", kStart + absl::Minutes(9)).has_value());
  EXPECT_FALSE(cache.Find("alice", "k1", kStart + absl::Minutes(10)).has_value());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.Find("alice", "k2", kStart + absl::Minutes(10)).has_value());
  EXPECT_FALSE(cache.Find("alice", "k2", kStart + absl::Minutes(16)).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(IdempotencyCacheTest, FirstAnswerWins) {
  IdempotencyCache cache(absl::Minutes(10));
  cache.Insert("alice", "k", Record(1), kStart);
  cache.Insert("alice", "k", Record(2), kStart);
  EXPECT_EQ(cache.Find("alice", "k", kStart)->recipients, 1u);
}

}  // namespace
}  // namespace parley::broker
