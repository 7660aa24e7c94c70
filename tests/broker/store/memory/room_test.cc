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
  HistoryPage all = room.HistoryBefore(0, std::nullopt);
  ASSERT_EQ(all.messages.size(), 3u);
  EXPECT_EQ(all.messages[0]->text, "b");
  EXPECT_EQ(all.messages[2]->text, "d");
  EXPECT_EQ(all.older, "");
  HistoryPage last_two = room.HistoryBefore(2, std::nullopt);
  ASSERT_EQ(last_two.messages.size(), 2u);
  EXPECT_EQ(last_two.messages[0]->text, "c");
}

// Positions count every line ever kept, so a page's `older` still names the same line after
// newer lines pushed older ones out.
TEST(RoomTest, PagesStayPutWhileLinesArriveAndAreDropped) {
  Room room("r", 4, 100, 1);
  for (const char* t : {"a", "b", "c", "d"}) room.AddToHistory(TextMessage(t));
  HistoryPage newest = room.HistoryBefore(2, std::nullopt);  // c d
  ASSERT_EQ(newest.older, "2");
  room.AddToHistory(TextMessage("e"));  // a is dropped
  HistoryPage before = room.HistoryBefore(2, 2);
  ASSERT_EQ(before.messages.size(), 1u);  // only b is left before c
  EXPECT_EQ(before.messages[0]->text, "b");
  EXPECT_EQ(before.older, "");
  EXPECT_TRUE(room.HistoryBefore(2, 1).messages.empty());     // a position already dropped
  EXPECT_EQ(room.HistoryBefore(10, 99).messages.size(), 4u);  // past the newest: the newest
}

}  // namespace
}  // namespace parley::broker
