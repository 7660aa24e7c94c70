// RedisChatStore: its life, its calls to chat.lua and the shard check. The operations are in
// the other redis_chat_store_*.cc files, one per concern.
#include "broker/store/redis/redis_chat_store.h"

#include <event2/event.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/store/redis/chat_script.h"
#include "broker/store/redis/shard_map.h"
#include "broker/store/redis/store_steps.h"
#include "common/log.h"

namespace parley::broker::redis {

using steps::Gather;
using steps::PassFailure;

RedisChatStore::RedisChatStore(ChatOptions chat, RedisChatStoreOptions options)
    : chat_(std::move(chat)), options_(std::move(options)), script_(std::string(kChatScript)) {
  counters_.round_trip_seconds = options_.round_trip_seconds;
  writes_seen_ = std::make_unique<std::atomic<uint64_t>[]>(options_.shards.size());
  shard_problems_.resize(options_.shards.size());
  pending_reads_.resize(options_.shards.size());
  for (const RedisAddress& address : options_.shards) {
    const size_t shard = connections_.size();
    mirrors_.push_back(std::make_unique<QueueMirror>(std::min(kMirrorLines, chat_.queue_capacity)));
    RedisConnectionOptions connection;
    connection.address = address;
    connection.password = options_.password;
    connections_.push_back(std::make_unique<RedisConnection>(&loop_, connection, &counters_));
    subscribers_.push_back(std::make_unique<RedisSubscriber>(
        &loop_, connection, &counters_, connections_.back().get(),
        std::vector<std::string>{kNotifyChannel},
        [this, shard](absl::string_view, absl::string_view payload) {
          OnNotification(shard, payload);
        },
        [this, shard] {
          mirrors_[shard]->Resubscribed();
          if (listener_ != nullptr) listener_->Resync();
        }));
  }
  loop_.Post([this] {
    check_timer_ = event_new(loop_.base(), -1, 0, &RedisChatStore::OnCheckTimer, this);
    OnCheckTimer(-1, 0, this);
  });
}

RedisChatStore::~RedisChatStore() { Stop(); }

void RedisChatStore::Stop() {
  {
    // Waits for calls being handed to the loop: none is handed after this.
    absl::WriterMutexLock lock(&stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  for (auto& subscriber : subscribers_) subscriber->Stop();
  for (auto& connection : connections_) connection->Stop();
  // What the connections answered UNAVAILABLE may have started more steps, which are answered
  // at once now; wait for the loop to run them.
  loop_.RunAndWait([this] {
    if (check_timer_ != nullptr) event_free(check_timer_);
    check_timer_ = nullptr;
  });
}

bool RedisChatStore::healthy() const {
  for (const auto& connection : connections_) {
    if (!connection->healthy()) return false;
  }
  for (const auto& subscriber : subscribers_) {
    if (!subscriber->healthy()) return false;
  }
  return true;
}

bool RedisChatStore::ready() const { return healthy() && shards_ok_.load(); }

void RedisChatStore::OnCheckTimer(int, short, void* self) {
  auto* store = static_cast<RedisChatStore*>(self);
  // Checked once connected (a check before would only fail); the next turn comes sooner
  // while the last found a problem.
  if (store->healthy()) store->CheckShards();
  const absl::Duration next =
      store->shards_ok_.load() ? kShardCheckInterval : kShardRecheckInterval;
  const timeval after = absl::ToTimeval(next);
  evtimer_add(store->check_timer_, &after);
}

void RedisChatStore::CheckShards() {
  // Per shard, two answers: its policy and its place. A shard that does not answer keeps its
  // last verdict: being out of reach is not a configuration fault, and holds up only its own
  // users (the operations' own errors say so), not the whole broker.
  using Verdict = std::optional<std::string>;  // the problem found ("": none); nullopt: no answer
  auto gather = Gather<Verdict>::Make(
      2 * connections_.size(), [this](absl::StatusOr<std::vector<Verdict>> verdicts) mutable {
        if (!verdicts.ok()) return;  // never: every step answers a value
        for (size_t shard = 0; shard < connections_.size(); ++shard) {
          const Verdict& policy = (*verdicts)[2 * shard];
          const Verdict& place = (*verdicts)[2 * shard + 1];
          if (!policy.has_value() || !place.has_value()) continue;
          shard_problems_[shard] =
              *policy + (policy->empty() || place->empty() ? "" : "; ") + *place;
        }
        std::string problem;
        for (size_t shard = 0; shard < connections_.size(); ++shard) {
          const std::string found = shard_problems_[shard].value_or(absl::StrCat(
              "Redis ", options_.shards[shard].ToString(), " has not answered the check yet"));
          if (!found.empty()) absl::StrAppend(&problem, problem.empty() ? "" : "; ", found);
        }
        shards_ok_ = problem.empty();
        if (problem == shards_problem_) return;
        shards_problem_ = problem;
        if (problem.empty()) {
          Log(LogLevel::kInfo, "redis_shards_checked", {{"shards", connections_.size()}});
        } else {
          Log(LogLevel::kError, "redis_shards_refused", {{"why", problem}});
        }
      });
  for (size_t shard = 0; shard < connections_.size(); ++shard) {
    const std::string address = options_.shards[shard].ToString();
    connections_[shard]->Command(
        {"CONFIG", "GET", "maxmemory-policy"}, absl::Now() + options_.timeout,
        [address, step = gather->Step(2 * shard)](Reply reply) mutable {
          if (!reply.ok() && reply.status().code() != absl::StatusCode::kInternal) {
            std::move(step)(Verdict());  // out of reach
          } else if (reply.ok() && reply->elements.size() == 2 &&
                     reply->elements[1].str != "noeviction") {
            std::move(step)(Verdict(
                absl::StrCat("Redis ", address, " has maxmemory-policy ", reply->elements[1].str,
                             ": it would evict Parley's keys; set noeviction")));
          } else {
            // noeviction; or CONFIG is not offered (a managed Redis): its operator's word.
            std::move(step)(Verdict(""));
          }
        });
    Call<std::string>(
        shard, {"shard_check", absl::StrCat(shard), absl::StrCat(connections_.size())},
        ParseShardCheck,
        [this, address, shard,
         step = gather->Step(2 * shard + 1)](absl::StatusOr<std::string> first) mutable {
          if (!first.ok()) {
            std::move(step)(Verdict());
          } else if (first->empty()) {
            std::move(step)(Verdict(""));
          } else {
            std::move(step)(Verdict(absl::StrCat(
                "Redis ", address, " is shard ", *first,
                " (position/count) for another broker, but ", shard, "/", connections_.size(),
                " for this one: give every broker the same --redis list")));
          }
        });
  }
}

void RedisChatStore::Stats(Done<StoreStats> done) {
  auto gather = Gather<CountsReply>::Make(
      connections_.size(),
      [this, done = std::move(done)](absl::StatusOr<std::vector<CountsReply>> counts) mutable {
        if (PassFailure(counts, done)) return;
        StoreStats stats;
        for (const CountsReply& shard : *counts) {
          stats.users += shard.users;
          stats.rooms += shard.rooms;
        }
        stats.presence_notifies = presence_notifies_.load();
        std::move(done)(stats);
      });
  for (size_t shard = 0; shard < connections_.size(); ++shard) {
    Call<CountsReply>(shard, {"counts"}, ParseCounts, gather->Step(shard));
  }
}

void RedisChatStore::AfterNotifications(absl::AnyInvocable<void()> done) {
  loop_.Post([this, done = std::move(done)]() mutable {
    const uint64_t id = ++next_marker_;
    markers_[id] = Marker{connections_.size(), std::move(done)};
    for (auto& connection : connections_) {
      connection->Command({"PUBLISH", kNotifyChannel, absl::StrCat("s:", id)},
                          absl::Now() + options_.timeout, [](Reply) {});
    }
  });
}

size_t RedisChatStore::ShardOf(absl::string_view name) const {
  return redis::ShardOf(name, connections_.size());
}

std::string RedisChatStore::CandidateEpoch() {
  absl::MutexLock lock(&random_mu_);
  return absl::StrCat(absl::Uniform<uint64_t>(random_, 1, std::numeric_limits<uint64_t>::max()));
}

void RedisChatStore::SawWrites(size_t shard, const ShardWrites& writes) {
  mirrors_[shard]->Wrote(writes.event);
  uint64_t seen = writes_seen_[shard].load();
  while (writes.writes > seen && !writes_seen_[shard].compare_exchange_weak(seen, writes.writes)) {
  }
}

void RedisChatStore::CallRaw(size_t shard, std::vector<std::string> args, ReplyDone done) {
  if (options_.fault) {
    if (absl::Status fault = options_.fault(++calls_, shard, args[0]); !fault.ok()) {
      if (!absl::IsDeadlineExceeded(fault)) {
        std::move(done)(fault);  // refused: never sent
        return;
      }
      // Sent, and its answer lost: Redis runs it, the caller hears the fault.
      done = [fault, done = std::move(done)](Reply) mutable { std::move(done)(fault); };
    }
  }
  absl::StrAppend(&args[0], "@", writes_seen_[shard].load());
  {
    absl::ReaderMutexLock lock(&stop_mu_);
    if (!stopped_) {
      connections_[shard]->Eval(script_, {}, args, absl::Now() + options_.timeout,
                                [done = std::move(done)](Reply reply) mutable {
                                  if (reply.ok() && reply->is_error()) {
                                    std::move(done)(RedisErrorStatus(reply->str));
                                    return;
                                  }
                                  std::move(done)(std::move(reply));
                                });
      return;
    }
  }
  // Stopped: answered at once, on this thread (ChatStore::Stop).
  std::move(done)(absl::UnavailableError("the Redis store is stopped"));
}

void RedisChatStore::CallForStatus(size_t shard, std::vector<std::string> args, StatusDone done) {
  std::string operation = args[0];
  CallRaw(shard, std::move(args),
          [operation = std::move(operation), done = std::move(done)](Reply reply) mutable {
            std::move(done)(reply.ok() ? ParseOk(operation, *reply) : reply.status());
          });
}

MessagePtr RedisChatStore::MakeLine(MessageKind kind, absl::string_view room,
                                    absl::string_view user, absl::Time now) {
  auto message = std::make_shared<Message>();
  message->id = ids_.Next();
  message->kind = kind;
  message->room = std::string(room);
  message->from = std::string(user);
  message->sent_at = now;
  return message;
}

}  // namespace parley::broker::redis
