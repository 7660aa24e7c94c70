#include "broker/store/memory/user_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/testing/core_fakes.h"

namespace parley::broker {
namespace {

using ::parley::testing::TextMessage;

std::vector<std::string> Texts(const QueueRead& read) {
  std::vector<std::string> texts;
  for (const SequencedMessage& m : read.messages) texts.push_back(m.message->text);
  return texts;
}

TEST(UserQueueTest, NumbersMessagesFromOne) {
  UserQueue queue(7, 10);
  EXPECT_EQ(queue.last_seq(), 0u);
  EXPECT_EQ(queue.Append(TextMessage("a")), 1u);
  EXPECT_EQ(queue.Append(TextMessage("b")), 2u);
  EXPECT_EQ(queue.last_seq(), 2u);
  EXPECT_EQ(queue.epoch(), 7u);
}

TEST(UserQueueTest, ReadAfterCursorReturnsOnlyNewerMessagesAndIsRepeatable) {
  UserQueue queue(1, 10);
  for (const char* t : {"a", "b", "c"}) queue.Append(TextMessage(t));
  QueueRead read = queue.ReadAfter(1, 100);
  EXPECT_EQ(Texts(read), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(read.messages[0].seq, 2u);
  EXPECT_EQ(read.cursor, 3u);
  EXPECT_FALSE(read.gap);
  // A second reader (another tab) or a retry gets the same.
  EXPECT_EQ(Texts(queue.ReadAfter(1, 100)), (std::vector<std::string>{"b", "c"}));
}

TEST(UserQueueTest, ReadAtTheEndIsEmptyAndKeepsTheCursor) {
  UserQueue queue(1, 10);
  queue.Append(TextMessage("a"));
  QueueRead read = queue.ReadAfter(1, 100);
  EXPECT_TRUE(read.messages.empty());
  EXPECT_EQ(read.cursor, 1u);
  EXPECT_FALSE(read.gap);
}

TEST(UserQueueTest, MaxLimitsTheBatchAndTheCursorFollowsIt) {
  UserQueue queue(1, 10);
  for (const char* t : {"a", "b", "c", "d"}) queue.Append(TextMessage(t));
  QueueRead first = queue.ReadAfter(0, 2);
  EXPECT_EQ(Texts(first), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(first.cursor, 2u);
  EXPECT_EQ(Texts(queue.ReadAfter(first.cursor, 2)), (std::vector<std::string>{"c", "d"}));
}

TEST(UserQueueTest, OverflowDropsOldestAndReportsGapToReadersBehind) {
  UserQueue queue(1, 3);
  for (const char* t : {"a", "b", "c", "d", "e"}) queue.Append(TextMessage(t));
  QueueRead behind = queue.ReadAfter(1, 100);  // wanted b..e, b is gone
  EXPECT_TRUE(behind.gap);
  EXPECT_EQ(Texts(behind), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(behind.messages.front().seq, 3u);
  QueueRead caught_up = queue.ReadAfter(2, 100);  // wanted c..e: all kept
  EXPECT_FALSE(caught_up.gap);
  EXPECT_EQ(Texts(caught_up), (std::vector<std::string>{"c", "d", "e"}));
}

TEST(UserQueueTest, ConsumeAdvancesTheBrokerKeptCursor) {
  UserQueue queue(1, 10);
  for (const char* t : {"a", "b", "c"}) queue.Append(TextMessage(t));
  EXPECT_EQ(Texts(queue.Consume(1)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Texts(queue.Consume(1)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Texts(queue.Consume(5)), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(queue.Consume(1).messages.empty());
  // Cursor readers are not affected by consumers.
  EXPECT_EQ(Texts(queue.ReadAfter(0, 100)), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(UserQueueTest, ConsumerThatFellBehindIsToldGap) {
  UserQueue queue(1, 2);
  for (const char* t : {"a", "b", "c"}) queue.Append(TextMessage(t));
  QueueRead read = queue.Consume(1);
  EXPECT_TRUE(read.gap);
  EXPECT_EQ(Texts(read), (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace parley::broker
