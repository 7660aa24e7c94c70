// parley-fanout-bench: what one Publish to a room of N users costs the broker's chat core
// (ChatState: append to N queues, take N parked waiters, wake them), and what a join (a
// login into the lobby) and a leave cost there, without gRPC. Prints CPU µs for each. The gRPC
// answer to each woken poll comes on top and is in bench/run.sh's hold10k figures.
//
// With --redis=HOST:PORT (a redis-server of your own, emptied first: FLUSHALL) the state is a
// RedisChatStore over it instead, and each publish to the room is reported as Redis sees it:
// script calls, redis-server CPU (INFO cpu), and the wall time until the publish is answered
// and until every parked poll is woken.
#include <time.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "broker/core/chat_state.h"
#include "broker/core/clock.h"
#include "broker/store/memory/memory_chat_store.h"
#include "broker/store/redis/redis_address.h"
#include "broker/store/redis/redis_chat_store.h"
#include "broker/store/redis/redis_connection.h"
#include "tests/testing/sync_chat_state.h"

ABSL_FLAG(int, users, 10000, "Members of the room.");
ABSL_FLAG(int, messages, 200, "Messages published.");
ABSL_FLAG(bool, parked, true, "Every member has a parked poll, woken by each message.");
ABSL_FLAG(int, joins, 1000, "Logins (Connect: a queue and a lobby join) measured, then logouts.");
ABSL_FLAG(std::string, redis, "",
          "HOST:PORT of an empty redis-server: measure a publish over the Redis store instead.");

namespace {

using parley::broker::ChatState;

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// A parked poll that counts its wakes and parks again, as a woken PollCall would read and
// answer (here: park for the next message). In memory the wake reads at once, on the
// publisher's thread, as the broker's answer would; over Redis it is woken on the store's
// thread, which must not wait, so the main thread parks it again.
class Waiter : public parley::broker::PollWaiter, public std::enable_shared_from_this<Waiter> {
 public:
  Waiter(parley::testing::SyncChatState* state, std::string user, bool read_on_wake)
      : state_(state), user_(std::move(user)), read_on_wake_(read_on_wake) {}
  void Wake(absl::Time) override {
    wakes.fetch_add(1);
    all_wakes.fetch_add(1);
    if (!read_on_wake_) return;
    auto outcome = state_->ReadOrPark(Input(), nullptr);  // read what woke it
    if (outcome.ok()) cursor_ = outcome->read.cursor;
  }
  // Reads until it parks.
  bool Park() {
    for (int attempt = 0; attempt < 10; ++attempt) {
      auto outcome = state_->ReadOrPark(Input(), shared_from_this());
      if (!outcome.ok()) return false;
      if (outcome->parked) return true;
      cursor_ = outcome->read.cursor;
    }
    return false;
  }
  std::atomic<int> wakes{0};
  static inline std::atomic<int64_t> all_wakes{0};  // of every waiter

 private:
  parley::broker::ReadInput Input() const {
    parley::broker::ReadInput input;
    input.user = user_;
    input.cursor = cursor_;
    input.max_messages = 100;
    return input;
  }

  parley::testing::SyncChatState* const state_;
  const std::string user_;
  const bool read_on_wake_;
  uint64_t cursor_ = 0;
};

// Connects users u0..u<n-1> (each joins the lobby), a waiter each; none if one fails.
std::vector<std::shared_ptr<Waiter>> ConnectMembers(parley::testing::SyncChatState& state,
                                                    int users, bool read_on_wake) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  for (int i = 0; i < users; ++i) {
    const std::string user = absl::StrCat("u", i);
    if (!state.Connect(user, "s").ok()) return {};
    waiters.push_back(std::make_shared<Waiter>(&state, user, read_on_wake));
  }
  return waiters;
}

// redis-server's own CPU seconds so far (INFO cpu), or -1.
double RedisCpuSeconds(parley::broker::redis::RedisConnection& connection) {
  absl::Notification done;
  double seconds = -1;
  connection.Command({"INFO", "cpu"}, absl::Now() + absl::Seconds(5),
                     [&](absl::StatusOr<parley::broker::redis::RedisReply> reply) {
                       if (reply.ok()) {
                         double total = 0;
                         for (absl::string_view line : absl::StrSplit(reply->str, "\r\n")) {
                           double value = 0;
                           if ((absl::ConsumePrefix(&line, "used_cpu_user:") ||
                                absl::ConsumePrefix(&line, "used_cpu_sys:")) &&
                               absl::SimpleAtod(line, &value)) {
                             total += value;
                           }
                         }
                         seconds = total;
                       }
                       done.Notify();
                     });
  done.WaitForNotification();
  return seconds;
}

