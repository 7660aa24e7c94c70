// The rules both stores take from broker/core/chat_rules.h (each store's own tests show it
// applies them: ChatStateTest over both stores).

#include "broker/core/chat_rules.h"

#include <gtest/gtest.h>

namespace parley::broker {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'000'000);

TEST(ChatRulesTest, AHolderKeepsItsNameUntilIdlePastExpiryUnlessItHasAPollParked) {
  ChatOptions options;
  options.user_idle_expiry = absl::Minutes(10);
  EXPECT_TRUE(HolderKeepsName(false, kNow - absl::Minutes(10), kNow, options));
  EXPECT_FALSE(
      HolderKeepsName(false, kNow - absl::Minutes(10) - absl::Milliseconds(1), kNow, options));
  EXPECT_TRUE(HolderKeepsName(true, kNow - absl::Hours(5), kNow, options));
  EXPECT_TRUE(IdlePastExpiry(kNow - absl::Hours(5), kNow, options));
  EXPECT_FALSE(IdlePastExpiry(kNow, kNow, options));
}

TEST(ChatRulesTest, LargeRoomsPublishPresenceLessOftenInProportion) {
  ChatOptions options;
  options.presence_notify_interval = absl::Seconds(5);
  EXPECT_EQ(PresenceNotifyInterval(1, options), absl::Seconds(5));
  EXPECT_EQ(PresenceNotifyInterval(kPresenceWakeMembers, options), absl::Seconds(5));
  EXPECT_EQ(PresenceNotifyInterval(10 * kPresenceWakeMembers, options), absl::Seconds(50));
  // Never published: due at once; else once the room's interval has passed.
  EXPECT_TRUE(PresenceDue(std::nullopt, 10 * kPresenceWakeMembers, kNow, options));
  EXPECT_TRUE(PresenceDue(kNow - absl::Seconds(5), 10, kNow, options));
  EXPECT_FALSE(PresenceDue(kNow - absl::Seconds(5), 10 * kPresenceWakeMembers, kNow, options));
  EXPECT_TRUE(PresenceDue(kNow - absl::Seconds(50), 10 * kPresenceWakeMembers, kNow, options));
}

}  // namespace
}  // namespace parley::broker
