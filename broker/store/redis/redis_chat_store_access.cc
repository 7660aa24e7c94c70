// RedisChatStore: room access for the server API (kept and private rooms, their access
// lists, the kept rooms each user may enter) and ending a user's sessions.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_errors.h"
#include "broker/store/redis/redis_chat_store.h"
#include "broker/store/redis/store_steps.h"

namespace parley::broker::redis {

using steps::Gather;
using steps::Ms;
using steps::PassFailure;

void RedisChatStore::ChangeAccess(const std::string& room, const std::string& user, bool add,
                                  Done<bool> done, absl::AnyInvocable<void(Done<bool>)> then) {
  // The room's list, then the user's: a crash between leaves the user on (or off) the room's
  // list but not the user's, which only decides whether they join at their next Connect; the
  // operation is idempotent, so the app's retry finishes it.
  Call<bool>(ShardOf(room), {"access_change", room, user, add ? "1" : "0"}, ParseAccessChange,
             [this, room, user, add, done = std::move(done),
              then = std::move(then)](absl::StatusOr<bool> found) mutable {
               if (PassFailure(found, done)) return;
               if (!*found) {
                 std::move(done)(NoSuchRoom(room));
                 return;
               }
               Call<bool>(ShardOf(user), {"allowed_change", user, room, add ? "1" : "0"},
                          ParseAllowedChange,
                          [done = std::move(done),
                           then = std::move(then)](absl::StatusOr<bool> connected) mutable {
                            if (PassFailure(connected, done)) return;
                            if (!*connected) {
                              std::move(done)(false);
                              return;
                            }
                            std::move(then)(std::move(done));
                          });
             });
}

void RedisChatStore::CreateRoom(const RoomSpec& spec, absl::Time now, Done<CreateRoomResult> done) {
  std::vector<std::string> args = {"room_create", spec.name, spec.is_private ? "1" : "0"};
  args.insert(args.end(), spec.members.begin(), spec.members.end());
  // The room with its access list first (one script); then each member's own list and, for
  // those connected, the join. A crash part-way leaves the room and its list whole (every
  // member may join it) and the later members not yet joined nor remembered for their next
  // Connect; adding them again (AddMember) finishes it.
  Call<std::optional<PresenceSnapshot>>(
      ShardOf(spec.name), std::move(args), ParseRoomCreate,
      [this, spec, now,
       done = std::move(done)](absl::StatusOr<std::optional<PresenceSnapshot>> made) mutable {
        if (PassFailure(made, done)) return;
        if (!made->has_value()) {
          std::move(done)(absl::AlreadyExistsError(absl::StrCat("room '", spec.name, "' exists")));
          return;
        }
        auto joined = std::make_shared<std::vector<std::string>>();
        AllowEach(spec.name, spec.members, 0, joined, now,
                  [this, spec, joined, done = std::move(done)](absl::Status status) mutable {
                    if (!status.ok()) {
                      std::move(done)(status);
                      return;
                    }
                    PresenceOf({spec.name},
                               [spec, joined, done = std::move(done)](
                                   absl::StatusOr<std::vector<RoomState>> states) mutable {
                                 if (PassFailure(states, done)) return;
                                 CreateRoomResult result;
                                 result.room = RoomListing{spec.name, spec.is_private, true, {}};
                                 if (!states->empty())
                                   result.room.presence = (*states)[0].info.presence;
                                 result.joined = std::move(*joined);
                                 std::move(done)(std::move(result));
                               });
                  });
      });
}

void RedisChatStore::AllowEach(const std::string& room, std::vector<std::string> users, size_t next,
                               std::shared_ptr<std::vector<std::string>> joined, absl::Time now,
                               StatusDone done) {
  if (next == users.size()) {
    std::move(done)(absl::OkStatus());
    return;
  }
  const std::string user = users[next];
  Call<bool>(ShardOf(user), {"allowed_change", user, room, "1"}, ParseAllowedChange,
             [this, room, users = std::move(users), next, joined, now,
              done = std::move(done)](absl::StatusOr<bool> connected) mutable {
               if (PassFailure(connected, done)) return;
               const std::string user = users[next];
               auto go_on = [this, room, users = std::move(users), next, joined, now,
                             done = std::move(done)]() mutable {
                 AllowEach(room, std::move(users), next + 1, joined, now, std::move(done));
               };
               if (!*connected) {
                 go_on();
                 return;
               }
               JoinRoom(user, room, now,
                        [user, joined,
                         go_on = std::move(go_on)](absl::StatusOr<JoinResult> result) mutable {
                          // A user gone meanwhile joins at their next Connect.
                          if (result.ok() && result->joined) joined->push_back(user);
                          go_on();
                        });
             });
}

void RedisChatStore::AddMember(absl::string_view room, absl::string_view user, absl::Time now,
                               Done<bool> done) {
  // Both lists (ChangeAccess), then the join if the user is connected. A crash after the
  // lists leaves the user allowed but not yet in the room (they may join it themselves, and
  // enter it at their next new session); the app's retry joins them, joining again being a
  // no-op.
  ChangeAccess(std::string(room), std::string(user), true, std::move(done),
               [this, room = std::string(room), user = std::string(user), now](Done<bool> done) {
                 JoinRoom(user, room, now,
                          [done = std::move(done)](absl::StatusOr<JoinResult> joined) mutable {
                            if (joined.status().code() == absl::StatusCode::kNotFound) {
                              std::move(done)(false);  // gone meanwhile: joins when back
                            } else if (PassFailure(joined, done)) {
                              return;
                            } else {
                              std::move(done)(joined->joined);
                            }
                          });
               });
}

void RedisChatStore::RemoveMember(absl::string_view room, absl::string_view user, absl::Time now,
                                  Done<bool> done) {
  // Off the lists first, so the user cannot come back in; then out of the room if they are in
  // it (Leave: the LEAVE line in their own queue at least). A crash between leaves the user in
  // the room but off its list: removing again finishes it.
  ChangeAccess(std::string(room), std::string(user), false, std::move(done),
               [this, room = std::string(room), user = std::string(user), now](Done<bool> done) {
                 Call<std::optional<UserInfoReply>>(
                     ShardOf(user), {"user_info", user, CandidateEpoch()}, ParseUserInfo,
                     [this, room, user, now, done = std::move(done)](
                         absl::StatusOr<std::optional<UserInfoReply>> info) mutable {
                       if (PassFailure(info, done)) return;
                       if (!info->has_value()) {
                         std::move(done)(false);
                         return;
                       }
                       if (std::find((*info)->rooms.begin(), (*info)->rooms.end(), room) ==
                           (*info)->rooms.end()) {
                         // Out on the user's side; a try that failed part-way may have left the
                         // room's side pending: finish it (a no-op when there is none).
                         FinishLeaves(user, {room}, now,
                                      [done = std::move(done)](absl::Status status) mutable {
                                        if (status.ok()) {
                                          std::move(done)(false);
                                        } else {
                                          std::move(done)(status);
                                        }
                                      });
                         return;
                       }
                       Leave(user, room, now, [done = std::move(done)](absl::Status left) mutable {
                         if (left.ok()) {
                           std::move(done)(true);
                         } else if (left.code() == absl::StatusCode::kNotFound ||
                                    left.code() == absl::StatusCode::kFailedPrecondition) {
                           std::move(done)(false);  // gone, or out, meanwhile
                         } else {
                           std::move(done)(left);
                         }
                       });
                     });
               });
}

void RedisChatStore::EndUser(absl::string_view user, absl::Time now, Done<bool> done) {
  // The refusal first (as a logout records its session first): once answered, no session
  // begun before can come back, whatever fails after; removing the user (every session at
  // once) then answers the user's parked polls. A crash between leaves the user connected
  // but unable to Connect again with an old session; the app's retry removes them.
  const size_t shard = ShardOf(user);
  // Every session begun before `now` (sessions start in whole seconds: those of this second
  // too, as the memory store does).
  Call<ShardWrites>(shard,
                    {"revoke", std::string(user), Ms(now), Ms(now), Ms(chat_.ended_session_memory)},
                    ParseRevoke,
                    [this, shard, user = std::string(user), now,
                     done = std::move(done)](absl::StatusOr<ShardWrites> recorded) mutable {
                      if (PassFailure(recorded, done)) return;
                      SawWrites(shard, *recorded);
                      RemoveUser(user, "", now, std::nullopt,
                                 [done = std::move(done)](absl::Status removed) mutable {
                                   if (removed.ok()) {
                                     std::move(done)(true);
                                   } else if (removed.code() == absl::StatusCode::kNotFound) {
                                     std::move(done)(false);
                                   } else {
                                     std::move(done)(removed);
                                   }
                                 });
                    });
}

void RedisChatStore::ListRooms(Done<std::vector<RoomListing>> done) {
  auto gather = Gather<std::vector<RoomListing>>::Make(
      connections_.size(),
      [done =
           std::move(done)](absl::StatusOr<std::vector<std::vector<RoomListing>>> shards) mutable {
        if (PassFailure(shards, done)) return;
        std::vector<RoomListing> rooms;
        for (std::vector<RoomListing>& shard : *shards) {
          for (RoomListing& room : shard) rooms.push_back(std::move(room));
        }
        std::sort(rooms.begin(), rooms.end(),
                  [](const RoomListing& a, const RoomListing& b) { return a.name < b.name; });
        std::move(done)(std::move(rooms));
      });
  for (size_t shard = 0; shard < connections_.size(); ++shard) {
    Call<std::vector<RoomListing>>(shard, {"rooms_list"}, ParseRoomsList, gather->Step(shard));
  }
}

void RedisChatStore::JoinAllowed(const std::string& user, const std::string& session,
                                 std::vector<std::string> rooms, absl::Time now, StatusDone done) {
  auto gather =
      Gather<bool>::Make(rooms.size(), [this, user, session, done = std::move(done)](
                                           absl::StatusOr<std::vector<bool>> joined) mutable {
        if (!joined.ok()) {
          std::move(done)(joined.status());
          return;
        }
        CallForStatus(ShardOf(user), {"admitted", user, session}, std::move(done));
      });
  for (size_t i = 0; i < rooms.size(); ++i) {
    // A room gone meanwhile (or left private to others) is skipped, not a failed Connect.
    JoinRoom(user, rooms[i], now,
             [step = gather->Step(i)](absl::StatusOr<JoinResult> joined) mutable {
               if (joined.ok() || joined.status().code() == absl::StatusCode::kNotFound) {
                 std::move(step)(true);
               } else {
                 std::move(step)(joined.status());
               }
             });
  }
}

}  // namespace parley::broker::redis
