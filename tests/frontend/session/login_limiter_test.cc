#include "frontend/session/login_limiter.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley::frontend {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

TEST(LoginLimiterTest, BurstThenRatePerAddress) {
  LoginLimiter limiter(/*per_minute=*/6, /*burst=*/2);
  EXPECT_TRUE(limiter.Admit("10.0.0.1", kStart).ok());
  EXPECT_TRUE(limiter.Admit("10.0.0.1", kStart).ok());
  const absl::Status refused = limiter.Admit("10.0.0.1", kStart);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(refused.message(), "try again in 10 s")) << refused;
  EXPECT_TRUE(limiter.Admit("10.0.0.2", kStart).ok());                      // another address
  EXPECT_TRUE(limiter.Admit("10.0.0.1", kStart + absl::Seconds(10)).ok());  // refilled one
  EXPECT_FALSE(limiter.Admit("10.0.0.1", kStart + absl::Seconds(10)).ok());
}

TEST(LoginLimiterTest, MemoryStaysBoundedUnderManyAddresses) {
  LoginLimiter limiter(/*per_minute=*/60, /*burst=*/1, /*max_addresses=*/100);
  // 100 busy addresses fill the table; a new one is refused rather than growing it ...
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.Admit(absl::StrCat("a", i), kStart).ok());
  EXPECT_FALSE(limiter.Admit("newcomer", kStart).ok());
  // ... until their buckets are full again and they are forgotten.
  EXPECT_TRUE(limiter.Admit("newcomer", kStart + absl::Seconds(2)).ok());
}

TEST(LoginLimiterTest, ClientAddressTrustsForwardedForOnlyWhenTold) {
  httplib::Request request;
  request.remote_addr = "10.1.1.1";
  request.set_header("X-Forwarded-For", "6.6.6.6, 203.0.113.7 ");
  EXPECT_EQ(ClientAddress(request, false), "10.1.1.1");
  EXPECT_EQ(ClientAddress(request, true), "203.0.113.7");  // the hop our proxy added
  httplib::Request direct;
  direct.remote_addr = "10.1.1.2";
  EXPECT_EQ(ClientAddress(direct, true), "10.1.1.2");
}

}  // namespace
}  // namespace parley::frontend
