#include "broker/store/redis/redis_chat_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/core/answer_batch.h"
#include "broker/core/chat_errors.h"
#include "broker/store/redis/chat_script.h"
#include "broker/store/redis/shard_map.h"
#include "broker/store/redis/stored_message.h"
#include "common/log.h"

namespace parley::broker::redis {
namespace {

constexpr char kNotifyChannel[] = "parley:notify";
constexpr int kDeliverAttempts = 3;
// A leave pending this long failed part-way (one in progress takes a few round trips): the
// sweep finishes it.
constexpr absl::Duration kLeavingGrace = absl::Seconds(10);

std::string Ms(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }
std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

const std::string& Word(const RedisReply& reply, size_t i) {
  static const std::string kNone;
  return i < reply.elements.size() ? reply.elements[i].str : kNone;
}

int64_t Int(const RedisReply& reply, size_t i) {
  if (i >= reply.elements.size()) return 0;
  const RedisReply& element = reply.elements[i];
  if (element.type == RedisReply::Type::kInteger) return element.integer;
  int64_t value = 0;
  if (!absl::SimpleAtoi(element.str, &value)) return 0;
  return value;
}

uint64_t Uint(const RedisReply& reply, size_t i) {
  if (i >= reply.elements.size()) return 0;
  const RedisReply& element = reply.elements[i];
  if (element.type == RedisReply::Type::kInteger) return static_cast<uint64_t>(element.integer);
  uint64_t value = 0;
  if (!absl::SimpleAtoi(element.str, &value)) return 0;
  return value;
}

std::vector<std::string> Strings(const RedisReply& reply) {
  std::vector<std::string> out;
  out.reserve(reply.elements.size());
  for (const RedisReply& element : reply.elements) out.push_back(element.str);
  return out;
}

absl::Status Unexpected(absl::string_view op, const RedisReply& reply) {
  return absl::InternalError(
      absl::StrCat("unexpected answer from Redis to ", op, ": '", Word(reply, 0), "'"));
}

// Hands a failure on to `done` (the step is over then); false for a success.
template <typename T, typename D>
bool PassFailure(const absl::StatusOr<T>& result, D& done) {
  if (result.ok()) return false;
  std::move(done)(result.status());
  return true;
}

void Append(std::vector<std::string>& to, std::vector<std::string> values) {
  to.insert(to.end(), std::make_move_iterator(values.begin()),
            std::make_move_iterator(values.end()));
}

// Runs `count` steps, each answering through its own `done`; `then` runs once after the last,
// with the first failure (by step) or every value. Steps may answer on any thread.
template <typename T>
class Gather : public std::enable_shared_from_this<Gather<T>> {
 public:
  using Then = absl::AnyInvocable<void(absl::StatusOr<std::vector<T>>)>;

  static std::shared_ptr<Gather> Make(size_t count, Then then) {
    auto gather = std::shared_ptr<Gather>(new Gather(count, std::move(then)));
    if (count == 0) gather->Finish();
    return gather;
  }
  Done<T> Step(size_t i) {
    return [self = this->shared_from_this(), i](absl::StatusOr<T> result) {
      self->results_[i] = std::move(result);
      if (self->left_.fetch_sub(1) == 1) self->Finish();
    };
  }

 private:
  Gather(size_t count, Then then)
      : results_(count, absl::UnknownError("not answered")), left_(count), then_(std::move(then)) {}
  void Finish() {
    std::vector<T> values;
    values.reserve(results_.size());
    for (absl::StatusOr<T>& result : results_) {
      if (!result.ok()) {
        std::move(then_)(result.status());
        return;
      }
      values.push_back(std::move(*result));
    }
    std::move(then_)(std::move(values));
  }

