#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_CONNECTION_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_CONNECTION_H_

#include <deque>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/store/redis/redis_link.h"
#include "broker/store/redis/redis_loop.h"
#include "broker/store/redis/redis_reply.h"
#include "broker/store/redis/redis_script.h"

struct redisAsyncContext;

namespace parley::broker::redis {

// One pipelined command connection to one Redis, made again by itself when lost (RedisLink).
// Commands from any thread are handed to the loop
// and written back to back; replies come in order. Every command has a deadline and its
// `done` runs exactly once, on the loop thread (it must not block there): with the reply, an
// error reply as a status (RedisErrorStatus), UNAVAILABLE when there is no connection or it
// was lost with the command in flight (the command may or may not have run), or
// DEADLINE_EXCEEDED (it may still run).
//
// Owned by the store; destroyed (or Stop()ped) before its RedisLoop.
class RedisConnection final : public RedisLink {
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
  // Drops the connection, answers what is in flight UNAVAILABLE and makes no new one; later
  // commands are answered UNAVAILABLE. Not from the loop thread. Idempotent.
  void Stop() { StopLink(); }

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
  void OnContextCreated(redisAsyncContext* context) override;
  void OnTick(absl::Time now) override;
  void OnStopped() override;
  void Fail(Pending& pending, absl::Status status);
  static void OnReply(redisAsyncContext* context, void* reply, void* privdata);

  // Loop thread only:
  std::deque<Pending*> pending_;  // in the order sent, so the order replies come
  absl::Time last_reply_ = absl::InfinitePast();
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_CONNECTION_H_
