#include "broker/core/waiter_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/core_fakes.h"

namespace parley::broker {
namespace {

using ::parley::testing::CountingWaiter;
using Result = WaiterRegistry::ParkResult;

class WaiterRegistryTest : public ::testing::Test {
 protected:
  // Parks a new waiter for `user`, in `rooms`, with nothing changing in between.
  std::shared_ptr<CountingWaiter> Park(const std::string& user,
                                       std::vector<std::string> rooms = {"lobby"},
                                       bool watch_presence = false) {
    auto waiter = std::make_shared<CountingWaiter>();
    EXPECT_EQ(registry_.Park(registry_.BeginRead(user), waiter, std::move(rooms), watch_presence),
              Result::kParked);
    return waiter;
  }

  WaiterRegistry registry_;
};

TEST_F(WaiterRegistryTest, AChangeWakesTheUsersParkedWaitersOnce) {
  auto first = Park("alice");
  auto second = Park("alice");
  auto other = Park("bob");
  EXPECT_EQ(registry_.parked(), 3u);
  registry_.UserChanged("alice", absl::Now());
  EXPECT_EQ(first->wakes, 1);
  EXPECT_EQ(second->wakes, 1);
  EXPECT_EQ(other->wakes, 0);
  registry_.UserChanged("alice", absl::Now());
  EXPECT_EQ(first->wakes, 1);  // taken by the first wake
  EXPECT_EQ(registry_.parked(), 1u);
  EXPECT_FALSE(registry_.HasParked("alice"));
  EXPECT_EQ(registry_.ParkedUsers(), (std::vector<std::string>{"bob"}));
}

TEST_F(WaiterRegistryTest, UnparkTellsWhetherTheWaiterWasStillParked) {
  auto waiter = Park("alice");
  EXPECT_TRUE(registry_.Unpark("alice", waiter.get()));
  EXPECT_FALSE(registry_.Unpark("alice", waiter.get()));
  registry_.UserChanged("alice", absl::Now());
  EXPECT_EQ(waiter->wakes, 0);
  EXPECT_EQ(registry_.parked(), 0u);
}

TEST_F(WaiterRegistryTest, AUserChangeBetweenReadAndParkMeansReadAgain) {
  const WaiterRegistry::Ticket ticket = registry_.BeginRead("alice");
  registry_.UserChanged("alice", absl::Now());  // a message landed after the read, before the park
  auto waiter = std::make_shared<CountingWaiter>();
  EXPECT_EQ(registry_.Park(ticket, waiter, {"lobby"}, false), Result::kChanged);
  EXPECT_EQ(registry_.parked(), 0u);
  // Another user's change does not disturb the read.
  const WaiterRegistry::Ticket again = registry_.BeginRead("alice");
  registry_.UserChanged("bob", absl::Now());
  EXPECT_EQ(registry_.Park(again, waiter, {"lobby"}, false), Result::kParked);
}

TEST_F(WaiterRegistryTest, ARoomChangeWakesThoseParkedInItAndStalesReadsOfIt) {
  auto in_room = Park("alice", {"lobby", "tea"});
  auto elsewhere = Park("bob", {"lobby"});
  registry_.RoomChanged("tea", absl::Now());
  EXPECT_EQ(in_room->wakes, 1);
  EXPECT_EQ(elsewhere->wakes, 0);

  const WaiterRegistry::Ticket reading_tea = registry_.BeginRead("carol");
  const WaiterRegistry::Ticket reading_lobby = registry_.BeginRead("dave");
  registry_.RoomChanged("tea", absl::Now());
  auto carol = std::make_shared<CountingWaiter>();
  auto dave = std::make_shared<CountingWaiter>();
  EXPECT_EQ(registry_.Park(reading_tea, carol, {"lobby", "tea"}, false), Result::kChanged);
  EXPECT_EQ(registry_.Park(reading_lobby, dave, {"lobby"}, false), Result::kParked);
}

TEST_F(WaiterRegistryTest, AReadOlderThanTheRoomRingReadsAgain) {
  const WaiterRegistry::Ticket ticket = registry_.BeginRead("alice");
  for (int i = 0; i < 1000; ++i) registry_.RoomChanged(absl::StrCat("room", i), absl::Now());
  auto waiter = std::make_shared<CountingWaiter>();
  // None of the changes was to the lobby, but the ring no longer reaches back to the read.
  EXPECT_EQ(registry_.Park(ticket, waiter, {"lobby"}, false), Result::kChanged);
}

TEST_F(WaiterRegistryTest, ARejoinedUserIsIndexedUnderItsNewRooms) {
  auto before = Park("alice", {"lobby"});
  auto after = Park("alice", {"lobby", "tea"});  // joined tea in between
  registry_.RoomChanged("tea", absl::Now());
  EXPECT_EQ(before->wakes, 1);
  EXPECT_EQ(after->wakes, 1);
}

TEST_F(WaiterRegistryTest, AUserWhoLeftARoomIsNoLongerWokenByIt) {
  Park("alice", {"lobby", "tea"});
  registry_.RoomChanged("tea", absl::Now());
  auto after = Park("alice", {"lobby"});  // left tea, then parked again
  registry_.RoomChanged("tea", absl::Now());
  EXPECT_EQ(after->wakes, 0);
  registry_.RoomChanged("lobby", absl::Now());
  EXPECT_EQ(after->wakes, 1);
}

TEST_F(WaiterRegistryTest, UsersGoneQuietAreForgottenAtTheSecondSweepThatFindsThem) {
  auto parked = Park("alice");
  auto gone = Park("bob");
  ASSERT_TRUE(registry_.Unpark("bob", gone.get()));
  const WaiterRegistry::Ticket reading = registry_.BeginRead("carol");
  EXPECT_EQ(registry_.tracked_users(), 3u);
  registry_.ParkedUsers();
  EXPECT_EQ(registry_.tracked_users(), 3u);  // bob may poll again at once
  registry_.ParkedUsers();
  EXPECT_EQ(registry_.tracked_users(), 2u);  // alice is parked, carol is reading
  // Bob is out of the room index too: a change reaches alice alone.
  registry_.RoomChanged("lobby", absl::Now());
  EXPECT_EQ(parked->wakes, 1);
  EXPECT_EQ(gone->wakes, 0);
  auto carol = std::make_shared<CountingWaiter>();
  EXPECT_EQ(registry_.Park(reading, carol, {"lobby"}, false), Result::kChanged);
}

TEST_F(WaiterRegistryTest, PresenceWakesOnlyThoseWatchingIt) {
  auto watching = Park("alice", {"lobby"}, /*watch_presence=*/true);
  auto not_watching = Park("bob", {"lobby"});
  registry_.PresencePublished("lobby");
  EXPECT_EQ(watching->wakes, 1);
  EXPECT_EQ(not_watching->wakes, 0);
  EXPECT_EQ(registry_.presence_wakes(), 1u);
  registry_.RoomChanged("lobby", absl::Now());  // bob stays indexed under the lobby
  EXPECT_EQ(not_watching->wakes, 1);
}

TEST_F(WaiterRegistryTest, ResyncWakesEverythingAndStalesReadsInFlight) {
  auto alice = Park("alice");
  auto bob = Park("bob", {"tea"});
  const WaiterRegistry::Ticket ticket = registry_.BeginRead("carol");
  registry_.Resync();
  EXPECT_EQ(alice->wakes, 1);
  EXPECT_EQ(bob->wakes, 1);
  EXPECT_EQ(registry_.Park(ticket, std::make_shared<CountingWaiter>(), {"lobby"}, false),
            Result::kChanged);
}

TEST_F(WaiterRegistryTest, DrainWakesEverythingAndNothingParksAfter) {
  auto alice = Park("alice");
  registry_.BeginDrain();
  EXPECT_EQ(alice->wakes, 1);
  EXPECT_EQ(registry_.Park(registry_.BeginRead("alice"), std::make_shared<CountingWaiter>(),
                           {"lobby"}, false),
            Result::kDraining);
  EXPECT_EQ(registry_.parked(), 0u);
}

}  // namespace
}  // namespace parley::broker