  std::vector<absl::StatusOr<T>> results_;
  std::atomic<size_t> left_;
  Then then_;
};

// StatusDone steps for a Gather<bool>.
StatusDone AsStatusStep(Done<bool> step) {
  return [step = std::move(step)](absl::Status status) mutable {
    if (status.ok()) {
      std::move(step)(true);
    } else {
      std::move(step)(status);
    }
  };
}

// Runs `count` StatusDone steps; `then` with the first failure or OK.
std::shared_ptr<Gather<bool>> AllOf(size_t count, StatusDone then) {
  return Gather<bool>::Make(
      count, [then = std::move(then)](absl::StatusOr<std::vector<bool>> all) mutable {
        std::move(then)(all.status());
      });
}

}  // namespace

RedisChatStore::RedisChatStore(ChatOptions chat, RedisChatStoreOptions options)
    : chat_(std::move(chat)), options_(std::move(options)), script_(std::string(kChatScript)) {
  counters_.round_trip_seconds = options_.round_trip_seconds;
  writes_seen_ = std::make_unique<std::atomic<uint64_t>[]>(options_.shards.size());
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
  loop_.RunAndWait([] {});
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

bool RedisChatStore::ready() const {
  if (!healthy()) return false;
  const int64_t now = absl::ToUnixMillis(absl::Now());
  int64_t last = shards_checked_at_.load();
  if (now - last >= absl::ToInt64Milliseconds(kShardCheckInterval) &&
      shards_checked_at_.compare_exchange_strong(last, now)) {
    // ready() is a question, but the answer needs Redis's: the check changes only its own
    // results (and writes pshard once, which every broker would).
    const_cast<RedisChatStore*>(this)->CheckShards();
  }
  return shards_ok_.load();
}

void RedisChatStore::CheckShards() {
  auto gather = Gather<std::string>::Make(
      2 * connections_.size(), [this](absl::StatusOr<std::vector<std::string>> problems) {
        std::string problem;
        if (!problems.ok()) {
          problem = absl::StrCat("the shard check failed: ", problems.status().message());
        } else {
          for (const std::string& found : *problems) {
            if (!found.empty()) absl::StrAppend(&problem, problem.empty() ? "" : "; ", found);
          }
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
            std::move(step)(reply.status());  // out of reach
          } else if (reply.ok() && reply->elements.size() == 2 &&
                     reply->elements[1].str != "noeviction") {
            std::move(step)(absl::StrCat("Redis ", address, " has maxmemory-policy ",
                                         reply->elements[1].str,
                                         ": it would evict Parley's keys; set noeviction"));
          } else {
            // noeviction; or CONFIG is not offered (a managed Redis): its operator's word.
            std::move(step)(std::string());
          }
        });
    Call(shard, {"shard_check", absl::StrCat(shard), absl::StrCat(connections_.size())},
         [this, address, shard, step = gather->Step(2 * shard + 1)](Reply reply) mutable {
           if (!reply.ok()) {
             std::move(step)(reply.status());
           } else if (Word(*reply, 0) == "mismatch") {
             std::move(step)(absl::StrCat(
                 "Redis ", address, " is shard ", Word(*reply, 1),
                 " (position/count) for another broker, but ", shard, "/", connections_.size(),
                 " for this one: give every broker the same --redis list"));
           } else {
             std::move(step)(std::string());
           }
         });
  }
}

void RedisChatStore::Stats(Done<StoreStats> done) {
  auto gather = Gather<RedisReply>::Make(
      connections_.size(),
      [this, done = std::move(done)](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
        if (PassFailure(replies, done)) return;
        StoreStats stats;
        for (const RedisReply& reply : *replies) {
          stats.users += Int(reply, 0);
          stats.rooms += Int(reply, 1);
        }
        stats.presence_notifies = presence_notifies_.load();
        std::move(done)(stats);
      });
  for (size_t shard = 0; shard < connections_.size(); ++shard) {
    Call(shard, {"counts"},
         [step = gather->Step(shard)](Reply reply) mutable { std::move(step)(std::move(reply)); });
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

void RedisChatStore::SawWrites(size_t shard, const RedisReply& reply, size_t index) {
  mirrors_[shard]->Wrote(Uint(reply, index + 1));
  const uint64_t writes = Uint(reply, index);
  uint64_t seen = writes_seen_[shard].load();
  while (writes > seen && !writes_seen_[shard].compare_exchange_weak(seen, writes)) {
  }
}

void RedisChatStore::Call(size_t shard, std::vector<std::string> args, ReplyDone done) {
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

void RedisChatStore::OnNotification(size_t shard, absl::string_view payload) {
  if (payload.size() < 2 || payload[1] != ':') return;
  // "<kind>:<name> <Redis time in microseconds> <event>[\n<body>]" (names have no spaces;
  // chat.lua's notify), or "s:<marker>" (AfterNotifications).
  absl::string_view body;
  absl::string_view header = payload.substr(2);
  if (const size_t newline = header.find('\n'); newline != absl::string_view::npos) {
    body = header.substr(newline + 1);
    header = header.substr(0, newline);
  }
  const std::pair<absl::string_view, absl::string_view> name_and_numbers =
      absl::StrSplit(header, absl::MaxSplits(' ', 1));
  const absl::string_view name = name_and_numbers.first;
  if (payload[0] == 's') {
    uint64_t id = 0;
    auto marker = absl::SimpleAtoi(name, &id) ? markers_.find(id) : markers_.end();
    if (marker != markers_.end() && --marker->second.shards_left == 0) {
      absl::AnyInvocable<void()> done = std::move(marker->second.done);
      markers_.erase(marker);
      done();
    }
    return;
  }
  const std::pair<absl::string_view, absl::string_view> numbers =
      absl::StrSplit(name_and_numbers.second, absl::MaxSplits(' ', 1));
  int64_t published = 0;
  uint64_t event = 0;
  if (!absl::SimpleAtoi(numbers.first, &published) || !absl::SimpleAtoi(numbers.second, &event)) {
    // Not from this version's chat.lua: the mirror cannot follow the shard.
    mirrors_[shard]->Resubscribed();
    if (listener_ != nullptr) listener_->Resync();
    return;
  }
  const absl::Time received = absl::Now();
  // Redis's clock: on another host, the lag includes the clocks' skew (never below 0).
  const absl::Time changed_at = std::min(received, absl::FromUnixMicros(published));
  if (options_.notification_lag_seconds != nullptr) {
    options_.notification_lag_seconds->Observe(absl::ToDoubleSeconds(received - changed_at));
  }
  QueueMirror& mirror = *mirrors_[shard];
  // The polls a change wakes are answered here from the mirror: every answer before any write.
  AnswerBatch answers;
  switch (payload[0]) {
    case 'u':
      mirror.UserChanged(event, name);
      if (listener_ != nullptr) listener_->UserChanged(name, changed_at);
      break;
    case 'm':  // the user's rooms or online mark: nothing to wake
      mirror.UserChanged(event, name);
      break;
    case 'r':
      mirror.RoomLines(event, name, [body] { return MessagesFromPackedList(body); });
      if (listener_ != nullptr) listener_->RoomChanged(name, changed_at);
      break;
    case 'p':
      mirror.Other(event);
      if (listener_ != nullptr) listener_->PresencePublished(name);
      break;
    case 'f':
      mirror.EveryUserChanged(event);
      break;
    default:
      mirror.Other(event);
      break;
  }
}

// --- Steps ---------------------------------------------------------------------------------

std::vector<std::string> RedisChatStore::DeliverArgs(const RoomLine& line,
                                                     const std::string& lost_to,
                                                     size_t count) const {
  // deliver(room, capacity, epoch, lost_to, renumbered, count, then count × (n, message...))
  return {"deliver",          line.room, absl::StrCat(chat_.queue_capacity),
          line.epoch,         lost_to,   line.renumbered ? "1" : "0",
          absl::StrCat(count)};
}

std::vector<size_t> RedisChatStore::ShardsAt(const RedisReply& reply, size_t index) {
  std::vector<size_t> shards;
  if (index >= reply.elements.size()) return shards;
  for (const RedisReply& shard : reply.elements[index].elements) {
    size_t at = 0;
    if (absl::SimpleAtoi(shard.str, &at)) shards.push_back(at);
  }
  return shards;
}

void RedisChatStore::DeliverLine(RoomLine line, Done<uint32_t> done) {
  // Only the shards with members (a shard out of reach holds up only its own members' rooms).
  std::vector<size_t> shards = std::move(line.shards);
  if (shards.empty()) {
    for (size_t shard = 0; shard < connections_.size(); ++shard) shards.push_back(shard);
  }
  std::erase_if(shards, [this](size_t shard) { return shard >= connections_.size(); });
  auto gather = Gather<uint32_t>::Make(
      shards.size(),
      [done = std::move(done)](absl::StatusOr<std::vector<uint32_t>> counts) mutable {
        if (PassFailure(counts, done)) return;
        uint32_t total = 0;
        for (uint32_t count : *counts) total += count;
        std::move(done)(total);
      });
  auto shared = std::make_shared<const RoomLine>(std::move(line));
  for (size_t i = 0; i < shards.size(); ++i) {
    DeliverOnShard(shards[i], shared, kDeliverAttempts, gather->Step(i));
  }
}

void RedisChatStore::DeliverOnShard(size_t shard, std::shared_ptr<const RoomLine> line,
                                    int attempts, Done<uint32_t> done) {
  auto answer = [this, shard, line, attempts, done = std::move(done)](Reply reply) mutable {
    if (PassFailure(reply, done)) return;
    if (Word(*reply, 0) == "ok") {
      SawWrites(shard, *reply, 2);
      std::move(done)(static_cast<uint32_t>(Int(*reply, 1)));
      return;
    }
    if (Word(*reply, 0) == "reused") {
      // The room's shard gave a number twice: it lost writes no broker's count showed. Fenced,
      // the room's lines are numbered in a new epoch; this publish fails, and its retry (same
      // idempotency key) is sequenced in the new epoch.
      Call(
          ShardOf(line->room), {"fence_shard"},
          [room = line->room, done = std::move(done)](Reply) mutable {
            std::move(done)(absl::UnavailableError(absl::StrCat(
                "the shard of room '", room, "' lost writes; its lines are numbered anew: retry")));
          });
      return;
    }
    if (Word(*reply, 0) != "behind" || attempts <= 1) {
      std::move(done)(Unexpected("deliver", *reply));
      return;
    }
    // An earlier line of the room has not reached this shard yet (its publisher is slow, or
    // failed part-way): deliver the lines in between from the room's log first.
    const uint64_t applied = Uint(*reply, 1);
    Call(
        ShardOf(line->room),
        {"room_log", line->room, line->epoch, absl::StrCat(applied + 1), absl::StrCat(line->n - 1)},
        [this, shard, line, applied, attempts, done = std::move(done)](Reply log) mutable {
          if (PassFailure(log, done)) return;
          std::vector<std::string> lines;
          uint64_t first = 0;  // the first line the log still has
          for (const RedisReply& entry : log->elements) {
            if (entry.elements.size() != 2) continue;
            absl::StatusOr<MessagePtr> message = MessageFromPairs(entry.elements[1]);
            uint64_t seq = 0;
            if (!message.ok() ||
                !absl::SimpleAtoi(entry.elements[0].str.substr(0, entry.elements[0].str.find('-')),
                                  &seq)) {
              continue;
            }
            if (first == 0) first = seq;
            lines.push_back(absl::StrCat(seq));
            Append(lines, MessageValues(**message));
          }
          // Lines the log no longer has (this shard was further behind than --room_log, or
          // the room's epoch moved on): skipped, and the shard's members see the gap.
          std::string lost_to;
          if (first == 0) {
            lost_to = absl::StrCat(line->n - 1);
          } else if (first > applied + 1) {
            lost_to = absl::StrCat(first - 1);
          }
          std::vector<std::string> args = DeliverArgs(*line, lost_to, lines.size() / 8 + 1);
          Append(args, std::move(lines));
          args.push_back(absl::StrCat(line->n));
          Append(args, line->values);
          Call(shard, std::move(args),
               [this, shard, line, attempts, done = std::move(done)](Reply reply) mutable {
                 if (reply.ok() && Word(*reply, 0) != "ok") {  // behind again, or reused
                   DeliverOnShard(shard, line, attempts - 1, std::move(done));
                   return;
                 }
                 if (!reply.ok()) {
                   std::move(done)(reply.status());
                 } else {
                   SawWrites(shard, *reply, 2);
                   std::move(done)(static_cast<uint32_t>(Int(*reply, 1)));
                 }
               });
        });
  };
  std::vector<std::string> args = DeliverArgs(*line, "", 1);
  args.push_back(absl::StrCat(line->n));
  Append(args, line->values);
  Call(shard, std::move(args), std::move(answer));
}

void RedisChatStore::AppendToUser(const std::string& user, const std::string& marker,
                                  std::vector<std::string> values, absl::Time now,
                                  StatusDone done) {
  std::vector<std::string> args = {"user_append", user,    absl::StrCat(chat_.queue_capacity),
                                   marker,        Ms(now), Ms(chat_.idempotency_window)};
  Append(args, std::move(values));
  const size_t shard = ShardOf(user);
  Call(shard, std::move(args), [this, shard, user, done = std::move(done)](Reply reply) mutable {
    if (!reply.ok()) {
      std::move(done)(reply.status());
    } else if (Word(*reply, 0) == "missing") {
      std::move(done)(NotConnected(user));
    } else {
      SawWrites(shard, *reply, 2);
      std::move(done)(absl::OkStatus());
    }
  });
}

void RedisChatStore::JoinRoom(const std::string& user, const std::string& room, absl::Time now,
                              Done<JoinResult> done) {
  // The user's side first: a line delivered from now on reaches the joiner, its JOIN included.
  Call(ShardOf(user), {"member_add", user, room},
       [this, user, room, now, done = std::move(done)](Reply added) mutable {
         if (PassFailure(added, done)) return;
         if (Word(*added, 0) == "missing") {
           std::move(done)(NotConnected(user));
           return;
         }
         const bool online = Int(*added, 1) == 1;
         MessagePtr line = MakeLine(MessageKind::kJoin, room, user, now);
         std::vector<std::string> values = MessageValues(*line);
         std::vector<std::string> args = {"room_join",
                                          room,
                                          user,
                                          online ? "1" : "0",
                                          absl::StrCat(chat_.presence_events_max_members),
                                          absl::StrCat(options_.room_log)};
         Append(args, values);
         args.push_back(absl::StrCat(ShardOf(user)));
         Call(ShardOf(room), std::move(args),
              [this, user, room, now, values = std::move(values),
               done = std::move(done)](Reply joined) mutable {
                if (PassFailure(joined, done)) return;
                SawWrites(ShardOf(room), *joined, 8);
                JoinResult result;
                result.joined = Int(*joined, 0) == 1;
                result.created = Int(*joined, 1) == 1;
                const int64_t n = Int(*joined, 2);
                result.presence.version = Int(*joined, 3);
                result.presence.members = Int(*joined, 4);
                result.presence.online = Int(*joined, 5);
                result.presence.mode =
                    Int(*joined, 6) == 1 ? PresenceMode::kCounts : PresenceMode::kEvents;
                if (!result.joined) {
                  std::move(done)(result);
                  return;
                }
                auto answer = [result, done = std::move(done)](absl::Status status) mutable {
                  if (!status.ok()) {
                    std::move(done)(status);
                  } else {
                    std::move(done)(result);
                  }
                };
                if (n > 0) {
                  DeliverLine(RoomLine{room, Word(*joined, 7), static_cast<uint64_t>(n),
                                       std::move(values), false, ShardsAt(*joined, 10)},
                              [answer = std::move(answer)](absl::StatusOr<uint32_t> sent) mutable {
                                std::move(answer)(sent.status());
                              });
                } else {
                  // A large room: only the user's own queue, so their other tabs learn of it.
                  AppendToUser(user, "", std::move(values), now, std::move(answer));
                }
              });
       });
}

void RedisChatStore::FinishLeaves(const std::string& user, std::vector<std::string> rooms,
                                  absl::Time now, StatusDone done) {
  if (rooms.empty()) {
    std::move(done)(absl::OkStatus());
    return;
  }
  auto all =
      AllOf(rooms.size(), [this, user, rooms, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          std::move(done)(status);  // the intent stays: the next to find it finishes
          return;
        }
        std::vector<std::string> args = {"leaving_done", user};
        Append(args, std::move(rooms));
        Call(ShardOf(user), std::move(args),
             [done = std::move(done)](Reply reply) mutable { std::move(done)(reply.status()); });
      });
  for (size_t i = 0; i < rooms.size(); ++i) {
    LeaveRoomSide(user, rooms[i], now, AsStatusStep(all->Step(i)));
  }
}

void RedisChatStore::LeaveRoomSide(const std::string& user, const std::string& room, absl::Time now,
                                   StatusDone done) {
  MessagePtr line = MakeLine(MessageKind::kLeave, room, user, now);
  std::vector<std::string> values = MessageValues(*line);
  std::vector<std::string> args = {"room_leave",
                                   room,
                                   user,
                                   absl::StrCat(chat_.presence_events_max_members),
                                   absl::StrCat(options_.room_log),
                                   room == kLobby ? "1" : "0"};
  Append(args, values);
  args.push_back(absl::StrCat(ShardOf(user)));
  Call(ShardOf(room), std::move(args),
       [this, room, values = std::move(values), done = std::move(done)](Reply left) mutable {
         if (PassFailure(left, done)) return;
         if (Word(*left, 0) == "left") SawWrites(ShardOf(room), *left, 3);
         // Not a member: an earlier try did this side already.
         const int64_t n = Word(*left, 0) == "left" ? Int(*left, 1) : 0;
         if (n == 0) {  // nothing to deliver (a large room: the leaver alone had its LEAVE)
           std::move(done)(absl::OkStatus());
           return;
         }
         // Should the delivery fail, the line is in the room's log: the room's next line
         // brings every shard up to date first (DeliverOnShard).
         DeliverLine(RoomLine{room, Word(*left, 2), static_cast<uint64_t>(n), std::move(values),
                              false, ShardsAt(*left, 5)},
                     [done = std::move(done)](absl::StatusOr<uint32_t> sent) mutable {
                       std::move(done)(sent.status());
                     });
       });
}

void RedisChatStore::RemoveUser(const std::string& user, const std::string& session, absl::Time now,
                                std::optional<absl::Duration> idle_for, StatusDone done) {
  Call(ShardOf(user),
       {"user_remove", user, session, Ms(now), idle_for.has_value() ? Ms(*idle_for) : ""},
       [this, user, now, done = std::move(done)](Reply removed) mutable {
         if (PassFailure(removed, done)) return;
         const std::string& what = Word(*removed, 0);
         absl::Status answer = absl::OkStatus();
         if (what == "missing") answer = NotConnected(user);
         if (what == "denied") answer = SessionDoesNotHold(user);
         std::vector<std::string> pending = removed->elements.size() > 1
                                                ? Strings(removed->elements[1])
                                                : std::vector<std::string>{};
         FinishLeaves(user, std::move(pending), now,
                      [answer, done = std::move(done)](absl::Status status) mutable {
                        std::move(done)(status.ok() ? answer : status);
                      });
       });
}

void RedisChatStore::SetOnline(const std::vector<std::string>& rooms,
                               const std::vector<std::string>& users, bool online,
                               StatusDone done) {
  auto all = AllOf(rooms.size(), std::move(done));
  for (size_t i = 0; i < rooms.size(); ++i) {
    std::vector<std::string> args = {"room_online", rooms[i], online ? "1" : "0"};
    args.insert(args.end(), users.begin(), users.end());
    Call(ShardOf(rooms[i]), std::move(args), [step = all->Step(i)](Reply reply) mutable {
      if (!reply.ok()) {
        std::move(step)(reply.status());
      } else {
        std::move(step)(true);
      }
    });
  }
}

void RedisChatStore::PresenceOf(std::vector<std::string> rooms, Done<std::vector<RoomState>> done) {
  std::sort(rooms.begin(), rooms.end());
  // One call per shard, with that shard's rooms.
  absl::btree_map<size_t, std::vector<std::string>> by_shard;
  for (const std::string& room : rooms) by_shard[ShardOf(room)].push_back(room);
  auto shard_rooms = std::make_shared<std::vector<std::vector<std::string>>>();
  for (auto& [shard, names] : by_shard) shard_rooms->push_back(names);
  auto gather = Gather<RedisReply>::Make(
      by_shard.size(), [shard_rooms, done = std::move(done)](
                           absl::StatusOr<std::vector<RedisReply>> replies) mutable {
        if (PassFailure(replies, done)) return;
        std::vector<RoomState> states;
        for (size_t s = 0; s < replies->size(); ++s) {
          const RedisReply& reply = (*replies)[s];
          const std::vector<std::string>& names = (*shard_rooms)[s];
          for (size_t i = 0; i < names.size() && i < reply.elements.size(); ++i) {
            const RedisReply& room = reply.elements[i];
            if (Int(room, 0) != 1) continue;  // gone meanwhile
            RoomState state;
            state.info.room = names[i];
            state.info.presence.version = Int(room, 1);
            state.info.presence.members = Int(room, 2);
            state.info.presence.online = Int(room, 3);
            state.info.presence.mode =
                Int(room, 4) == 1 ? PresenceMode::kCounts : PresenceMode::kEvents;
            state.published_version = Int(room, 5);
            states.push_back(std::move(state));
          }
        }
        std::sort(states.begin(), states.end(),
                  [](const RoomState& a, const RoomState& b) { return a.info.room < b.info.room; });
        std::move(done)(std::move(states));
      });
  size_t i = 0;
  for (auto& [shard, names] : by_shard) {
    std::vector<std::string> args = {"rooms_presence"};
    args.insert(args.end(), names.begin(), names.end());
    Call(shard, std::move(args),
         [step = gather->Step(i++)](Reply reply) mutable { std::move(step)(std::move(reply)); });
  }
}

// --- Operations ----------------------------------------------------------------------------

void RedisChatStore::Connect(const ConnectRequest& request, absl::Time now,
                             Done<ConnectResult> done) {
  Call(ShardOf(request.session), {"ended_check", request.session, Ms(now)},
       [this, request, now, done = std::move(done)](Reply ended) mutable {
         if (PassFailure(ended, done)) return;
         if (Int(*ended, 0) == 1) {
           std::move(done)(SessionLoggedOut());
           return;
         }
         Claim(request, now, std::move(done));
       });
}

void RedisChatStore::Claim(const ConnectRequest& request, absl::Time now,
                           Done<ConnectResult> done) {
  Call(ShardOf(request.user),
       {"claim", request.user, request.session, absl::StrCat(request.new_epoch), Ms(now),
        Ms(chat_.user_idle_expiry), request.holder_parked ? "1" : "0",
        request.may_create ? "1" : "0", absl::StrCat(chat_.publish_burst)},
       [this, request, now, done = std::move(done)](Reply claim) mutable {
         if (PassFailure(claim, done)) return;
         const std::string& what = Word(*claim, 0);
         if (what == "held") {
           std::move(done)(NameHeld(request.user));
           return;
         }
         if (what == "draining") {
           std::move(done)(BrokerDraining());
           return;
         }
         if (what != "resumed" && what != "created") {
           std::move(done)(Unexpected("claim", *claim));
           return;
         }
         const bool created = what == "created";
         // What is left to do: leaves pending (a replaced holder's rooms, or a leave that
         // failed part-way), then the lobby (joining again is a no-op, and finishes a join
         // that failed part-way), then a resumed user back online in its rooms; the answer.
         const size_t pending_at = created ? 4 : 5;
         std::vector<std::string> pending = claim->elements.size() > pending_at
                                                ? Strings(claim->elements[pending_at])
                                                : std::vector<std::string>{};
         std::vector<std::string> rooms = !created && claim->elements.size() > 4
                                              ? Strings(claim->elements[4])
                                              : std::vector<std::string>{};
         const bool went_online = !created && Int(*claim, 3) == 1;
         auto answer = [this, user = request.user, created,
                        done = std::move(done)](absl::Status status) mutable {
           if (!status.ok()) {
             std::move(done)(status);
             return;
           }
           AnswerConnect(user, created, std::move(done));
         };
         auto online = [this, user = request.user, rooms = std::move(rooms), went_online,
                        answer = std::move(answer)](absl::Status status) mutable {
           if (!status.ok() || !went_online) {
             std::move(answer)(status);
             return;
           }
           SetOnline(rooms, {user}, true, std::move(answer));
         };
         auto join_lobby = [this, user = request.user, now,
                            online = std::move(online)](absl::Status status) mutable {
           if (!status.ok()) {
             std::move(online)(status);
             return;
           }
           JoinRoom(user, std::string(kLobby), now,
                    [online = std::move(online)](absl::StatusOr<JoinResult> joined) mutable {
                      std::move(online)(joined.status());
                    });
         };
         FinishLeaves(request.user, std::move(pending), now, std::move(join_lobby));
       });
}

void RedisChatStore::AnswerConnect(const std::string& user, bool created,
                                   Done<ConnectResult> done) {
  Call(ShardOf(user), {"user_info", user, CandidateEpoch()},
       [this, user, created, done = std::move(done)](Reply info) mutable {
         if (PassFailure(info, done)) return;
         if (Word(*info, 0) != "ok" || info->elements.size() < 4) {
           std::move(done)(NotConnected(user));
           return;
         }
         ConnectResult result;
         result.created = created;
         result.epoch = Uint(*info, 1);
         result.cursor = Uint(*info, 2);
         PresenceOf(Strings(info->elements[3]),
                    [result = std::move(result), done = std::move(done)](
                        absl::StatusOr<std::vector<RoomState>> states) mutable {
                      if (PassFailure(states, done)) return;
                      for (RoomState& state : *states) {
                        result.presence.push_back(std::move(state.info));
                      }
                      std::move(done)(std::move(result));
                    });
       });
}

void RedisChatStore::Disconnect(absl::string_view user, absl::string_view session, absl::Time now,
                                StatusDone done) {
  // The session ends first (ChatStore::Disconnect): whatever fails after, the token is refused.
  Call(ShardOf(session),
       {"ended_record", std::string(session), Ms(now), Ms(chat_.ended_session_memory)},
       [this, user = std::string(user), session = std::string(session), now,
        done = std::move(done)](Reply reply) mutable {
         if (!reply.ok()) {
           std::move(done)(reply.status());
           return;
         }
         RemoveUser(user, session, now, std::nullopt, std::move(done));
       });
}

void RedisChatStore::Publish(const PublishRequest& request, absl::Time now,
                             Done<StorePublish> done) {
  const PublishInput& input = request.input;
  std::vector<std::string> check_args = {"publish_check",
                                         input.sender,
                                         input.idempotency_key,
                                         Ms(now),
                                         absl::StrCat(chat_.publish_rate),
                                         absl::StrCat(chat_.publish_burst),
                                         Ms(chat_.idempotency_window)};
  Append(check_args, MessageValues(*request.message));
  Call(ShardOf(input.sender), std::move(check_args),
       [this, request, now, done = std::move(done)](Reply check) mutable {
         const PublishInput& input = request.input;
         if (PassFailure(check, done)) return;
         const std::string& what = Word(*check, 0);
         StorePublish answer;
         if (what == "missing") {
           std::move(done)(NotConnected(input.sender));
           return;
         }
         if (what == "dup") {
           absl::StatusOr<MessagePtr> message = MessageFromPairs(check->elements[1]);
           if (PassFailure(message, done)) return;
           uint32_t recipients = 0;
           const RedisReply& pairs = check->elements[1];
           for (size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
             if (pairs.elements[i].str == "n") {
               absl::SimpleAtoi(pairs.elements[i + 1].str, &recipients);
             }
           }
           answer.result = PublishResult{*message, recipients, true};
           std::move(done)(std::move(answer));
           return;
         }
         if (what == "limited") {
           double ms = 0;
           absl::SimpleAtod(Word(*check, 1), &ms);
           answer.limited_for = absl::Milliseconds(ms);
           if (answer.limited_for <= absl::ZeroDuration())
             answer.limited_for = absl::Nanoseconds(1);
           std::move(done)(std::move(answer));
           return;
         }
         // Another try of this key holds it: this one delivers that try's message, as a
         // retry would (a page's retry racing its slow first try on another broker).
         MessagePtr message = request.message;
         const bool resumed = what == "resume";
         if (resumed) {
           absl::StatusOr<MessagePtr> held = check->elements.size() > 1
                                                 ? MessageFromPairs(check->elements[1])
                                                 : Unexpected("publish_check", *check);
           if (PassFailure(held, done)) return;
           message = *held;
         }
         // Stored: the first answer to the key is recorded once every recipient has it.
         auto record = [this, input, now, done = std::move(done)](
                           MessagePtr message, absl::StatusOr<uint32_t> recipients,
                           bool again) mutable {
           if (PassFailure(recipients, done)) return;
           StorePublish answer;
           answer.result = PublishResult{message, *recipients, again};
           if (input.idempotency_key.empty()) {
             std::move(done)(std::move(answer));
             return;
           }
           std::vector<std::string> args = {"idem_record",
                                            input.sender,
                                            input.idempotency_key,
                                            Ms(now),
                                            Ms(chat_.idempotency_window),
                                            absl::StrCat(*recipients)};
           Append(args, MessageValues(*message));
           Call(ShardOf(input.sender), std::move(args),
                [answer = std::move(answer), done = std::move(done)](Reply reply) mutable {
                  if (!reply.ok()) {
                    std::move(done)(reply.status());
                  } else {
                    std::move(done)(std::move(answer));
                  }
                });
         };
         if (!input.room.empty()) {
           std::vector<std::string> args = {"room_sequence",
                                            input.room,
                                            input.sender,
                                            input.idempotency_key,
                                            Ms(now),
                                            Ms(chat_.idempotency_window),
                                            absl::StrCat(chat_.history),
                                            absl::StrCat(options_.room_log)};
           Append(args, MessageValues(*message));
           Call(ShardOf(input.room), std::move(args),
                [this, input, message, resumed,
                 record = std::move(record)](Reply sequenced) mutable {
                  if (!sequenced.ok()) {
                    record(message, sequenced.status(), false);
                    return;
                  }
                  const std::string& what = Word(*sequenced, 0);
                  if (what == "no_room") {
                    record(message, NoSuchRoom(input.room), false);
                    return;
                  }
                  if (what == "not_member") {
                    record(message, NotAMember(input.sender, input.room), false);
                    return;
                  }
                  const bool again = resumed || what == "again";
                  // {ok, n, epoch, writes, event} or {again, n, message, epoch, writes, event}
                  const size_t epoch_at = what == "again" ? 3 : 2;
                  SawWrites(ShardOf(input.room), *sequenced, epoch_at + 1);
                  if (what == "again") {
                    // Sequenced by an earlier try that failed part-way: finish delivering it.
                    absl::StatusOr<MessagePtr> stored =
                        sequenced->elements.size() > 2 ? MessageFromPairs(sequenced->elements[2])
                                                       : Unexpected("room_sequence", *sequenced);
                    if (!stored.ok()) {
                      record(message, stored.status(), false);
                      return;
                    }
                    message = *stored;
                  }
                  DeliverLine(
                      RoomLine{input.room, Word(*sequenced, epoch_at), Uint(*sequenced, 1),
                               MessageValues(*message), what == "ok" && Int(*sequenced, 5) == 1,
                               ShardsAt(*sequenced, 6)},
                      [message, again,
                       record = std::move(record)](absl::StatusOr<uint32_t> recipients) mutable {
                        record(message, std::move(recipients), again);
                      });
                });
           return;
         }
         // A direct message: the recipient's queue, then the sender's own copy; markers make a
         // retry with the same key append neither twice.
         const std::string key = input.idempotency_key;
         auto marker = [&](const std::string& owner) {
           return key.empty() ? std::string()
                              : absl::StrCat("pd:", owner, ":", input.sender, ":", key);
         };
         const std::string sender_marker = marker(input.sender);
         AppendToUser(input.to_user, marker(input.to_user), MessageValues(*message), now,
                      [this, input, sender_marker, now, message, resumed,
                       record = std::move(record)](absl::Status status) mutable {
                        if (!status.ok()) {
                          record(message, status, resumed);
                          return;
                        }
                        if (input.to_user == input.sender) {
                          record(message, 1u, resumed);
                          return;
                        }
                        AppendToUser(input.sender, sender_marker, MessageValues(*message), now,
                                     [message, resumed,
                                      record = std::move(record)](absl::Status status) mutable {
                                       if (!status.ok()) {
                                         record(message, status, resumed);
                                       } else {
                                         record(message, 2u, resumed);
                                       }
                                     });
                      });
       });
}

void RedisChatStore::Read(const ReadInput& input, size_t max_messages, absl::Time now,
                          Done<StoreRead> done) {
  const size_t shard = ShardOf(input.user);
  std::optional<StoreRead> known;
  {
    absl::ReaderMutexLock stop_lock(&stop_mu_);
    if (!stopped_) {
      // What the mirror knows is answered on this thread (below, with no lock held), with no
      // hand-off to the loop.
      known = mirrors_[shard]->Read(input, max_messages, now);
    }
    if (!stopped_ && !known.has_value()) {
      PendingRead read{input, max_messages, now, std::move(done)};
      bool first = false;
      {
        absl::MutexLock lock(&reads_mu_);
        first = pending_reads_[shard].empty();
        pending_reads_[shard].push_back(std::move(read));
      }
      // The reads that come meanwhile (the other polls one notification wakes) join this one.
      if (first) loop_.Post([this, shard] { FlushReads(shard); });
      return;
    }
  }
  if (known.has_value()) {
    std::move(done)(*std::move(known));
  } else {
    std::move(done)(absl::UnavailableError("the Redis store is stopped"));
  }
}

void RedisChatStore::FlushReads(size_t shard) {
  std::vector<PendingRead> reads;
  {
    absl::MutexLock lock(&reads_mu_);
    reads.swap(pending_reads_[shard]);
  }
  // What the mirror has learnt since these reads came needs no round trip; the rest go to
  // Redis together.
  QueueMirror& mirror = *mirrors_[shard];
  AnswerBatch answers;
  std::vector<PendingRead> to_redis;
  for (PendingRead& read : reads) {
    if (std::optional<StoreRead> known = mirror.Read(read.input, read.max_messages, read.now)) {
      std::move(read.done)(*std::move(known));
    } else {
      to_redis.push_back(std::move(read));
    }
  }
  const uint64_t generation = mirror.generation();
  for (size_t at = 0; at < to_redis.size(); at += kMaxReadsPerCall) {
    auto batch = std::make_shared<std::vector<PendingRead>>(
        std::make_move_iterator(to_redis.begin() + at),
        std::make_move_iterator(to_redis.begin() +
                                std::min(to_redis.size(), at + kMaxReadsPerCall)));
    std::vector<std::string> args = {"read_many", absl::StrCat(batch->size())};
    for (const PendingRead& read : *batch) AppendReadArgs(read, args);
    Call(shard, std::move(args), [this, shard, generation, batch](Reply reply) mutable {
      if (reply.ok() && reply->elements.size() != batch->size()) {
        reply = Unexpected("read_many", *reply);
      }
      AnswerBatch answers;
      for (size_t i = 0; i < batch->size(); ++i) {
        PendingRead& read = (*batch)[i];
        OnRead(shard, generation, read.input,
               reply.ok() ? Reply(std::move(reply->elements[i])) : reply.status(),
               std::move(read.done));
      }
    });
  }
}

void RedisChatStore::AppendReadArgs(const PendingRead& read, std::vector<std::string>& args) {
  const ReadInput& input = read.input;
  Append(args, {input.user, absl::StrCat(input.cursor), absl::StrCat(read.max_messages),
                input.consume ? "1" : "0", absl::StrCat(input.epoch), Ms(read.now),
                CandidateEpoch(), input.watch_presence ? "1" : "0"});
}

void RedisChatStore::OnRead(size_t shard, uint64_t generation, const ReadInput& input, Reply reply,
                            Done<StoreRead> done) {
  if (PassFailure(reply, done)) return;
  const std::string& what = Word(*reply, 0);
  if (what == "missing") {
    std::move(done)(NotConnected(input.user));
    return;
  }
  if (what == "beyond") {
    std::move(done)(CursorBeyondNewest(input.cursor, Uint(*reply, 1), Uint(*reply, 2)));
    return;
  }
  if (what != "ok" || reply->elements.size() < 11) {
    std::move(done)(Unexpected("read", *reply));
    return;
  }
  auto read = std::make_shared<StoreRead>();
  read->epoch = Uint(*reply, 1);
  read->epoch_changed = Int(*reply, 2) == 1;
  read->read.gap = Int(*reply, 3) == 1;
  read->read.missed = Int(*reply, 4);
  read->read.cursor = Int(*reply, 5);
  const bool went_online = Int(*reply, 6) == 1;
  read->rooms = Strings(reply->elements[7]);
  std::sort(read->rooms.begin(), read->rooms.end());
  for (const RedisReply& entry : reply->elements[8].elements) {
    if (entry.elements.size() != 2) continue;
    uint64_t seq = 0;
    absl::SimpleAtoi(entry.elements[0].str.substr(0, entry.elements[0].str.find('-')), &seq);
    absl::StatusOr<MessagePtr> message = MessageFromPairs(entry.elements[1]);
    if (PassFailure(message, done)) return;
    read->read.messages.push_back({seq, *std::move(message)});
  }
  // A read that found nothing, with the rooms it parks on: the mirror follows the queue from
  // here (a read that watches presence or consumes is always Redis's).
  if (read->read.messages.empty() && !read->epoch_changed && !read->read.gap && !input.consume &&
      !input.watch_presence) {
    mirrors_[shard]->Learn(generation, input.user, read->epoch, Uint(*reply, 9), read->rooms,
                           Uint(*reply, 10));
  }
  auto presence = [this, input, read, done = std::move(done)](absl::Status status) mutable {
    if (!status.ok()) {
      std::move(done)(status);
      return;
    }
    if (!input.watch_presence) {
      std::move(done)(std::move(*read));
      return;
    }
    PresenceOf(read->rooms, [input, read, done = std::move(done)](
                                absl::StatusOr<std::vector<RoomState>> states) mutable {
      if (PassFailure(states, done)) return;
      for (RoomState& state : *states) {
        auto known = input.presence_versions.find(state.info.room);
        const uint64_t version = known == input.presence_versions.end() ? 0 : known->second;
        if (state.published_version > version) read->presence_news = true;
        if (version != state.info.presence.version) {
          read->presence.push_back(std::move(state.info));
        }
      }
      std::move(done)(std::move(*read));
    });
  };
  if (went_online) {
    SetOnline(read->rooms, {input.user}, true, std::move(presence));
  } else {
    std::move(presence)(absl::OkStatus());
  }
}

void RedisChatStore::Join(absl::string_view user, absl::string_view room, absl::Time now,
                          Done<JoinResult> done) {
  JoinRoom(std::string(user), std::string(room), now, std::move(done));
}

void RedisChatStore::Leave(absl::string_view user, absl::string_view room, absl::Time now,
                           StatusDone done) {
  MessagePtr line = MakeLine(MessageKind::kLeave, room, user, now);
  std::vector<std::string> args = {"member_leave", std::string(user), std::string(room), Ms(now),
                                   absl::StrCat(chat_.queue_capacity)};
  Append(args, MessageValues(*line));
  const size_t shard = ShardOf(user);
  Call(shard, std::move(args),
       [this, shard, user = std::string(user), room = std::string(room), now,
        done = std::move(done)](Reply reply) mutable {
         if (PassFailure(reply, done)) return;
         const std::string& what = Word(*reply, 0);
         if (what == "missing") {
           std::move(done)(NotConnected(user));
           return;
         }
         if (what == "not_member") {
           std::move(done)(NotAMember(user, room));
           return;
         }
         if (what == "left") SawWrites(shard, *reply, 1);
         // "pending": an earlier try did the user's side; this one finishes the room's.
         FinishLeaves(user, {room}, now, std::move(done));
       });
}

void RedisChatStore::History(absl::string_view room, size_t limit,
                             Done<std::vector<MessagePtr>> done) {
  Call(ShardOf(room), {"history", std::string(room), absl::StrCat(limit)},
       [room = std::string(room), done = std::move(done)](Reply reply) mutable {
         if (PassFailure(reply, done)) return;
         if (Word(*reply, 0) == "no_room") {
           std::move(done)(NoSuchRoom(room));
           return;
         }
         std::vector<MessagePtr> messages;
         if (reply->elements.size() > 1) {
           for (const RedisReply& entry : reply->elements[1].elements) {
             if (entry.elements.size() != 2) continue;
             absl::StatusOr<MessagePtr> message = MessageFromPairs(entry.elements[1]);
             if (PassFailure(message, done)) return;
             messages.push_back(*std::move(message));
           }
         }
         std::reverse(messages.begin(), messages.end());  // oldest first
         std::move(done)(std::move(messages));
       });
}

void RedisChatStore::Members(absl::string_view room, const MembersQuery& query,
                             Done<MembersResult> done) {
  const size_t limit = query.limit == 0 ? kDefaultMembersPage : query.limit;
  Call(ShardOf(room),
       {"members", std::string(room), absl::StrCat(limit), query.after,
        query.online_only ? "1" : "0", query.prefix},
       [room = std::string(room), done = std::move(done)](Reply reply) mutable {
         if (PassFailure(reply, done)) return;
         if (Word(*reply, 0) == "no_room") {
           std::move(done)(NoSuchRoom(room));
           return;
         }
         if (reply->elements.size() < 8) {
           std::move(done)(Unexpected("members", *reply));
           return;
         }
         MembersResult result;
         result.page.next_after = Word(*reply, 1);
         const RedisReply& names = reply->elements[2];
         const RedisReply& online = reply->elements[3];
         for (size_t i = 0; i < names.elements.size(); ++i) {
           result.page.members.push_back({names.elements[i].str, Int(online, i) == 1});
         }
         result.presence.version = Int(*reply, 4);
         result.presence.members = Int(*reply, 5);
         result.presence.online = Int(*reply, 6);
         result.presence.mode = Int(*reply, 7) == 1 ? PresenceMode::kCounts : PresenceMode::kEvents;
         std::move(done)(std::move(result));
       });
}

void RedisChatStore::RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done) {
  Call(ShardOf(user), {"rooms_of", std::string(user)},
       [this, user = std::string(user), done = std::move(done)](Reply reply) mutable {
         if (PassFailure(reply, done)) return;
         if (Word(*reply, 0) == "missing") {
           std::move(done)(NotConnected(user));
           return;
         }
         PresenceOf(
             Strings(reply->elements[1]),
             [done = std::move(done)](absl::StatusOr<std::vector<RoomState>> states) mutable {
               if (PassFailure(states, done)) return;
               std::vector<RoomPresenceInfo> rooms;
               for (RoomState& state : *states) rooms.push_back(std::move(state.info));
               std::move(done)(std::move(rooms));
             });
       });
}

void RedisChatStore::Sweep(std::vector<std::string> parked, absl::Time now,
                           Done<SweepResult> done) {
  // First the polls parked here, and the reads the mirrors answered, count as activity, on
  // their users' shards: each user once, a parked one as of the sweep (its answers are
  // skipped; one given after `now` is counted at the next sweep, while the poll is parked).
  // Each shard is swept on its own: one full or out of reach stops only its own users'.
  std::vector<absl::flat_hash_set<std::string>> parked_by_shard(connections_.size());
  for (std::string& user : parked) {
    const size_t shard = ShardOf(user);
    parked_by_shard[shard].insert(std::move(user));
  }
  auto gather = Gather<ShardSwept>::Make(
      connections_.size(),
      [this, done = std::move(done)](absl::StatusOr<std::vector<ShardSwept>> shards) mutable {
        // Every step answers a value (its own status inside), so this is never a failure.
        SweepResult result;
        absl::Status first_failure;
        // Each room's version bumps once however many of its members went offline, on
        // whichever shards.
        absl::btree_map<std::string, std::vector<std::string>> offline_by_room;
        for (ShardSwept& shard : *shards) {
          if (first_failure.ok()) first_failure = shard.status;
          result.expired += shard.counts.expired;
          result.went_offline += shard.counts.went_offline;
          for (auto& [room, user] : shard.offline) offline_by_room[room].push_back(user);
        }
        auto all = AllOf(offline_by_room.size(), [result, first_failure, done = std::move(done)](
                                                     absl::Status status) mutable {
          if (first_failure.ok()) first_failure = status;
          if (!first_failure.ok()) {
            std::move(done)(first_failure);  // said, though the other shards' work is done
          } else {
            std::move(done)(result);
          }
        });
        size_t i = 0;
        for (auto& [room, users] : offline_by_room) {
          SetOnline({room}, users, false, AsStatusStep(all->Step(i++)));
        }
      });
  auto step_of = [gather](size_t shard) {
    return [step = gather->Step(shard)](absl::StatusOr<ShardSwept> swept) mutable {
      if (swept.ok()) {
        std::move(step)(*std::move(swept));
      } else {
        ShardSwept failed;
        failed.status = swept.status();
        std::move(step)(std::move(failed));
      }
    };
  };
  {
    absl::ReaderMutexLock stop_lock(&stop_mu_);
    if (!stopped_) {
      loop_.Post([this, now, step_of, parked_by_shard = std::move(parked_by_shard)]() mutable {
        const std::string now_ms = Ms(now);
        for (size_t shard = 0; shard < connections_.size(); ++shard) {
          const absl::flat_hash_set<std::string>& parked_here = parked_by_shard[shard];
          std::vector<std::string> args = {"touch"};
          args.reserve(1 + 2 * parked_here.size());
          for (const std::string& user : parked_here) {
            args.push_back(user);
            args.push_back(now_ms);
          }
          for (auto& [user, at] : mirrors_[shard]->TakeAnswered()) {
            if (parked_here.contains(user)) continue;
            args.push_back(std::move(user));
            args.push_back(Ms(at));
          }
          Call(shard, std::move(args),
               [this, shard, now, step = step_of(shard)](Reply touched) mutable {
                 if (PassFailure(touched, step)) return;
                 SweepShard(shard, now, std::move(step));
               });
        }
      });
      return;
    }
  }
  // Stopped: answered at once, on this thread (ChatStore::Stop).
  for (size_t shard = 0; shard < connections_.size(); ++shard) {
    step_of(shard)(absl::UnavailableError("the Redis store is stopped"));
  }
}

void RedisChatStore::SweepShard(size_t shard, absl::Time now, Done<ShardSwept> done) {
  Call(shard,
       {"sweep", Ms(now), Ms(chat_.presence_window), Ms(chat_.user_idle_expiry), Ms(kLeavingGrace)},
       [this, now, done = std::move(done)](Reply swept) mutable {
         if (PassFailure(swept, done)) return;
         if (swept->elements.size() < 5) {
           std::move(done)(Unexpected("sweep", *swept));
           return;
         }
         auto result = std::make_shared<ShardSwept>();
         const RedisReply& expired = swept->elements[0];
         const RedisReply& offline = swept->elements[1];
         const RedisReply& rooms = swept->elements[2];
         const RedisReply& leavers = swept->elements[3];
         const RedisReply& leaver_rooms = swept->elements[4];
         result->counts.expired = expired.elements.size();
         result->counts.went_offline = offline.elements.size();
         for (size_t i = 0; i < offline.elements.size() && i < rooms.elements.size(); ++i) {
           for (const RedisReply& room : rooms.elements[i].elements) {
             result->offline.emplace_back(room.str, offline.elements[i].str);
           }
         }
         auto all = AllOf(expired.elements.size() + leavers.elements.size(),
                          [result, done = std::move(done)](absl::Status status) mutable {
                            result->status = status;
                            std::move(done)(std::move(*result));
                          });
         size_t i = 0;
         for (const RedisReply& user : expired.elements) {
           // Only if still idle: the user may have come back since the shard listed it.
           RemoveUser(user.str, "", now, chat_.user_idle_expiry,
                      [step = all->Step(i++)](absl::Status status) mutable {
                        if (absl::IsNotFound(status)) status = absl::OkStatus();  // gone
                        AsStatusStep(std::move(step))(status);
                      });
         }
         for (size_t l = 0; l < leavers.elements.size(); ++l) {
           FinishLeaves(leavers.elements[l].str,
                        l < leaver_rooms.elements.size() ? Strings(leaver_rooms.elements[l])
                                                         : std::vector<std::string>{},
                        now, AsStatusStep(all->Step(i++)));
         }
       });
}

void RedisChatStore::PublishDuePresence(absl::Time now, StatusDone done) {
  auto gather = Gather<RedisReply>::Make(
      connections_.size(),
      [this, done = std::move(done)](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
        if (PassFailure(replies, done)) return;
        for (const RedisReply& reply : *replies) presence_notifies_ += Int(reply, 0);
        std::move(done)(absl::OkStatus());
      });
  for (size_t shard = 0; shard < connections_.size(); ++shard) {
    Call(shard,
         {"presence_due", Ms(now), Ms(chat_.presence_notify_interval),
          absl::StrCat(kPresenceWakeMembers)},
         [step = gather->Step(shard)](Reply reply) mutable { std::move(step)(std::move(reply)); });
  }
}

}  // namespace parley::broker::redis
