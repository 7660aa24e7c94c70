#include "broker/store/memory/room.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/testing/core_fakes.h"

namespace parley::broker {
namespace {

using ::parley::testing::TextMessage;

TEST(RoomTest, KeepsOnlyTheNewestHistoryOldestFirst) {
  Room room("r", 3, 100, 1);
  for (const char* t : {"a", "b", "c", "d"}) room.AddToHistory(TextMessage(t));
  std::vector<MessagePtr> all = room.RecentHistory(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->text, "b");
  EXPECT_EQ(all[2]->text, "d");
  std::vector<MessagePtr> last_two = room.RecentHistory(2);
  ASSERT_EQ(last_two.size(), 2u);
  EXPECT_EQ(last_two[0]->text, "c");
}

}  // namespace
}  // namespace parley::broker
