// The frontend's event loop: posts from other threads and from its own, and after it ended.

#include "frontend/net/event_loop.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace parley::frontend {
namespace {

TEST(EventLoopTest, APostFromAnotherThreadRunsOnTheLoop) {
  EventLoop loop;
  std::thread thread([&] { loop.Run(); });
  absl::Notification ran;
  bool on_loop = false;
  loop.Post([&] {
    on_loop = loop.InLoopThread();
    ran.Notify();
  });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(on_loop);
  loop.Stop();
  thread.join();
}

// A post from the loop's own thread does not wake it through the eventfd; the loop must see
// it before it waits (here it would otherwise sleep until the hour-long timer).
TEST(EventLoopTest, APostFromTheLoopItselfRunsWithoutWaitingForAnEvent) {
  EventLoop loop;
  loop.AddTimer(absl::Now() + absl::Hours(1), [] {});
  std::thread thread([&] { loop.Run(); });
  absl::Notification second;
  loop.Post([&] { loop.Post([&] { second.Notify(); }); });
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(10)));
  loop.Stop();
  thread.join();
}

// Answers may still arrive for a loop that has stopped (the frontend shutting down): they run
// at once on the poster's thread rather than being dropped unrun.
TEST(EventLoopTest, APostAfterTheLoopEndedRunsAtOnce) {
  EventLoop loop;
  std::thread thread([&] { loop.Run(); });
  int before = 0;
  loop.Post([&] { ++before; });
  loop.Stop();
  thread.join();
  EXPECT_EQ(before, 1);
  bool after = false;
  loop.Post([&] { after = true; });
  EXPECT_TRUE(after);
}

}  // namespace
}  // namespace parley::frontend
