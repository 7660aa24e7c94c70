#include "broker/store/redis/redis_subscriber.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace parley::broker::redis {
namespace {

std::string HeartbeatChannel() {
  absl::BitGen random;
  return absl::StrCat("parley:heartbeat:", absl::Hex(absl::Uniform<uint64_t>(random)));
}

absl::string_view Text(const redisReply& reply) { return {reply.str, reply.len}; }

}  // namespace

RedisSubscriber::RedisSubscriber(RedisLoop* loop, RedisConnectionOptions options,
                                 RedisConnectionCounters* counters, RedisConnection* publisher,
                                 std::vector<std::string> channels, OnMessage on_message,
                                 OnSubscribed on_subscribed)
    : RedisLink(loop, std::move(options), counters),
      publisher_(publisher),
      channels_(std::move(channels)),
      heartbeat_channel_(HeartbeatChannel()),
      on_message_(std::move(on_message)),
      on_subscribed_(std::move(on_subscribed)) {
  StartLink();
}

RedisSubscriber::~RedisSubscriber() { StopLink(); }

void RedisSubscriber::OnStopped() { alive_.reset(); }

void RedisSubscriber::OnContextCreated(redisAsyncContext* context) {
  created_at_ = absl::Now();
  confirmed_ = 0;
  unheard_since_ = absl::InfiniteFuture();
  if (!options_.password.empty()) {
    const char* argv[] = {"AUTH", options_.password.c_str()};
    const size_t lengths[] = {4, options_.password.size()};
    redisAsyncCommandArgv(context, &RedisSubscriber::OnAuth, this, 2, argv, lengths);
  }
  std::vector<const char*> argv = {"SUBSCRIBE", heartbeat_channel_.c_str()};
  std::vector<size_t> lengths = {9, heartbeat_channel_.size()};
  for (const std::string& channel : channels_) {
    argv.push_back(channel.c_str());
    lengths.push_back(channel.size());
  }
  redisAsyncCommandArgv(context, &RedisSubscriber::OnReply, this, static_cast<int>(argv.size()),
                        argv.data(), lengths.data());
}

void RedisSubscriber::OnAuth(redisAsyncContext*, void* reply, void* privdata) {
  auto* self = static_cast<RedisSubscriber*>(privdata);
  const auto* raw = static_cast<redisReply*>(reply);
  if (raw != nullptr && raw->type == REDIS_REPLY_ERROR) {
    Log(LogLevel::kError, "redis_refused",
        {{"redis", self->options_.address.ToString()}, {"error", std::string(Text(*raw))}});
    // Asked again on a new connection after the backoff (AUTH goes only on connect).
    if (self->context_ != nullptr) self->Drop("Redis refused the connection");
  }
}

void RedisSubscriber::OnReply(redisAsyncContext*, void* reply, void* privdata) {
  // No reply: the connection is going (RedisLink reconnects).
  if (reply != nullptr)
    static_cast<RedisSubscriber*>(privdata)->Handle(*static_cast<redisReply*>(reply));
}

void RedisSubscriber::Handle(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) return;
  const absl::string_view kind = Text(*reply.element[0]);
  const absl::string_view channel = Text(*reply.element[1]);
  if (kind == "subscribe") {
    if (++confirmed_ == channels_.size() + 1) {
      subscribed_at_ = absl::Now();
      SetHealthy(true);
      on_subscribed_();
    }
    return;
  }
  if (kind != "message") return;
  if (channel == heartbeat_channel_) {
    uint64_t seq = 0;
    if (absl::SimpleAtoi(Text(*reply.element[2]), &seq)) heard_seq_ = std::max(heard_seq_, seq);
    if (heard_seq_ >= unheard_seq_) unheard_since_ = absl::InfiniteFuture();
    return;
  }
  counters_->notifications.fetch_add(1, std::memory_order_relaxed);
  on_message_(channel, Text(*reply.element[2]));
}

void RedisSubscriber::OnTick(absl::Time now) {
  if (confirmed_ <= channels_.size()) {
    if (now - created_at_ > options_.stall_timeout) Drop("not subscribed within the stall timeout");
    return;
  }
  if (now - unheard_since_ > options_.stall_timeout && publisher_->healthy()) {
    Drop("no heartbeat came back within the stall timeout");
    return;
  }
  if (now - last_heartbeat_sent_ < options_.ping_interval) return;
  last_heartbeat_sent_ = now;
  const uint64_t seq = ++sent_seq_;
  publisher_->Command(
      {"PUBLISH", heartbeat_channel_, absl::StrCat(seq)}, now + options_.stall_timeout,
      [this, alive = std::weak_ptr<bool>(alive_), sent = now,
       seq](absl::StatusOr<RedisReply> reply) {
        // Runs on the loop thread, like everything of ours.
        if (alive.expired() || !reply.ok() || context_ == nullptr || sent < subscribed_at_) {
          return;
        }
        if (reply->integer == 0) {
          // Redis delivered it to nobody: it no longer has our subscription.
          Drop("Redis no longer has this subscription");
          return;
        }
        // Published; it may have come back already (the two connections race).
        if (heard_seq_ < seq && unheard_since_ == absl::InfiniteFuture()) {
          unheard_since_ = sent;
          unheard_seq_ = seq;
        }
      });
}

}  // namespace parley::broker::redis
