#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_LINK_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_LINK_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "broker/store/redis/redis_address.h"
#include "broker/store/redis/redis_loop.h"
#include "common/metrics/metrics.h"

struct redisAsyncContext;
struct event;

namespace parley::broker::redis {

struct RedisConnectionOptions {
  RedisAddress address;
  std::string password;  // sent with AUTH on every connect when not empty; never logged
  // The oldest command unanswered this long (for a subscriber: no heartbeat back this long)
  // means Redis is gone (stopped, partitioned) even if the TCP connection looks open: the
  // connection is dropped and made again.
  absl::Duration stall_timeout = absl::Seconds(2);
  // With nothing in flight for this long a PING (a subscriber: a heartbeat) goes out, so a
  // dead Redis is noticed while idle too.
  absl::Duration ping_interval = absl::Milliseconds(500);
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(1);
};

// What a connection has done, for the broker's metrics. Any thread.
struct RedisConnectionCounters {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> replies{0};
  std::atomic<uint64_t> error_replies{0};      // Redis answered an error
  std::atomic<uint64_t> deadline_exceeded{0};  // answered DEADLINE_EXCEEDED before Redis did
  std::atomic<uint64_t> unavailable{0};        // refused or lost with the connection
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> disconnects{0};
  // Each reply's round trip, when the owner gives a histogram (not owned).
  metrics::Histogram* round_trip_seconds = nullptr;
  std::atomic<uint64_t> notifications{0};  // pub/sub messages received
};

// What every connection to one Redis shares: a hiredis async context bound to the loop by
// hiredis's libevent adapter, made again when lost (backoff from min_backoff doubling to
// max_backoff), dropped when the subclass finds it stalled, a tick every 25 ms, and a health
// flag. Subclasses say what goes on the connection.
//
// Threads: StartLink/StopLink from the owner's thread (not the loop's); everything else on
// the loop thread. The subclass's destructor calls StopLink(), before its own members go.
class RedisLink {
 public:
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Connected, and Redis answered within stall_timeout. Any thread.
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  const RedisAddress& address() const { return options_.address; }

 protected:
  RedisLink(RedisLoop* loop, RedisConnectionOptions options, RedisConnectionCounters* counters);
  virtual ~RedisLink();

  // Starts the timer and the first connect (posted).
  void StartLink();
  // Drops the connection and makes no new one (waits on the loop). Idempotent.
  void StopLink();
  bool stopped() const { return stopped_.load(); }

  // Loop thread. A new context exists (not yet connected): queue what must go first.
  virtual void OnContextCreated(redisAsyncContext* context) = 0;
  // Loop thread, every tick while a context exists.
  virtual void OnTick(absl::Time now) = 0;
  // Loop thread, inside StopLink after the context is gone.
  virtual void OnStopped() {}

  void Drop(const char* why);
  // Loop thread.
  void SetHealthy(bool healthy);

  RedisLoop* const loop_;
  const RedisConnectionOptions options_;
  RedisConnectionCounters* const counters_;
  redisAsyncContext* context_ = nullptr;  // loop thread; connecting or connected, or null

 private:
  void Connect();
  void ScheduleReconnect();
  void Tick();
  static void OnConnect(const redisAsyncContext* context, int status);
  static void OnDisconnect(const redisAsyncContext* context, int status);
  static void OnTimer(int fd, short events, void* self);

  std::atomic<bool> healthy_{false};
  std::atomic<bool> stopped_{false};
  // Loop thread only:
  absl::Duration backoff_;
  absl::Time reconnect_at_ = absl::InfinitePast();
  event* timer_ = nullptr;
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_LINK_H_
