#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_CONNECTION_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_CONNECTION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/store/redis/redis_address.h"
#include "broker/store/redis/redis_loop.h"
#include "broker/store/redis/redis_reply.h"
#include "broker/store/redis/redis_script.h"

struct redisAsyncContext;
struct event;

namespace parley::broker::redis {

struct RedisConnectionOptions {
  RedisAddress address;
  std::string password;  // sent with AUTH on every connect when not empty; never logged
  // The oldest command unanswered this long means Redis is gone (stopped, partitioned) even
  // if the TCP connection looks open: the connection is dropped and made again.
  absl::Duration stall_timeout = absl::Seconds(2);
  // With nothing in flight for this long a PING goes out, so a dead Redis is noticed while
  // idle too.
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
  std::atomic<uint64_t> reply_micros{0};  // summed round trips of the replies
};

// One pipelined connection to one Redis, made again by itself when lost (backoff from
// min_backoff doubling to max_backoff). Commands from any thread are handed to the loop
// and written back to back; replies come in order. Every command has a deadline and its
// `done` runs exactly once, on the loop thread (it must not block there): with the reply, an
// error reply as a status (RedisErrorStatus), UNAVAILABLE when there is no connection or it
// was lost with the command in flight (the command may or may not have run), or
// DEADLINE_EXCEEDED (it may still run).
//
// Owned by the store; destroyed (or Stop()ped) before its RedisLoop.
class RedisConnection {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<RedisReply>)>;

  RedisConnection(RedisLoop* loop, RedisConnectionOptions options,
                  RedisConnectionCounters* counters);
  ~RedisConnection();  // Stop()
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  void Command(std::vector<std::string> args, absl::Time deadline, Done done);
  // EVALSHA, falling back to EVAL when this Redis has not seen the script yet.
  void Eval(const RedisScript& script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args, absl::Time deadline, Done done);
  // Connected, and Redis answered within stall_timeout. Any thread.
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  // Drops the connection, answers what is in flight UNAVAILABLE and makes no new one; later
  // commands are answered UNAVAILABLE. Not from the loop thread. Idempotent.
  void Stop();

  const RedisAddress& address() const { return options_.address; }

 private:
  // One command in flight; owned by pending_ until hiredis hands its reply back.
  struct Pending {
    RedisConnection* connection;
    Done done;  // empty once answered (by the deadline)
    absl::Time deadline;
    absl::Time sent;
    bool internal = false;  // our own AUTH/PING: no counters, no `done`
  };

  // Loop thread only, from here on. Send's `done` sees error replies as replies.
  void Send(std::vector<std::string> args, absl::Time deadline, Done done, bool internal = false);
  void Connect();
  void ScheduleReconnect();
  void Drop(const char* why);
  void Tick();
  void Fail(Pending& pending, absl::Status status);
  static void OnConnect(const redisAsyncContext* context, int status);
  static void OnDisconnect(const redisAsyncContext* context, int status);
  static void OnReply(redisAsyncContext* context, void* reply, void* privdata);
  static void OnTimer(int fd, short events, void* self);

  RedisLoop* const loop_;
  const RedisConnectionOptions options_;
  RedisConnectionCounters* const counters_;
  std::atomic<bool> healthy_{false};
  std::atomic<bool> stopped_{false};

  // Loop thread only:
  redisAsyncContext* context_ = nullptr;  // connecting or connected; null while backing off
  std::deque<Pending*> pending_;          // in the order sent, so the order replies come
  absl::Duration backoff_;
  absl::Time reconnect_at_ = absl::InfinitePast();
  absl::Time last_reply_ = absl::InfinitePast();
  event* timer_ = nullptr;
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_CONNECTION_H_
