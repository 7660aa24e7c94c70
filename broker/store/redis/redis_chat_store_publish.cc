// RedisChatStore: publish and delivery (a room line to every member shard, in room order; a
// direct message to its two queues), with the idempotency key's one answer.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_errors.h"
#include "broker/store/redis/redis_chat_store.h"
#include "broker/store/redis/store_steps.h"
#include "broker/store/redis/stored_message.h"

namespace parley::broker::redis {
namespace {

constexpr int kDeliverAttempts = 3;

}  // namespace

using steps::Append;
using steps::Gather;
using steps::Ms;
using steps::PassFailure;

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
  check_args.push_back(input.system ? "1" : "0");  // a system sender: no user, no rate
  check_args.push_back(input.sender_session);
  Call<PublishCheckReply>(
      ShardOf(input.sender), std::move(check_args), ParsePublishCheck,
      [this, request, now,
       done = std::move(done)](absl::StatusOr<PublishCheckReply> check) mutable {
        if (PassFailure(check, done)) return;
        StorePublish answer;
        switch (check->outcome) {
          case PublishCheckReply::Outcome::kMissing:
            std::move(done)(NotConnected(request.input.sender));
            return;
          case PublishCheckReply::Outcome::kNotHolder:
            std::move(done)(NotTheHolder(request.input.sender));
            return;
          case PublishCheckReply::Outcome::kDuplicate:
            answer.result = PublishResult{check->message, check->recipients, true};
            std::move(done)(std::move(answer));
            return;
          case PublishCheckReply::Outcome::kLimited:
            answer.limited_for = check->limited_for;
            std::move(done)(std::move(answer));
            return;
          case PublishCheckReply::Outcome::kResume:
            // Another try of this key holds it: this one delivers that try's message, as a
            // retry would (a page's retry racing its slow first try on another broker).
            PublishChecked(request, check->message, true, now, std::move(done));
            return;
          case PublishCheckReply::Outcome::kOk:
            PublishChecked(request, request.message, false, now, std::move(done));
            return;
        }
      });
}

