#include "broker/core/poll_waiter.h"

#include <gtest/gtest.h>

#include <memory>

namespace parley::broker {
namespace {

class CountingWaiter : public PollWaiter {
 public:
  void Wake(absl::Time) override { ++wakes; }
  int wakes = 0;
};

TEST(DeferredWakesTest, WakeAllWakesAtOnceWithoutAScope) {
  auto waiter = std::make_shared<CountingWaiter>();
  WakeAll({waiter});
  EXPECT_EQ(waiter->wakes, 1);
}

TEST(DeferredWakesTest, HoldsWakesBackUntilRunNow) {
  auto first = std::make_shared<CountingWaiter>();
  auto second = std::make_shared<CountingWaiter>();
  DeferredWakes deferred;
  WakeAll({first});
  WakeAll({second, first});
  EXPECT_EQ(first->wakes, 0);
  EXPECT_EQ(second->wakes, 0);
  deferred.RunNow();
  EXPECT_EQ(first->wakes, 2);
  EXPECT_EQ(second->wakes, 1);
  WakeAll({second});  // the scope is over: at once
  EXPECT_EQ(second->wakes, 2);
}

TEST(DeferredWakesTest, DestructorWakesWhatWasHeld) {
  auto waiter = std::make_shared<CountingWaiter>();
  {
    DeferredWakes deferred;
    WakeAll({waiter});
    EXPECT_EQ(waiter->wakes, 0);
  }
  EXPECT_EQ(waiter->wakes, 1);
}

TEST(DeferredWakesTest, NestedScopesEachRunTheirOwn) {
  auto outer_waiter = std::make_shared<CountingWaiter>();
  auto inner_waiter = std::make_shared<CountingWaiter>();
  DeferredWakes outer;
  WakeAll({outer_waiter});
  {
    DeferredWakes inner;
    WakeAll({inner_waiter});
  }
  EXPECT_EQ(inner_waiter->wakes, 1);
  EXPECT_EQ(outer_waiter->wakes, 0);
  outer.RunNow();
  EXPECT_EQ(outer_waiter->wakes, 1);
}

}  // namespace
}  // namespace parley::broker
