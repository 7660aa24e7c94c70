// RedisChatStore: the sweep (activity recorded, idle users removed, users gone quiet marked
// offline, leaves pending finished), per shard, and the presence publishes it is paired with.
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "broker/core/chat_rules.h"
#include "broker/store/redis/redis_chat_store.h"
#include "broker/store/redis/store_steps.h"

namespace parley::broker::redis {
namespace {

// A leave pending this long failed part-way (one in progress takes a few round trips): the
// sweep finishes it.
constexpr absl::Duration kLeavingGrace = absl::Seconds(10);

}  // namespace

using steps::AllOf;
using steps::AsStatusStep;
using steps::Gather;
using steps::Ms;
using steps::PassFailure;

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
          CallForStatus(shard, std::move(args),
                        [this, shard, now, step = step_of(shard)](absl::Status touched) mutable {
                          if (!touched.ok()) {
                            std::move(step)(touched);
                            return;
                          }
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
  Call<SweepReply>(
      shard,
      {"sweep", Ms(now), Ms(chat_.presence_window), Ms(chat_.user_idle_expiry), Ms(kLeavingGrace)},
      ParseSweep, [this, now, done = std::move(done)](absl::StatusOr<SweepReply> swept) mutable {
        if (PassFailure(swept, done)) return;
        auto result = std::make_shared<ShardSwept>();
        result->counts.expired = swept->expired.size();
        result->counts.went_offline = swept->offline.size();
        for (size_t i = 0; i < swept->offline.size(); ++i) {
          for (const std::string& room : swept->offline_rooms[i]) {
            result->offline.emplace_back(room, swept->offline[i]);
          }
        }
        auto all = AllOf(swept->expired.size() + swept->leaving.size(),
                         [result, done = std::move(done)](absl::Status status) mutable {
                           result->status = status;
                           std::move(done)(std::move(*result));
                         });
        size_t i = 0;
        for (const std::string& user : swept->expired) {
          // Only if still idle: the user may have come back since the shard listed it.
          RemoveUser(user, "", now, chat_.user_idle_expiry,
                     [step = all->Step(i++)](absl::Status status) mutable {
                       if (absl::IsNotFound(status)) status = absl::OkStatus();  // gone
                       AsStatusStep(std::move(step))(status);
                     });
        }
        for (size_t l = 0; l < swept->leaving.size(); ++l) {
          FinishLeaves(swept->leaving[l], std::move(swept->leaving_rooms[l]), now,
                       AsStatusStep(all->Step(i++)));
        }
      });
}

void RedisChatStore::PublishDuePresence(absl::Time now, StatusDone done) {
  auto gather = Gather<uint64_t>::Make(
      connections_.size(),
      [this, done = std::move(done)](absl::StatusOr<std::vector<uint64_t>> published) mutable {
        if (PassFailure(published, done)) return;
        for (uint64_t count : *published) presence_notifies_ += count;
        std::move(done)(absl::OkStatus());
      });
  for (size_t shard = 0; shard < connections_.size(); ++shard) {
    PublishDuePresenceOn(shard, now, gather->Step(shard));
  }
}

void RedisChatStore::PublishDuePresenceOn(size_t shard, absl::Time now, Done<uint64_t> done) {
  // Which changed rooms are due is the broker's rule (PresenceDue); publishing a room a little
  // later than due, or one that changed again meanwhile, is harmless: no atomicity is needed
  // between the two calls.
  Call<std::vector<ChangedPresence>>(
      shard, {"presence_changed_rooms"}, ParsePresenceChangedRooms,
      [this, shard, now,
       done = std::move(done)](absl::StatusOr<std::vector<ChangedPresence>> changed) mutable {
        if (PassFailure(changed, done)) return;
        std::vector<std::string> args = {"presence_publish", Ms(now)};
        for (const ChangedPresence& room : *changed) {
          if (PresenceDue(room.published_at, room.members, now, chat_)) args.push_back(room.room);
        }
        if (args.size() == 2) {
          std::move(done)(0u);
          return;
        }
        Call<uint64_t>(shard, std::move(args), ParsePresencePublish, std::move(done));
      });
}

}  // namespace parley::broker::redis