void RedisChatStore::PublishChecked(const PublishRequest& request, MessagePtr message, bool resumed,
                                    absl::Time now, Done<StorePublish> done) {
  const PublishInput& input = request.input;
  // Stored: the first answer to the key is recorded once every recipient has it.
  auto record = [this, input, now, done = std::move(done)](
                    MessagePtr message, absl::StatusOr<uint32_t> recipients, bool again) mutable {
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
    CallForStatus(
        ShardOf(input.sender), std::move(args),
        [answer = std::move(answer), done = std::move(done)](absl::Status status) mutable {
          if (!status.ok()) {
            std::move(done)(status);
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
    args.push_back(input.system ? "1" : "0");  // a system sender need not be a member
    Call<RoomSequenceReply>(
        ShardOf(input.room), std::move(args), ParseRoomSequence,
        [this, input, message, resumed,
         record = std::move(record)](absl::StatusOr<RoomSequenceReply> sequenced) mutable {
          if (!sequenced.ok()) {
            record(message, sequenced.status(), false);
            return;
          }
          switch (sequenced->outcome) {
            case RoomSequenceReply::Outcome::kNoRoom:
              record(message, NoSuchRoom(input.room), false);
              return;
            case RoomSequenceReply::Outcome::kNotMember:
              record(message, NotAMember(input.sender, input.room), false);
              return;
            case RoomSequenceReply::Outcome::kAgain:
              // Sequenced by an earlier try that failed part-way: finish delivering it.
              message = sequenced->message;
              break;
            case RoomSequenceReply::Outcome::kOk:
              break;
          }
          SawWrites(ShardOf(input.room), sequenced->writes);
          const bool again = resumed || sequenced->outcome == RoomSequenceReply::Outcome::kAgain;
          DeliverLine(RoomLine{input.room, std::move(sequenced->line), MessageValues(*message),
                               sequenced->renumbered},
                      [message, again,
                       record = std::move(record)](absl::StatusOr<uint32_t> recipients) mutable {
                        record(message, std::move(recipients), again);
                      });
        });
    return;
  }
  // A direct message: the recipient's queue, then the sender's own copy; with a key, a retry
  // appends neither twice.
  // Kept for the recipient's session when it is not connected (hold_for_session): then the
  // sender's copy is the only queue so far, and the answer counts none.
  AppendToUser(input.to_user, input.sender, input.idempotency_key, MessageValues(*message), now,
               DirectCall{input.hold_for_session, input.to_holder, !input.system},
               [this, input, now, message, resumed,
                record = std::move(record)](absl::StatusOr<UserAppendReply> to) mutable {
                 if (!to.ok()) {
                   record(message, to.status(), resumed);
                   return;
                 }
                 // The sender's copy and the answer say who it went to, as the recipient's
                 // does (an earlier try's append, `again`, does not say: left as it was).
                 if (!to->holder.empty()) {
                   auto stamped = std::make_shared<Message>(*message);
                   stamped->to_holder = std::move(to->holder);
                   message = std::move(stamped);
                 }
                 const uint32_t delivered = to->held ? 0u : 1u;
                 if (input.to_user == input.sender || input.system) {
                   record(message, delivered, resumed);
                   return;
                 }
                 AppendToUser(input.sender, input.sender, input.idempotency_key,
                              MessageValues(*message), now, DirectCall{},
                              [message, resumed, delivered, record = std::move(record)](
                                  absl::StatusOr<UserAppendReply> own) mutable {
                                if (!own.ok()) {
                                  record(message, own.status(), resumed);
                                } else {
                                  record(message, delivered == 0 ? 0u : 2u, resumed);
                                }
                              });
               });
}

std::vector<std::string> RedisChatStore::DeliverArgs(const RoomLine& line,
                                                     const std::string& lost_to,
                                                     size_t count) const {
  // deliver(room, capacity, epoch, lost_to, renumbered, count, then count × (n, message...))
  return {"deliver",          line.room, absl::StrCat(chat_.queue_capacity),
          line.number.epoch,  lost_to,   line.renumbered ? "1" : "0",
          absl::StrCat(count)};
}

void RedisChatStore::DeliverLine(RoomLine line, Done<uint32_t> done) {
  // Only the shards with members (a shard out of reach holds up only its own members' rooms).
  std::vector<size_t> shards = std::move(line.number.shards);
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
  std::vector<std::string> args = DeliverArgs(*line, "", 1);
  args.push_back(absl::StrCat(line->number.n));
  Append(args, line->values);
  Call<DeliverReply>(
      shard, std::move(args), ParseDeliver,
      [this, shard, line, attempts,
       done = std::move(done)](absl::StatusOr<DeliverReply> delivered) mutable {
        if (PassFailure(delivered, done)) return;
        switch (delivered->outcome) {
          case DeliverReply::Outcome::kOk:
            SawWrites(shard, delivered->writes);
            std::move(done)(delivered->recipients);
            return;
          case DeliverReply::Outcome::kReused:
            // The room's shard gave a number twice: it lost writes no broker's count showed.
            // Fenced, the room's lines are numbered in a new epoch; this publish fails, and its
            // retry (same idempotency key) is sequenced in the new epoch.
            CallForStatus(ShardOf(line->room), {"fence_shard"},
                          [room = line->room, done = std::move(done)](absl::Status) mutable {
                            std::move(done)(absl::UnavailableError(
                                absl::StrCat("the shard of room '", room,
                                             "' lost writes; its lines are numbered anew: retry")));
                          });
            return;
          case DeliverReply::Outcome::kBehind:
            break;
        }
        if (attempts <= 1) {
          std::move(done)(absl::InternalError(absl::StrCat(
              "room '", line->room, "' stays behind on shard ", shard, " after retries")));
          return;
        }
        // An earlier line of the room has not reached this shard yet (its publisher is slow,
        // or failed part-way): deliver the lines in between from the room's log first.
        const uint64_t applied = delivered->applied;
        Call<std::vector<SequencedMessage>>(
            ShardOf(line->room),
            {"room_log", line->room, line->number.epoch, absl::StrCat(applied + 1),
             absl::StrCat(line->number.n - 1)},
            ParseRoomLog,
            [this, shard, line, applied, attempts,
             done = std::move(done)](absl::StatusOr<std::vector<SequencedMessage>> logged) mutable {
              if (PassFailure(logged, done)) return;
              CatchUpOnShard(shard, line, applied, *std::move(logged), attempts, std::move(done));
            });
      });
}

void RedisChatStore::CatchUpOnShard(size_t shard, std::shared_ptr<const RoomLine> line,
                                    uint64_t applied, std::vector<SequencedMessage> logged,
                                    int attempts, Done<uint32_t> done) {
  std::vector<std::string> lines;
  for (const SequencedMessage& entry : logged) {
    lines.push_back(absl::StrCat(entry.seq));
    Append(lines, MessageValues(*entry.message));
  }
  // Lines the log no longer has (this shard was further behind than --room_log, or the
  // room's epoch moved on): skipped, and the shard's members see the gap.
  std::string lost_to;
  if (logged.empty()) {
    lost_to = absl::StrCat(line->number.n - 1);
  } else if (logged.front().seq > applied + 1) {
    lost_to = absl::StrCat(logged.front().seq - 1);
  }
  std::vector<std::string> args = DeliverArgs(*line, lost_to, logged.size() + 1);
  Append(args, std::move(lines));
  args.push_back(absl::StrCat(line->number.n));
  Append(args, line->values);
  Call<DeliverReply>(shard, std::move(args), ParseDeliver,
                     [this, shard, line, attempts,
                      done = std::move(done)](absl::StatusOr<DeliverReply> delivered) mutable {
                       if (PassFailure(delivered, done)) return;
                       if (delivered->outcome != DeliverReply::Outcome::kOk) {
                         // Behind again, or reused: from the top.
                         DeliverOnShard(shard, line, attempts - 1, std::move(done));
                         return;
                       }
                       SawWrites(shard, delivered->writes);
                       std::move(done)(delivered->recipients);
                     });
}

void RedisChatStore::AppendToUser(const std::string& user, const std::string& sender,
                                  const std::string& key, std::vector<std::string> values,
                                  absl::Time now, const DirectCall& direct,
                                  Done<UserAppendReply> done) {
  std::vector<std::string> args = {
      "user_append", user,    absl::StrCat(chat_.queue_capacity), sender,
      key,           Ms(now), Ms(chat_.idempotency_window)};
  Append(args, std::move(values));
  args.push_back(direct.hold_for);
  args.push_back(Ms(chat_.offline_dm_ttl));
  args.push_back(direct.to_holder);
  args.push_back(direct.stamp ? "1" : "0");
  const size_t shard = ShardOf(user);
  Call<UserAppendReply>(shard, std::move(args), ParseUserAppend,
                        [this, shard, user,
                         done = std::move(done)](absl::StatusOr<UserAppendReply> appended) mutable {
                          if (PassFailure(appended, done)) return;
                          switch (appended->outcome) {
                            case UserAppendReply::Outcome::kMissing:
                              std::move(done)(NotConnected(user));
                              return;
                            case UserAppendReply::Outcome::kOtherHolder:
                              std::move(done)(HolderChanged(user));
                              return;
                            case UserAppendReply::Outcome::kAppended:
                            case UserAppendReply::Outcome::kHeld:
                              SawWrites(shard, appended->writes);
                              break;
                            case UserAppendReply::Outcome::kAgain:
                              break;
                          }
                          std::move(done)(*std::move(appended));
                        });
}

}  // namespace parley::broker::redis
