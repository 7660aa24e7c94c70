#include "broker/store/redis/redis_connection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/store/redis/redis_address.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/wait_for.h"

namespace parley::broker::redis {
namespace {

using ::parley::testing::RedisServer;
using ::parley::testing::WaitFor;
using ::testing::HasSubstr;

// A command's answer, waited for by the test thread.
struct Answer {
  absl::Notification done;
  absl::StatusOr<RedisReply> reply = absl::UnknownError("not answered");
  bool Wait() { return done.WaitForNotificationWithTimeout(absl::Seconds(10)); }
  RedisConnection::Done Callback() {
    return [this](absl::StatusOr<RedisReply> r) {
      reply = std::move(r);
      done.Notify();
    };
  }
};

class RedisConnectionTest : public ::testing::Test {
 protected:
  explicit RedisConnectionTest(RedisServer::Options server_options = {})
      : server_(server_options) {}

  std::unique_ptr<RedisConnection> Connect(std::string password = "") {
    RedisConnectionOptions options;
    options.address = {"127.0.0.1", server_.port()};
    options.password = std::move(password);
    options.stall_timeout = absl::Milliseconds(500);
    options.ping_interval = absl::Milliseconds(100);
    return std::make_unique<RedisConnection>(&loop_, options, &counters_);
  }

  absl::StatusOr<RedisReply> Run(RedisConnection& connection, std::vector<std::string> command,
                                 absl::Duration timeout = absl::Seconds(5)) {
    Answer answer;
    connection.Command(std::move(command), absl::Now() + timeout, answer.Callback());
    EXPECT_TRUE(answer.Wait());
    return answer.reply;
  }

