#ifndef PARLEY_TESTS_TESTING_TEST_CHAT_STORES_H_
#define PARLEY_TESTS_TESTING_TEST_CHAT_STORES_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "broker/core/chat_options.h"
#include "broker/core/chat_store.h"

namespace parley::testing {

// The stores ChatState's rule tests run over, so the rules cannot drift between them.
enum class TestStore {
  kMemory,  // MemoryChatStore: answers at once, on the caller's thread
  // MemoryChatStore behind a thread of its own: every answer and notification comes later, from
  // that thread, as a store with round trips answers.
  kMemoryAnsweringLater,
  // RedisChatStore over two redis-server shards of its own, started for the store and stopped
  // with it.
  kRedis,
};

std::unique_ptr<broker::ChatStore> MakeTestStore(TestStore kind,
                                                 const broker::ChatOptions& options);
std::string TestStoreName(const ::testing::TestParamInfo<TestStore>& info);
// Returns once everything the store has told its listener of so far, or will from what is
// already done, has been told (with Redis: once the notifications came back over pub/sub).
void Settle(broker::ChatStore* store);

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_TEST_CHAT_STORES_H_
