// MemoryChatStore's presence: who is online, room presence versions and when they are
// published, the members and rooms a client asks for, and the sweep. (memory_chat_store.cc
// has the rest of the class.)
#include <utility>
#include <vector>

#include "broker/core/chat_errors.h"
#include "broker/core/chat_rules.h"
#include "broker/store/memory/memory_chat_store.h"

namespace parley::broker {

namespace {

// The version the reader knows of `room`; 0 if it sent none.
uint64_t KnownVersion(const ReadInput& input, const std::string& room) {
  auto known = input.presence_versions.find(room);
  return known == input.presence_versions.end() ? 0 : known->second;
}

}  // namespace

std::vector<RoomPresenceInfo> MemoryChatStore::ChangedPresence(const ConnectedUser& user,
                                                               const ReadInput& input) const {
  std::vector<RoomPresenceInfo> changed;
  for (const std::string& name : user.rooms) {
    const Room* room = FindRoom(name);
    if (room == nullptr) continue;
    if (KnownVersion(input, name) == room->presence().version()) continue;
    changed.push_back({name, room->presence().Live()});
  }
  return changed;
}

bool MemoryChatStore::HasNewerPublishedPresence(const ConnectedUser& user,
                                                const ReadInput& input) const {
  for (const std::string& name : user.rooms) {
    const Room* room = FindRoom(name);
    if (room == nullptr) continue;
    if (room->presence().published().version > KnownVersion(input, name)) return true;
  }
  return false;
}

void MemoryChatStore::Members(absl::string_view room, absl::string_view reader,
                              const MembersQuery& query, Done<MembersResult> done) {
  absl::StatusOr<MembersResult> result;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<const Room*> found = ReadableRoom(room, reader);
    if (!found.ok()) {
      result = found.status();
    } else {
      result = MembersResult{(*found)->presence().List(query), (*found)->presence().Live()};
    }
  }
  std::move(done)(std::move(result));
}

void MemoryChatStore::RoomsOf(absl::string_view user_name,
                              Done<std::vector<RoomPresenceInfo>> done) {
  absl::StatusOr<std::vector<RoomPresenceInfo>> result;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
    if (user.ok()) {
      result = PresenceOf(**user);
    } else {
      result = user.status();
    }
  }
  std::move(done)(std::move(result));
}

std::vector<RoomPresenceInfo> MemoryChatStore::PresenceOf(const ConnectedUser& user) const {
  std::vector<RoomPresenceInfo> rooms;
  for (const std::string& name : user.rooms) {
    if (const Room* room = FindRoom(name)) rooms.push_back({name, room->presence().Live()});
  }
  return rooms;
}

void MemoryChatStore::Sweep(std::vector<std::string> parked, absl::Time now,
                            Done<SweepResult> done) {
  Mutate(std::move(done), [&](Changes* changes) { return SweepLocked(parked, now, changes); });
}

SweepResult MemoryChatStore::SweepLocked(const std::vector<std::string>& parked, absl::Time now,
                                         Changes* changes) {
  // A parked poll is a poll going on now.
  for (const std::string& name : parked) {
    if (ConnectedUser* user = FindUser(name)) user->last_active = now;
  }
  absl::erase_if(held_, [now](const auto& held) { return held.second.until < now; });
  SweepResult result;
  std::vector<std::string> expired;
  absl::flat_hash_set<Room*> changed;
  for (const auto& [name, user] : users_) {
    if (IdlePastExpiry(user->last_active, now, options_)) {
      expired.push_back(name);
    } else if (user->online && !IsOnline(*user, now)) {
      user->online = false;
      ++result.went_offline;
      for (const std::string& room : user->rooms) {
        Room& found = *rooms_.at(room);
        if (found.presence().SetOnline(name, false)) changed.insert(&found);
      }
    }
  }
  for (Room* room : changed) PresenceChanged(*room);  // once per room per sweep
  for (const std::string& name : expired) RemoveUser(name, now, changes);
  result.expired = expired.size();
  ForgetEndedSessions(now);
  return result;
}

void MemoryChatStore::PublishDuePresence(absl::Time now, StatusDone done) {
  Changes changes;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = unpublished_presence_.begin(); it != unpublished_presence_.end();) {
      auto room = rooms_.find(*it);
      if (room == rooms_.end()) {
        unpublished_presence_.erase(it++);
        continue;
      }
      RoomPresence& presence = room->second->presence();
      if (!PresenceDue(presence.published_at(), presence.members().size(), now, options_)) {
        ++it;
        continue;
      }
      presence.Publish(now);
      ++presence_notifies_;
      changes.presence.push_back(*it);
      unpublished_presence_.erase(it++);
    }
  }
  std::move(done)(absl::OkStatus());
  Notify(changes);
}

void MemoryChatStore::PresenceChanged(Room& room) {
  room.presence().Changed(++presence_clock_);
  unpublished_presence_.insert(room.name());
}

void MemoryChatStore::MarkOnline(ConnectedUser& user) {
  if (user.online) return;
  user.online = true;
  for (const std::string& name : user.rooms) {
    Room& room = *rooms_.at(name);
    if (room.presence().SetOnline(user.name, true)) PresenceChanged(room);
  }
}

bool MemoryChatStore::IsOnline(const ConnectedUser& user, absl::Time now) const {
  return now - user.last_active <= options_.presence_window;
}

}  // namespace parley::broker
