#include "broker/store/redis/redis_connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace parley::broker::redis {

RedisConnection::RedisConnection(RedisLoop* loop, RedisConnectionOptions options,
                                 RedisConnectionCounters* counters)
    : RedisLink(loop, std::move(options), counters) {
  StartLink();
}

RedisConnection::~RedisConnection() { StopLink(); }

void RedisConnection::OnStopped() {
  for (Pending* pending : pending_) {
    Fail(*pending, absl::UnavailableError("the store is shutting down"));
    delete pending;
  }
  pending_.clear();
}

void RedisConnection::Command(std::vector<std::string> args, absl::Time deadline, Done done) {
  loop_->Post([this, args = std::move(args), deadline, done = std::move(done)]() mutable {
    Send(std::move(args), deadline,
         [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
           if (reply.ok() && reply->is_error()) reply = RedisErrorStatus(reply->str);
           done(std::move(reply));
         });
  });
}

void RedisConnection::Eval(const RedisScript& script, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args, absl::Time deadline, Done done) {
  std::vector<std::string> command = {"EVALSHA", script.sha1(), absl::StrCat(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  // NOSCRIPT: this Redis has not seen it (new, restarted, flushed); EVAL loads it.
  auto retry = [this, source = script.source(), command, deadline,
                done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
    if (reply.ok() && reply->is_error() && reply->str.rfind("NOSCRIPT", 0) == 0) {
      command[0] = "EVAL";
      command[1] = std::move(source);
      Send(std::move(command), deadline, std::move(done));
      return;
    }
    if (reply.ok() && reply->is_error()) reply = RedisErrorStatus(reply->str);
    done(std::move(reply));
  };
  loop_->Post([this, command = std::move(command), deadline, retry = std::move(retry)]() mutable {
    Send(std::move(command), deadline, std::move(retry));
  });
}

void RedisConnection::Send(std::vector<std::string> args, absl::Time deadline, Done done,
                           bool internal) {
  auto* pending = new Pending{this, std::move(done), deadline, absl::Now(), internal};
  if (!internal) counters_->commands.fetch_add(1, std::memory_order_relaxed);
  if (stopped() || context_ == nullptr) {
    Fail(*pending, absl::UnavailableError(absl::StrCat(
                       "the store (Redis ", options_.address.ToString(), ") is not connected")));
    delete pending;
    return;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAsyncCommandArgv(context_, &RedisConnection::OnReply, pending,
                            static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    Fail(*pending, absl::UnavailableError("the connection to the store is closing"));
    delete pending;
    return;
  }
  pending_.push_back(pending);
}

void RedisConnection::Fail(Pending& pending, absl::Status status) {
  if (!pending.done) return;
  if (!pending.internal) {
    auto& counter = status.code() == absl::StatusCode::kDeadlineExceeded
                        ? counters_->deadline_exceeded
                        : counters_->unavailable;
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  Done done = std::move(pending.done);
  pending.done = nullptr;
  done(std::move(status));
}

void RedisConnection::OnReply(redisAsyncContext* context, void* reply, void* privdata) {
  auto* pending = static_cast<Pending*>(privdata);
  RedisConnection* self = pending->connection;
  auto it = std::find(self->pending_.begin(), self->pending_.end(), pending);
  if (it != self->pending_.end()) self->pending_.erase(it);
  if (reply == nullptr) {
    self->Fail(*pending,
               absl::UnavailableError(absl::StrCat(
                   "the connection to the store (Redis ", self->options_.address.ToString(),
                   ") was lost: ", context->errstr[0] != '\0' ? context->errstr : "closed")));
  } else {
    const absl::Time now = absl::Now();
    self->last_reply_ = now;
    const auto& raw = *static_cast<redisReply*>(reply);
    if (pending->internal) {
      // AUTH or PING: an answer means Redis is there. A refusal (still loading its AOF, a
      // wrong password) is not, and is asked again on a new connection after the backoff:
      // AUTH goes only on connect, and once traffic flows no idle PING would ever go.
      if (raw.type == REDIS_REPLY_ERROR) {
        Log(LogLevel::kError, "redis_refused",
            {{"redis", self->options_.address.ToString()},
             {"error", std::string(raw.str, raw.len)}});
        if (self->context_ != nullptr) self->Drop("Redis refused the connection");
      } else {
        self->SetHealthy(self->context_ != nullptr);
      }
    } else {
      self->counters_->replies.fetch_add(1, std::memory_order_relaxed);
      if (self->counters_->round_trip_seconds != nullptr) {
        self->counters_->round_trip_seconds->Observe(absl::ToDoubleSeconds(now - pending->sent));
      }
      if (raw.type == REDIS_REPLY_ERROR) {
        self->counters_->error_replies.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (pending->done) {
      Done done = std::move(pending->done);
      done(RedisReply::From(raw));
    }
  }
  delete pending;
}

void RedisConnection::OnContextCreated(redisAsyncContext*) {
  // Queued behind the connect; their answers say Redis is really there (see OnReply).
  const absl::Time deadline = absl::Now() + options_.stall_timeout;
  if (!options_.password.empty()) {
    Send(
        {"AUTH", options_.password}, deadline, [](absl::StatusOr<RedisReply>) {}, true);
  }
  Send(
      {"PING"}, deadline, [](absl::StatusOr<RedisReply>) {}, true);
}

void RedisConnection::OnTick(absl::Time now) {
  for (Pending* pending : pending_) {
    if (pending->done && pending->deadline <= now && !pending->internal) {
      Fail(*pending,
           absl::DeadlineExceededError(absl::StrCat(
               "the store (Redis ", options_.address.ToString(), ") did not answer in time")));
    }
  }
  if (!pending_.empty() && now - pending_.front()->sent > options_.stall_timeout) {
    Drop("a command went unanswered for the stall timeout");
  } else if (pending_.empty() && now - last_reply_ > options_.ping_interval) {
    Send(
        {"PING"}, now + options_.stall_timeout, [](absl::StatusOr<RedisReply>) {}, true);
  }
}

}  // namespace parley::broker::redis