// The Redis mode: N members each with a parked poll, `messages` publishes to the lobby.
int RunRedis(const std::string& address, int users, int messages) {
  using namespace parley::broker;
  absl::StatusOr<std::vector<redis::RedisAddress>> shards = redis::ParseRedisAddresses(address);
  if (!shards.ok()) {
    std::fprintf(stderr, "--redis: %s\n", std::string(shards.status().message()).c_str());
    return 2;
  }
  SystemClock clock;
  ChatOptions options;
  options.publish_rate = options.publish_burst = 1e9;
  redis::RedisChatStoreOptions store_options;
  store_options.shards = *shards;
  store_options.timeout = absl::Seconds(30);
  redis::RedisChatStore store(options, store_options);
  redis::RedisLoop loop;
  redis::RedisConnectionCounters info_counters;
  redis::RedisConnectionOptions info_options;
  info_options.address = shards->front();
  redis::RedisConnection info(&loop, info_options, &info_counters);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!(store.healthy() && info.healthy()) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ChatState chat(options, &clock, &store);
  parley::testing::SyncChatState state(&chat);
  const std::vector<std::shared_ptr<Waiter>> waiters =
      ConnectMembers(state, users, /*read_on_wake=*/false);
  if (waiters.empty()) return 1;
  double publish_ms = 0, woken_ms = 0, redis_cpu_ms = 0, commands = 0;
  for (int m = 0; m < messages; ++m) {
    for (auto& waiter : waiters) {
      if (!waiter->Park()) return 1;
    }
    const int64_t wakes_before = Waiter::all_wakes.load();
    const double cpu_before = RedisCpuSeconds(info);
    const uint64_t commands_before = store.counters().commands.load();
    PublishInput input;
    input.sender = "u0";
    input.room = "lobby";
    input.text = absl::StrCat("message ", m);
    const absl::Time start = absl::Now();
    if (!state.Publish(input).ok()) return 1;
    publish_ms += absl::ToDoubleMilliseconds(absl::Now() - start);
    commands += static_cast<double>(store.counters().commands.load() - commands_before);
    while (Waiter::all_wakes.load() < wakes_before + users) absl::SleepFor(absl::Microseconds(50));
    woken_ms += absl::ToDoubleMilliseconds(absl::Now() - start);
    redis_cpu_ms += (RedisCpuSeconds(info) - cpu_before) * 1e3;
  }
  std::printf(
      "parley-fanout-bench: Redis store, %d members each with a parked poll, %d messages: per "
      "publish %.1f script calls (%zu shard(s)), %.2f ms redis-server CPU, answered in %.2f ms, "
      "every poll woken in %.2f ms\n",
      users, messages, commands / messages, shards->size(), redis_cpu_ms / messages,
      publish_ms / messages, woken_ms / messages);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int users = absl::GetFlag(FLAGS_users);
  const int messages = absl::GetFlag(FLAGS_messages);
  const bool parked = absl::GetFlag(FLAGS_parked);
  if (const std::string redis = absl::GetFlag(FLAGS_redis); !redis.empty()) {
    return RunRedis(redis, users, messages);
  }
  parley::broker::SystemClock clock;
  parley::broker::ChatOptions options;
  options.publish_rate = options.publish_burst = 1e9;  // one sender publishes everything
  parley::broker::MemoryChatStore store(options);
  ChatState chat(options, &clock, &store);
  parley::testing::SyncChatState state(&chat);
  const std::vector<std::shared_ptr<Waiter>> waiters =
      ConnectMembers(state, users, /*read_on_wake=*/true);
  if (waiters.empty()) return 1;
  for (auto& waiter : waiters) waiter->Park();  // catch up with the JOINs first
  double publish_cpu = 0;
  double repark_cpu = 0;
  for (int m = 0; m < messages; ++m) {
    if (parked) {
      const double start = ThreadCpuSeconds();
      for (auto& waiter : waiters) waiter->Park();
      repark_cpu += ThreadCpuSeconds() - start;
    }
    parley::broker::PublishInput input;
    input.sender = "u0";
    input.room = "lobby";
    input.text = absl::StrCat("message ", m);
    const double start = ThreadCpuSeconds();
    if (!state.Publish(input).ok()) return 1;
    publish_cpu += ThreadCpuSeconds() - start;
  }
  const int joins = absl::GetFlag(FLAGS_joins);
  double join_cpu = 0;
  double leave_cpu = 0;
  for (int j = 0; j < joins; ++j) {
    const std::string user = absl::StrCat("joiner", j);
    double start = ThreadCpuSeconds();
    if (!state.Connect(user, user).ok()) return 1;
    join_cpu += ThreadCpuSeconds() - start;
    start = ThreadCpuSeconds();
    if (!state.Disconnect(user, user).ok()) return 1;
    leave_cpu += ThreadCpuSeconds() - start;
  }
  std::printf(
      "parley-fanout-bench: into a room of %d members: %.2f us CPU per login (join), "
      "%.2f us per logout (leave)\n",
      users, join_cpu / joins * 1e6, leave_cpu / joins * 1e6);
  const double per_publish_us = publish_cpu / messages * 1e6;
  std::printf(
      "parley-fanout-bench: %d members%s, %d messages: %.0f us CPU per publish (%.3f us per "
      "recipient); parking a poll again: %.3f us\n",
      users, parked ? " each with a parked poll" : "", messages, per_publish_us,
      per_publish_us / users, parked ? repark_cpu / messages / users * 1e6 : 0.0);
  return waiters.front()->wakes.load() >= (parked ? messages : 0) ? 0 : 1;
}
