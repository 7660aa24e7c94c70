#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_SUBSCRIBER_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_SUBSCRIBER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "broker/store/redis/redis_connection.h"
#include "broker/store/redis/redis_link.h"

namespace parley::broker::redis {

// One Redis pub/sub connection, subscribed to a fixed set of channels for its whole life
// (subscriptions never churn with what is asked of the store). Made again when lost;
// `on_subscribed` runs each time every channel is subscribed, the first time included: what
// was published while it was away is lost, so the owner re-reads what it waits for.
//
// A subscribed connection cannot PING with hiredis 0.14, so liveness is end to end: every
// ping_interval a heartbeat is published on a channel of this subscriber's own through
// `publisher` (a command connection to the same Redis), and no heartbeat back within
// stall_timeout while the publisher is healthy drops the connection (a partition, or a Redis
// that lost our subscription).
//
// Callbacks run on the loop thread and must not block. Owned by the store; destroyed before
// its RedisLoop and its publisher.
class RedisSubscriber final : public RedisLink {
 public:
  using OnMessage = absl::AnyInvocable<void(absl::string_view channel, absl::string_view payload)>;
  using OnSubscribed = absl::AnyInvocable<void()>;

  RedisSubscriber(RedisLoop* loop, RedisConnectionOptions options,
                  RedisConnectionCounters* counters, RedisConnection* publisher,
                  std::vector<std::string> channels, OnMessage on_message,
                  OnSubscribed on_subscribed);
  ~RedisSubscriber();

  void Stop() { StopLink(); }

 private:
  void OnContextCreated(redisAsyncContext* context) override;
  void OnTick(absl::Time now) override;
  void OnStopped() override;
  static void OnReply(redisAsyncContext* context, void* reply, void* privdata);
  static void OnAuth(redisAsyncContext* context, void* reply, void* privdata);
  void Handle(const struct redisReply& reply);

  RedisConnection* const publisher_;
  const std::vector<std::string> channels_;
  const std::string heartbeat_channel_;
  OnMessage on_message_;
  OnSubscribed on_subscribed_;
  // Loop thread only:
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for publisher callbacks
  absl::Time created_at_;                                       // of the current context
  size_t confirmed_ = 0;  // channels subscribed on this connection
  absl::Time subscribed_at_ = absl::InfiniteFuture();
  absl::Time last_heartbeat_sent_ = absl::InfinitePast();
  uint64_t sent_seq_ = 0;   // heartbeats are numbered
  uint64_t heard_seq_ = 0;  // the highest that came back
  // When heartbeat unheard_seq_, published, had not come back; InfiniteFuture: none missing.
  absl::Time unheard_since_ = absl::InfiniteFuture();
  uint64_t unheard_seq_ = 0;
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_SUBSCRIBER_H_