  RedisServer server_;
  RedisLoop loop_;
  RedisConnectionCounters counters_;
};

TEST_F(RedisConnectionTest, CommandsSentBackToBackAreAnsweredInOrder) {
  auto connection = Connect();
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  constexpr int kCommands = 2000;
  absl::Mutex mu;
  std::vector<int64_t> seen;
  absl::Notification all;
  for (int i = 0; i < kCommands; ++i) {
    connection->Command({"INCR", "counter"}, absl::Now() + absl::Seconds(10),
                        [&](absl::StatusOr<RedisReply> reply) {
                          absl::MutexLock lock(&mu);
                          seen.push_back(reply.ok() ? reply->integer : -1);
                          if (seen.size() == kCommands) all.Notify();
                        });
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(20)));
  absl::MutexLock lock(&mu);
  for (int i = 0; i < kCommands; ++i) ASSERT_EQ(seen[i], i + 1) << "at " << i;
  EXPECT_EQ(counters_.replies.load(), kCommands);
}

TEST_F(RedisConnectionTest, RepliesOfEveryTypeBecomeValues) {
  auto connection = Connect();
  ASSERT_TRUE(Run(*connection, {"RPUSH", "list", "a", std::string("b\0c", 3)}).ok());
  absl::StatusOr<RedisReply> list = Run(*connection, {"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->type, RedisReply::Type::kArray);
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[1].str, std::string("b\0c", 3));
  absl::StatusOr<RedisReply> missing = Run(*connection, {"GET", "nothing"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());
  absl::StatusOr<RedisReply> status = Run(*connection, {"SET", "k", "v"});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->type, RedisReply::Type::kStatus);
  EXPECT_EQ(status->str, "OK");
}

TEST_F(RedisConnectionTest, AnErrorReplyIsAStatusWithRedisWords) {
  auto connection = Connect();
  ASSERT_TRUE(Run(*connection, {"SET", "k", "text"}).ok());
  absl::StatusOr<RedisReply> reply = Run(*connection, {"INCR", "k"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(reply.status().message(), HasSubstr("not an integer"));
  EXPECT_EQ(counters_.error_replies.load(), 1u);
}

TEST_F(RedisConnectionTest, AFullRedisRefusesWritesAsResourceExhausted) {
  auto connection = Connect();
  ASSERT_TRUE(Run(*connection, {"CONFIG", "SET", "maxmemory", "1"}).ok());
  absl::StatusOr<RedisReply> reply = Run(*connection, {"SET", "k", "v"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kResourceExhausted) << reply.status();
  EXPECT_THAT(reply.status().message(), HasSubstr("noeviction"));
}

TEST_F(RedisConnectionTest, AScriptRedisHasNotSeenIsLoadedAndItsCodedErrorsAreStatuses) {
  auto connection = Connect();
  const RedisScript script(
      "if ARGV[1] == 'fail' then return redis.error_reply('NOT_FOUND no user ' .. KEYS[1]) end\n"
      "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  for (int round = 0; round < 2; ++round) {
    // Each round starts from a Redis without the script (as after a restart).
    ASSERT_TRUE(Run(*connection, {"SCRIPT", "FLUSH"}).ok());
    Answer answer;
    connection->Eval(script, {"n"}, {"5"}, absl::Now() + absl::Seconds(5), answer.Callback());
    ASSERT_TRUE(answer.Wait());
    ASSERT_TRUE(answer.reply.ok()) << answer.reply.status();
    EXPECT_EQ(answer.reply->integer, 5 * (round + 1));
  }
  Answer again;  // now by its SHA
  connection->Eval(script, {"n"}, {"1"}, absl::Now() + absl::Seconds(5), again.Callback());
  ASSERT_TRUE(again.Wait());
  EXPECT_EQ(again.reply->integer, 11);
  Answer failed;
  connection->Eval(script, {"bob"}, {"fail"}, absl::Now() + absl::Seconds(5), failed.Callback());
  ASSERT_TRUE(failed.Wait());
  EXPECT_EQ(failed.reply.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(failed.reply.status().message(), "no user bob");
}

TEST_F(RedisConnectionTest, ARestartedRedisIsReconnectedByItselfAndMeanwhileCommandsFailFast) {
  auto connection = Connect();
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  ASSERT_TRUE(Run(*connection, {"SET", "k", "kept"}).ok());
  server_.Kill();
  ASSERT_TRUE(WaitFor([&] { return !connection->healthy(); }));
  const absl::Time asked = absl::Now();
  absl::StatusOr<RedisReply> meanwhile = Run(*connection, {"GET", "k"}, absl::Seconds(30));
  EXPECT_EQ(meanwhile.status().code(), absl::StatusCode::kUnavailable) << meanwhile.status();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(10));  // not the command's 30 s
  server_.Start();
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  absl::StatusOr<RedisReply> after = Run(*connection, {"GET", "k"});
  ASSERT_TRUE(after.ok()) << after.status();
  // Redis writes the AOF before it replies; SIGKILL loses no written page (only a machine
  // crash loses the unsynced second of everysec).
  EXPECT_EQ(after->str, "kept");
  EXPECT_GE(counters_.connects.load(), 2u);
}

TEST_F(RedisConnectionTest, AFrozenRedisMeansDeadlineExceededThenANewConnection) {
  auto connection = Connect();
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  server_.Freeze();
  absl::StatusOr<RedisReply> reply = Run(*connection, {"PING"}, absl::Milliseconds(200));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded) << reply.status();
  // The stall timeout (500 ms here) drops the connection: the connection is not healthy.
  ASSERT_TRUE(WaitFor([&] { return !connection->healthy(); }));
  server_.Thaw();
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  EXPECT_TRUE(Run(*connection, {"PING"}).ok());
}

TEST_F(RedisConnectionTest, StopAnswersWhatIsInFlightAndEverythingAfter) {
  auto connection = Connect();
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  server_.Freeze();
  Answer in_flight;
  connection->Command({"PING"}, absl::Now() + absl::Seconds(30), in_flight.Callback());
  connection->Stop();
  ASSERT_TRUE(in_flight.Wait());
  EXPECT_EQ(in_flight.reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Run(*connection, {"PING"}).status().code(), absl::StatusCode::kUnavailable);
  server_.Thaw();
}

class PasswordRedisConnectionTest : public RedisConnectionTest {
 protected:
  PasswordRedisConnectionTest() : RedisConnectionTest({.password = "s3cret"}) {}
};

TEST_F(PasswordRedisConnectionTest, ThePasswordIsSentOnEveryConnect) {
  auto connection = Connect("s3cret");
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  EXPECT_TRUE(Run(*connection, {"SET", "k", "v"}).ok());
  server_.Kill();
  server_.Start();
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  EXPECT_TRUE(Run(*connection, {"GET", "k"}).ok());
}

TEST_F(PasswordRedisConnectionTest, AWrongPasswordIsUnavailableAndNeverHealthy) {
  auto connection = Connect("wrong");
  absl::StatusOr<RedisReply> reply = Run(*connection, {"GET", "k"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  EXPECT_FALSE(connection->healthy());
}

TEST_F(PasswordRedisConnectionTest, ARefusedConnectionIsTriedAgainUntilRedisAccepts) {
  // The operator rotates the password: the broker has the new one before Redis does.
  auto connection = Connect("n3w");
  ASSERT_TRUE(WaitFor([&] { return counters_.connects.load() >= 2; }));
  EXPECT_FALSE(connection->healthy());
  ASSERT_TRUE(server_.Run({"CONFIG", "SET", "requirepass", "n3w"}).ok());
  ASSERT_TRUE(WaitFor([&] { return connection->healthy(); }));
  EXPECT_TRUE(Run(*connection, {"SET", "k", "v"}).ok());
}

TEST(RedisAddressTest, ParsesAListAndRefusesWhatIsNotHostPort) {
  absl::StatusOr<std::vector<RedisAddress>> two =
      ParseRedisAddresses("127.0.0.1:6379,redis-1.redis:6380");
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].host, "redis-1.redis");
  EXPECT_EQ((*two)[1].port, 6380);
  for (const char* bad :
       {"", "127.0.0.1", ":6379", "host:0", "host:99999", "host:x", "a:1,a:1", "a:1,"}) {
    EXPECT_EQ(ParseRedisAddresses(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace parley::broker::redis
