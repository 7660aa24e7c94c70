// MemoryChatStore: room access for the server API (kept and private rooms, access lists) and
// ending a user's sessions. Each operation runs as the others do: decide and change under the
// mutex, answer, then tell the listener (memory_chat_store.cc).

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_errors.h"
#include "broker/core/chat_rules.h"
#include "broker/store/memory/memory_chat_store.h"

namespace parley::broker {
namespace {

RoomListing ListingOf(const Room& room) {
  return RoomListing{room.name(), room.is_private(), room.kept(), room.presence().Live()};
}

}  // namespace

bool MemoryChatStore::AllowLocked(Room& room, absl::string_view user_name, absl::Time now,
                                  Changes* changes) {
  room.Allow(user_name);
  allowed_rooms_[user_name].emplace(room.name());
  ConnectedUser* user = FindUser(user_name);
  if (user == nullptr) return false;  // joins when they connect
  JoinResult joined;
  JoinLocked(*user, room.name(), now, &joined, changes);
  return joined.joined;
}

bool MemoryChatStore::Revoked(absl::string_view user, absl::Time started, absl::Time now) {
  auto it = revoked_.find(user);
  if (it == revoked_.end()) return false;
  if (now - it->second >= options_.ended_session_memory) {
    revoked_.erase(it);
    return false;
  }
  // Sessions carry their start in whole seconds, so every session begun in the second of the
  // disconnect is refused too, whether before or after it: a session that existed when the
  // app ended them must not survive it. New tokens work from the next second on.
  return started < it->second;
}

void MemoryChatStore::CreateRoom(const RoomSpec& spec, absl::Time now,
                                 Done<CreateRoomResult> done) {
  Mutate(std::move(done), [&](Changes* changes) -> absl::StatusOr<CreateRoomResult> {
    if (FindRoom(spec.name) != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat("room '", spec.name, "' exists"));
    }
    Room& room = MakeRoom(spec.name);
    room.MakeKept(spec.is_private);
    CreateRoomResult created;
    for (const std::string& member : spec.members) {
      if (AllowLocked(room, member, now, changes)) created.joined.push_back(member);
    }
    created.room = ListingOf(room);
    return created;
  });
}

void MemoryChatStore::AddMember(absl::string_view room_name, absl::string_view user, absl::Time now,
                                Done<bool> done) {
  Mutate(std::move(done), [&](Changes* changes) -> absl::StatusOr<bool> {
    Room* room = FindRoom(room_name);
    if (room == nullptr) return NoSuchRoom(room_name);
    return AllowLocked(*room, user, now, changes);
  });
}

void MemoryChatStore::RemoveMember(absl::string_view room_name, absl::string_view user_name,
                                   absl::Time now, Done<bool> done) {
  Mutate(std::move(done), [&](Changes* changes) -> absl::StatusOr<bool> {
    Room* room = FindRoom(room_name);
    if (room == nullptr) return NoSuchRoom(room_name);
    room->Disallow(user_name);
    if (auto allowed = allowed_rooms_.find(user_name); allowed != allowed_rooms_.end()) {
      allowed->second.erase(room_name);
      if (allowed->second.empty()) allowed_rooms_.erase(allowed);
    }
    ConnectedUser* user = FindUser(user_name);
    const bool member = user != nullptr && user->rooms.contains(room_name);
    // LeaveLocked sends the LEAVE (to the user's own queue at least) and frees a room left
    // empty unless it is kept.
    if (member) LeaveLocked(*user, room_name, now, changes);
    return member;
  });
}

void MemoryChatStore::EndUser(absl::string_view user, absl::Time now, Done<bool> done) {
  Mutate(std::move(done), [&](Changes* changes) -> absl::StatusOr<bool> {
    revoked_[user] = now;
    const bool was_connected = FindUser(user) != nullptr;
    RemoveUser(user, now, changes);  // its parked polls answer NOT_FOUND
    return was_connected;
  });
}

void MemoryChatStore::ListRooms(Done<std::vector<RoomListing>> done) {
  std::vector<RoomListing> rooms;
  {
    absl::MutexLock lock(&mu_);
    rooms.reserve(rooms_.size());
    for (const auto& [name, room] : rooms_) rooms.push_back(ListingOf(*room));
  }
  std::sort(rooms.begin(), rooms.end(),
            [](const RoomListing& a, const RoomListing& b) { return a.name < b.name; });
  std::move(done)(std::move(rooms));
}

}  // namespace parley::broker
