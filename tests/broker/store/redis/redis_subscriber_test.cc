#include "broker/store/redis/redis_subscriber.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/store/redis/redis_connection.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/silent_proxy.h"
#include "tests/testing/wait_for.h"

namespace parley::broker::redis {
namespace {

using ::parley::testing::RedisServer;
using ::parley::testing::SilentProxy;
using ::parley::testing::WaitFor;

// A subscriber to two channels whose callbacks record what they saw.
class RedisSubscriberTest : public ::testing::Test {
 protected:
  RedisConnectionOptions Options(int port) {
    RedisConnectionOptions options;
    options.address = {"127.0.0.1", port};
    options.stall_timeout = absl::Milliseconds(500);
    options.ping_interval = absl::Milliseconds(100);
    return options;
  }

  void Subscribe(int port) {
    subscriber_ = std::make_unique<RedisSubscriber>(
        &loop_, Options(port), &counters_, &publisher_,
        std::vector<std::string>{"parley:notify:a", "parley:notify:b"},
        [this](absl::string_view channel, absl::string_view payload) {
          absl::MutexLock lock(&mu_);
          seen_.push_back(absl::StrCat(channel, "=", payload));
        },
        [this] {
          absl::MutexLock lock(&mu_);
          ++subscribed_;
        });
  }

  int subscribed() {
    absl::MutexLock lock(&mu_);
    return subscribed_;
  }
  std::vector<std::string> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  bool Saw(const std::string& what) {
    return WaitFor([&] {
      for (const std::string& s : seen()) {
        if (s == what) return true;
      }
      return false;
    });
  }

  RedisServer server_;
  RedisLoop loop_;
  RedisConnectionCounters counters_;
  RedisConnection publisher_{&loop_, Options(server_.port()), &counters_};
  absl::Mutex mu_;
  int subscribed_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> seen_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RedisSubscriber> subscriber_;  // destroyed first
};

TEST_F(RedisSubscriberTest, PublishedMessagesArriveOnceSubscribed) {
  Subscribe(server_.port());
  ASSERT_TRUE(WaitFor([&] { return subscribed() == 1 && subscriber_->healthy(); }));
  ASSERT_TRUE(server_.Run({"PUBLISH", "parley:notify:b", "room:lobby"}).ok());
  ASSERT_TRUE(Saw("parley:notify:b=room:lobby"));
  ASSERT_TRUE(server_.Run({"PUBLISH", "parley:notify:other", "x"}).ok());
  ASSERT_TRUE(server_.Run({"PUBLISH", "parley:notify:a", "user:bob"}).ok());
  ASSERT_TRUE(Saw("parley:notify:a=user:bob"));
  EXPECT_EQ(seen().size(), 2u);  // heartbeats and other channels are not handed on
  EXPECT_EQ(counters_.notifications.load(), 2u);
}

TEST_F(RedisSubscriberTest, ARestartedRedisIsSubscribedAgainAndTheOwnerIsToldToReRead) {
  Subscribe(server_.port());
  ASSERT_TRUE(WaitFor([&] { return subscribed() == 1; }));
  server_.Kill();
  ASSERT_TRUE(WaitFor([&] { return !subscriber_->healthy(); }));
  server_.Start();
  ASSERT_TRUE(WaitFor([&] { return subscribed() == 2 && subscriber_->healthy(); }));
  ASSERT_TRUE(server_.Run({"PUBLISH", "parley:notify:a", "after"}).ok());
  EXPECT_TRUE(Saw("parley:notify:a=after"));
}

TEST_F(RedisSubscriberTest, ASubscriptionGoneSilentIsNoticedByItsHeartbeatAndMadeAgain) {
  // The subscriber reaches Redis through a proxy that goes silent (no FIN, no reset): only
  // the heartbeat, published on the direct connection, can tell.
  SilentProxy proxy(server_.port());
  Subscribe(proxy.port());
  ASSERT_TRUE(WaitFor([&] { return subscribed() == 1; }));
  proxy.Silence();
  ASSERT_TRUE(WaitFor([&] { return subscribed() == 2; }));
  ASSERT_TRUE(server_.Run({"PUBLISH", "parley:notify:a", "heard"}).ok());
  EXPECT_TRUE(Saw("parley:notify:a=heard"));
}

}  // namespace
}  // namespace parley::broker::redis
