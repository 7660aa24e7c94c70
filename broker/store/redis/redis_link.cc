#include "broker/store/redis/redis_link.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "common/log.h"

namespace parley::broker::redis {
namespace {

// How often deadlines, stalls, idle pings and reconnects are checked.
constexpr absl::Duration kTick = absl::Milliseconds(25);

}  // namespace

RedisLink::RedisLink(RedisLoop* loop, RedisConnectionOptions options,
                     RedisConnectionCounters* counters)
    : loop_(loop),
      options_(std::move(options)),
      counters_(counters),
      backoff_(options_.min_backoff) {}

RedisLink::~RedisLink() = default;

void RedisLink::StartLink() {
  loop_->Post([this] {
    timer_ = event_new(loop_->base(), -1, EV_PERSIST, &RedisLink::OnTimer, this);
    const timeval period = absl::ToTimeval(kTick);
    event_add(timer_, &period);
    Connect();
  });
}

void RedisLink::StopLink() {
  if (stopped_.exchange(true)) return;
  loop_->RunAndWait([this] {
    if (timer_ != nullptr) event_free(timer_);
    timer_ = nullptr;
    if (context_ != nullptr) {
      redisAsyncContext* context = context_;
      context_ = nullptr;
      redisAsyncFree(context);  // hiredis answers what is in flight with no reply
    }
    SetHealthy(false);
    OnStopped();
  });
}

void RedisLink::Connect() {
  if (stopped()) return;
  reconnect_at_ = absl::InfiniteFuture();  // until this attempt fails
  redisAsyncContext* context =
      redisAsyncConnect(options_.address.host.c_str(), options_.address.port);
  if (context == nullptr || context->err != 0) {
    Log(LogLevel::kWarning, "redis_connect_failed",
        {{"redis", options_.address.ToString()},
         {"error", context != nullptr ? context->errstr : "out of memory"}});
    if (context != nullptr) redisAsyncFree(context);
    ScheduleReconnect();
    return;
  }
  context->data = this;
  redisLibeventAttach(context, loop_->base());
  redisAsyncSetConnectCallback(context, &RedisLink::OnConnect);
  redisAsyncSetDisconnectCallback(context, &RedisLink::OnDisconnect);
  context_ = context;
  OnContextCreated(context);
}

void RedisLink::OnConnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisLink*>(context->data);
  if (status == REDIS_OK) {
    self->counters_->connects.fetch_add(1, std::memory_order_relaxed);
    Log(LogLevel::kInfo, "redis_connected", {{"redis", self->options_.address.ToString()}});
    return;
  }
  // hiredis frees the context after this returns, answering what was queued.
  Log(LogLevel::kWarning, "redis_connect_failed",
      {{"redis", self->options_.address.ToString()}, {"error", context->errstr}});
  self->context_ = nullptr;
  self->SetHealthy(false);
  self->ScheduleReconnect();
}

void RedisLink::OnDisconnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisLink*>(context->data);
  self->counters_->disconnects.fetch_add(1, std::memory_order_relaxed);
  if (status != REDIS_OK) {
    Log(LogLevel::kWarning, "redis_disconnected",
        {{"redis", self->options_.address.ToString()}, {"error", context->errstr}});
  }
  if (self->context_ != context) return;  // Drop let it go and scheduled the reconnect
  self->context_ = nullptr;
  self->SetHealthy(false);
  self->ScheduleReconnect();
}

void RedisLink::SetHealthy(bool healthy) {
  // The backoff starts again only once Redis answers, not when TCP connects: a Redis that
  // accepts and then refuses (loading, a wrong password) is retried ever less often.
  if (healthy) backoff_ = options_.min_backoff;
  healthy_.store(healthy, std::memory_order_release);
}

void RedisLink::ScheduleReconnect() {
  if (stopped()) return;
  reconnect_at_ = absl::Now() + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void RedisLink::Drop(const char* why) {
  Log(LogLevel::kWarning, "redis_dropped",
      {{"redis", options_.address.ToString()}, {"reason", why}});
  SetHealthy(false);
  redisAsyncContext* context = context_;
  context_ = nullptr;
  // hiredis answers what is in flight with no reply; OnDisconnect schedules the reconnect if
  // it was connected, else we do.
  redisAsyncFree(context);
  if (reconnect_at_ == absl::InfiniteFuture()) ScheduleReconnect();
}

void RedisLink::OnTimer(int, short, void* self) { static_cast<RedisLink*>(self)->Tick(); }

void RedisLink::Tick() {
  const absl::Time now = absl::Now();
  if (context_ != nullptr) {
    OnTick(now);
  } else if (!stopped() && now >= reconnect_at_) {
    Connect();
  }
}

}  // namespace parley::broker::redis
