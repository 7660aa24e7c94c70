// RedisChatStore: sessions and membership (Connect, Disconnect, Join, Leave and what they
// leave pending), and the rooms' presence as reads see it.
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/core/chat_errors.h"
#include "broker/core/chat_rules.h"
#include "broker/store/redis/redis_chat_store.h"
#include "broker/store/redis/store_steps.h"
#include "broker/store/redis/stored_message.h"

namespace parley::broker::redis {
namespace {

// Claims that find the name's holder changed between the look and the replacement (each
// time a new holder, itself idle past expiry) before the name is answered as held.
constexpr int kClaimAttempts = 3;

}  // namespace

using steps::AllOf;
using steps::Append;
using steps::AsStatusStep;
using steps::Gather;
using steps::Ms;
using steps::OrMissing;
using steps::PassFailure;

void RedisChatStore::Connect(const ConnectRequest& request, absl::Time now,
                             Done<ConnectResult> done) {
  const std::string started =
      request.session_started == absl::InfinitePast() ? "0" : Ms(request.session_started);
  Call<SessionState>(
      ShardOf(request.session), {"ended_check", request.session, Ms(now), started}, ParseEndedCheck,
      [this, request, now, done = std::move(done)](absl::StatusOr<SessionState> session) mutable {
        if (PassFailure(session, done)) return;
        switch (*session) {
          case SessionState::kEnded:
            std::move(done)(SessionLoggedOut());
            return;
          case SessionState::kMayBeEnded:
            std::move(done)(SessionMayBeLoggedOut());
            return;
          case SessionState::kOpen:
            Claim(request, now, "", "", kClaimAttempts, std::move(done));
            return;
        }
      });
}

void RedisChatStore::Claim(const ConnectRequest& request, absl::Time now,
                           std::string replace_session, std::string replace_active, int attempts,
                           Done<ConnectResult> done) {
  Call<ClaimReply>(
      ShardOf(request.user),
      {"claim", request.user, request.session, absl::StrCat(request.new_epoch), Ms(now),
       request.may_create ? "1" : "0", absl::StrCat(chat_.publish_burst),
       std::move(replace_session), std::move(replace_active),
       request.session_started == absl::InfinitePast() ? "0" : Ms(request.session_started),
       absl::StrCat(chat_.queue_capacity)},
      ParseClaim,
      [this, request, now, attempts,
       done = std::move(done)](absl::StatusOr<ClaimReply> claim) mutable {
        if (PassFailure(claim, done)) return;
        switch (claim->outcome) {
          case ClaimReply::Outcome::kHeld:
            if (attempts <= 1 ||
                HolderKeepsName(request.holder_parked, claim->holder_active, now, chat_)) {
              std::move(done)(NameHeld(request.user));
            } else {
              // Idle past expiry, not yet swept: replaced, if it is still that holder.
              Claim(request, now, std::move(claim->holder), std::move(claim->holder_active_ms),
                    attempts - 1, std::move(done));
            }
            return;
          case ClaimReply::Outcome::kDraining:
            std::move(done)(BrokerDraining());
            return;
          case ClaimReply::Outcome::kRevoked:
            std::move(done)(SessionRevoked());
            return;
          case ClaimReply::Outcome::kResumed:
          case ClaimReply::Outcome::kCreated:
            FinishConnect(request, *std::move(claim), now, std::move(done));
            return;
        }
      });
}

void RedisChatStore::FinishConnect(const ConnectRequest& request, ClaimReply claim, absl::Time now,
                                   Done<ConnectResult> done) {
  const bool created = claim.outcome == ClaimReply::Outcome::kCreated;
  // What is left to do: leaves pending (a replaced holder's rooms, or a leave that failed
  // part-way), then the lobby (joining again is a no-op, and finishes a join that failed
  // part-way), then the kept rooms a new user may enter, then a resumed user back online
  // in its rooms; the answer.
  auto answer = [this, user = request.user, created,
                 done = std::move(done)](absl::Status status) mutable {
    if (!status.ok()) {
      std::move(done)(status);
      return;
    }
    AnswerConnect(user, created, std::move(done));
  };
  auto online = [this, user = request.user, rooms = std::move(claim.rooms),
                 went_online = !created && claim.went_online,
                 answer = std::move(answer)](absl::Status status) mutable {
    if (!status.ok() || !went_online) {
      std::move(answer)(status);
      return;
    }
    SetOnline(rooms, {user}, true, std::move(answer));
  };
  // A new user also enters the kept rooms the server API let them into while away (a
  // resumed one too, when the Connect that created it failed before it had).
  auto join_allowed = [this, user = request.user, session = request.session, now,
                       admit = std::move(claim.admit),
                       online = std::move(online)](absl::Status status) mutable {
    if (!status.ok() || admit.empty()) {
      std::move(online)(status);
      return;
    }
    JoinAllowed(user, session, std::move(admit), now, std::move(online));
  };
  auto join_lobby = [this, user = request.user, now,
                     join_allowed = std::move(join_allowed)](absl::Status status) mutable {
    if (!status.ok()) {
      std::move(join_allowed)(status);
      return;
    }
    JoinRoom(user, std::string(kLobby), now,
             [join_allowed = std::move(join_allowed)](absl::StatusOr<JoinResult> joined) mutable {
               std::move(join_allowed)(joined.status());
             });
  };
  FinishLeaves(request.user, std::move(claim.pending), now, std::move(join_lobby));
}

void RedisChatStore::AnswerConnect(const std::string& user, bool created,
                                   Done<ConnectResult> done) {
  Call<std::optional<UserInfoReply>>(
      ShardOf(user), {"user_info", user, CandidateEpoch()}, ParseUserInfo,
      [this, user, created,
       done = std::move(done)](absl::StatusOr<std::optional<UserInfoReply>> info) mutable {
        if (PassFailure(info, done)) return;
        if (!info->has_value()) {
          std::move(done)(NotConnected(user));
          return;
        }
        ConnectResult result;
        result.created = created;
        result.epoch = (*info)->epoch;
        result.cursor = (*info)->seq;
        PresenceOf(std::move((*info)->rooms),
                   [result = std::move(result),
                    done = std::move(done)](absl::StatusOr<std::vector<RoomState>> states) mutable {
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
  const size_t shard = ShardOf(session);
  Call<ShardWrites>(shard,
                    {"ended_record", std::string(session), Ms(now), Ms(chat_.ended_session_memory)},
                    ParseEndedRecord,
                    [this, shard, user = std::string(user), session = std::string(session), now,
                     done = std::move(done)](absl::StatusOr<ShardWrites> recorded) mutable {
                      if (PassFailure(recorded, done)) return;
                      SawWrites(shard, *recorded);
                      RemoveUser(user, session, now, std::nullopt, std::move(done));
                    });
}

void RedisChatStore::RemoveUser(const std::string& user, const std::string& session, absl::Time now,
                                std::optional<absl::Duration> idle_for, StatusDone done) {
  Call<UserRemoveReply>(
      ShardOf(user),
      {"user_remove", user, session, Ms(now), idle_for.has_value() ? Ms(*idle_for) : ""},
      ParseUserRemove,
      [this, user, now, done = std::move(done)](absl::StatusOr<UserRemoveReply> removed) mutable {
        if (PassFailure(removed, done)) return;
        absl::Status answer = absl::OkStatus();
        if (removed->outcome == UserRemoveReply::Outcome::kMissing) answer = NotConnected(user);
        if (removed->outcome == UserRemoveReply::Outcome::kDenied) {
          answer = SessionDoesNotHold(user);
        }
        FinishLeaves(user, std::move(removed->pending), now,
                     [answer, done = std::move(done)](absl::Status status) mutable {
                       std::move(done)(status.ok() ? answer : status);
                     });
      });
}

void RedisChatStore::Join(absl::string_view user, absl::string_view room, bool granted,
                          absl::Time now, Done<JoinResult> done) {
  // The room's access first (granted: the user goes on its list). A CreateRoom of this name
  // between the check and the join would let the user in: the one round trip is the window.
  Call<bool>(ShardOf(room),
             {"room_access", std::string(room), std::string(user), granted ? "1" : "0"},
             ParseRoomAccess,
             [this, user = std::string(user), room = std::string(room), now,
              done = std::move(done)](absl::StatusOr<bool> admitted) mutable {
               if (PassFailure(admitted, done)) return;
               if (!*admitted) {
                 std::move(done)(NoRoomToJoin(room));
                 return;
               }
               JoinRoom(user, room, now, std::move(done));
             });
}

void RedisChatStore::JoinRoom(const std::string& user, const std::string& room, absl::Time now,
                              Done<JoinResult> done) {
  // The user's side first: a line delivered from now on reaches the joiner, its JOIN included.
  Call<std::optional<bool>>(
      ShardOf(user), {"member_add", user, room}, ParseMemberAdd,
      [this, user, room, now,
       done = std::move(done)](absl::StatusOr<std::optional<bool>> online) mutable {
        if (PassFailure(online, done)) return;
        if (!online->has_value()) {
          std::move(done)(NotConnected(user));
          return;
        }
        MessagePtr line = MakeLine(MessageKind::kJoin, room, user, now);
        std::vector<std::string> values = MessageValues(*line);
        std::vector<std::string> args = {"room_join",
                                         room,
                                         user,
                                         **online ? "1" : "0",
                                         absl::StrCat(chat_.presence_events_max_members),
                                         absl::StrCat(options_.room_log)};
        Append(args, values);
        args.push_back(absl::StrCat(ShardOf(user)));
        Call<RoomJoinReply>(
            ShardOf(room), std::move(args), ParseRoomJoin,
            [this, user, room, now, values = std::move(values),
             done = std::move(done)](absl::StatusOr<RoomJoinReply> joined) mutable {
              if (PassFailure(joined, done)) return;
              JoinResult result;
              result.joined = joined->joined;
              result.created = joined->created;
              result.presence = joined->presence;
              if (!result.joined) {
                std::move(done)(result);
                return;
              }
              SawWrites(ShardOf(room), joined->writes);
              auto answer = [result, done = std::move(done)](absl::Status status) mutable {
                if (!status.ok()) {
                  std::move(done)(status);
                } else {
                  std::move(done)(result);
                }
              };
              if (joined->line.n > 0) {
                DeliverLine(RoomLine{room, std::move(joined->line), std::move(values), false},
                            [answer = std::move(answer)](absl::StatusOr<uint32_t> sent) mutable {
                              std::move(answer)(sent.status());
                            });
              } else {
                // A large room: only the user's own queue, so their other tabs learn of it.
                AppendToUser(
                    user, "", "", std::move(values), now, DirectCall{},
                    [answer = std::move(answer)](absl::StatusOr<UserAppendReply> appended) mutable {
                      std::move(answer)(appended.status());
                    });
              }
            });
      });
}

void RedisChatStore::Leave(absl::string_view user, absl::string_view room, absl::Time now,
                           StatusDone done) {
  MessagePtr line = MakeLine(MessageKind::kLeave, room, user, now);
  std::vector<std::string> args = {"member_leave", std::string(user), std::string(room), Ms(now),
                                   absl::StrCat(chat_.queue_capacity)};
  Append(args, MessageValues(*line));
  args.push_back(Ms(chat_.idempotency_window));
  const size_t shard = ShardOf(user);
  Call<MemberLeaveReply>(
      shard, std::move(args), ParseMemberLeave,
      [this, shard, user = std::string(user), room = std::string(room), now,
       done = std::move(done)](absl::StatusOr<MemberLeaveReply> left) mutable {
        if (PassFailure(left, done)) return;
        switch (left->outcome) {
          case MemberLeaveReply::Outcome::kMissing:
            std::move(done)(NotConnected(user));
            return;
          case MemberLeaveReply::Outcome::kNotMember:
            std::move(done)(NotAMember(user, room));
            return;
          case MemberLeaveReply::Outcome::kDone:
            std::move(done)(absl::OkStatus());
            return;
          case MemberLeaveReply::Outcome::kLeft:
            SawWrites(shard, left->writes);
            break;
          case MemberLeaveReply::Outcome::kPending:
            break;  // an earlier try did the user's side; this one finishes the room's
        }
        FinishLeaves(user, {room}, now, std::move(done));
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
        CallForStatus(ShardOf(user), std::move(args), std::move(done));
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
  Call<RoomLeaveReply>(ShardOf(room), std::move(args), ParseRoomLeave,
                       [this, room, values = std::move(values),
                        done = std::move(done)](absl::StatusOr<RoomLeaveReply> left) mutable {
                         if (PassFailure(left, done)) return;
                         // Not a member: an earlier try did this side already.
                         if (left->left) SawWrites(ShardOf(room), left->writes);
                         if (!left->left || left->line.n == 0) {
                           // Nothing to deliver (a large room: the leaver alone had its LEAVE).
                           std::move(done)(absl::OkStatus());
                           return;
                         }
                         // Should the delivery fail, the line is in the room's log: the room's next
                         // line brings every shard up to date first (DeliverOnShard).
                         DeliverLine(
                             RoomLine{room, std::move(left->line), std::move(values), false},
                             [done = std::move(done)](absl::StatusOr<uint32_t> sent) mutable {
                               std::move(done)(sent.status());
                             });
                       });
}

void RedisChatStore::History(absl::string_view room, absl::string_view reader,
                             const HistoryQuery& query, Done<HistoryPage> done) {
  // Positions here are the history stream's entry ids ("ms-seq"); a bare number is another
  // store's, which XREVRANGE would read as a time.
  const std::vector<absl::string_view> parts = absl::StrSplit(query.before, '-');
  uint64_t unused = 0;
  if (!query.before.empty() && (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &unused) ||
                                !absl::SimpleAtoi(parts[1], &unused))) {
    std::move(done)(absl::InvalidArgumentError(
        "before is not a position this broker's history uses (from another store?)"));
    return;
  }
  Call<std::optional<HistoryPage>>(
      ShardOf(room),
      {"history", std::string(room), absl::StrCat(query.limit), std::string(reader), query.before},
      ParseHistory, OrMissing(NoSuchRoom(room), std::move(done)));
}

void RedisChatStore::Members(absl::string_view room, absl::string_view reader,
                             const MembersQuery& query, Done<MembersResult> done) {
  const size_t limit = query.limit == 0 ? kDefaultMembersPage : query.limit;
  Call<std::optional<MembersResult>>(
      ShardOf(room),
      {"members", std::string(room), absl::StrCat(limit), query.after,
       query.online_only ? "1" : "0", query.prefix, std::string(reader)},
      ParseMembers, OrMissing(NoSuchRoom(room), std::move(done)));
}

void RedisChatStore::RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done) {
  Call<std::optional<std::vector<std::string>>>(
      ShardOf(user), {"rooms_of", std::string(user)}, ParseRoomsOf,
      [this, user = std::string(user), done = std::move(done)](
          absl::StatusOr<std::optional<std::vector<std::string>>> rooms) mutable {
        if (PassFailure(rooms, done)) return;
        if (!rooms->has_value()) {
          std::move(done)(NotConnected(user));
          return;
        }
        PresenceOf(std::move(**rooms),
                   [done = std::move(done)](absl::StatusOr<std::vector<RoomState>> states) mutable {
                     if (PassFailure(states, done)) return;
                     std::vector<RoomPresenceInfo> out;
                     for (RoomState& state : *states) out.push_back(std::move(state.info));
                     std::move(done)(std::move(out));
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
    CallForStatus(ShardOf(rooms[i]), std::move(args), AsStatusStep(all->Step(i)));
  }
}

void RedisChatStore::PresenceOf(std::vector<std::string> rooms, Done<std::vector<RoomState>> done) {
  std::sort(rooms.begin(), rooms.end());
  // One call per shard, with that shard's rooms.
  absl::btree_map<size_t, std::vector<std::string>> by_shard;
  for (const std::string& room : rooms) by_shard[ShardOf(room)].push_back(room);
  auto shard_rooms = std::make_shared<std::vector<std::vector<std::string>>>();
  for (auto& [shard, names] : by_shard) shard_rooms->push_back(names);
  using Rows = std::vector<std::optional<RoomPresenceRow>>;
  auto gather = Gather<Rows>::Make(
      by_shard.size(),
      [shard_rooms, done = std::move(done)](absl::StatusOr<std::vector<Rows>> shards) mutable {
        if (PassFailure(shards, done)) return;
        std::vector<RoomState> states;
        for (size_t s = 0; s < shards->size(); ++s) {
          const Rows& rows = (*shards)[s];
          const std::vector<std::string>& names = (*shard_rooms)[s];
          for (size_t i = 0; i < names.size() && i < rows.size(); ++i) {
            if (!rows[i].has_value()) continue;  // gone meanwhile
            RoomState state;
            state.info.room = names[i];
            state.info.presence = rows[i]->presence;
            state.published_version = rows[i]->published_version;
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
    Call<Rows>(shard, std::move(args), ParseRoomsPresence, gather->Step(i++));
  }
}

}  // namespace parley::broker::redis
