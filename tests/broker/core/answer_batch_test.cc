#include "broker/core/answer_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::broker {
namespace {

TEST(AnswerBatchTest, WithoutABatchTheCallerDoesTheWorkItself) {
  int key = 0;
  bool ran = false;
  EXPECT_FALSE(AnswerBatch::Defer(&key, [&] { ran = true; }));
  EXPECT_FALSE(ran);
}

TEST(AnswerBatchTest, WorkIsHeldOncePerKeyUntilTheBatchEnds) {
  int stream_a = 0, stream_b = 0;
  std::vector<std::string> done;
  {
    AnswerBatch batch;
    EXPECT_TRUE(AnswerBatch::Defer(&stream_a, [&] { done.push_back("a"); }));
    EXPECT_TRUE(AnswerBatch::Defer(&stream_b, [&] { done.push_back("b"); }));
    EXPECT_TRUE(AnswerBatch::Defer(&stream_a, [&] { done.push_back("a again"); }));
    EXPECT_TRUE(done.empty());
  }
  EXPECT_EQ(done, (std::vector<std::string>{"a", "b"}));
}

TEST(AnswerBatchTest, NestedBatchesRunTheirOwnAndWorkAfterRunNowIsNotHeldByIt) {
  int key = 0;
  std::vector<std::string> done;
  AnswerBatch outer;
  {
    AnswerBatch inner;
    AnswerBatch::Defer(&key, [&] { done.push_back("inner"); });
  }
  EXPECT_EQ(done, std::vector<std::string>{"inner"});
  outer.RunNow();
  EXPECT_FALSE(AnswerBatch::Defer(&key, [&] { done.push_back("late"); }));
}

}  // namespace
}  // namespace parley::broker
