// ChatState's presence rules: who is online, room presence versions and when they are
// published to parked polls, the members and rooms a client asks for, and the sweep.
// (chat_state.cc has the rest of the class.)
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_errors.h"
#include "broker/core/chat_state.h"
#include "broker/core/validation.h"

namespace parley::broker {

namespace {

// The version the reader knows of `room`; 0 if it sent none.
uint64_t KnownVersion(const ReadInput& input, const std::string& room) {
  auto known = input.presence_versions.find(room);
  return known == input.presence_versions.end() ? 0 : known->second;
}

}  // namespace

std::vector<RoomPresenceInfo> ChatState::ChangedPresence(const ConnectedUser& user,
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

bool ChatState::HasNewerPublishedPresence(const ConnectedUser& user, const ReadInput& input) const {
  for (const std::string& name : user.rooms) {
    const Room* room = FindRoom(name);
    if (room == nullptr) continue;
    if (room->presence().published().version > KnownVersion(input, name)) return true;
  }
  return false;
}

absl::StatusOr<MembersResult> ChatState::DoMembers(absl::string_view room,
                                                 const MembersQuery& query) {
  if (absl::Status s = ValidateName("room", room); !s.ok()) return s;
  if (query.limit > kMaxMembersPage) {
    return absl::InvalidArgumentError(absl::StrCat("limit must be at most ", kMaxMembersPage,
                                                   " (0 means ", kDefaultMembersPage, ")"));
  }
  if (!query.after.empty()) {
    if (absl::Status s = ValidateName("after", query.after); !s.ok()) return s;
  }
  if (!query.prefix.empty()) {
    if (absl::Status s = ValidateName("prefix", query.prefix); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  const Room* found = FindRoom(room);
  if (found == nullptr) return NoSuchRoom(room);
  return MembersResult{found->presence().List(query), found->presence().Live()};
}

absl::StatusOr<std::vector<RoomPresenceInfo>> ChatState::DoRoomsOf(absl::string_view user_name) {
  if (absl::Status s = ValidateName("user", user_name); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
  if (!user.ok()) return user.status();
  return PresenceOf(**user);
}

std::vector<RoomPresenceInfo> ChatState::PresenceOf(const ConnectedUser& user) const {
  std::vector<RoomPresenceInfo> rooms;
  for (const std::string& name : user.rooms) {
    if (const Room* room = FindRoom(name)) rooms.push_back({name, room->presence().Live()});
  }
  return rooms;
}

SweepResult ChatState::Sweep() {
  WaiterList to_wake;
  SweepResult result;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    std::vector<std::string> expired;
    absl::flat_hash_set<Room*> changed;
    for (const auto& [name, user] : users_) {
      if (IsIdle(*user, now)) {
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
    for (const std::string& name : expired) RemoveUser(name, &to_wake);
    result.expired = expired.size();
    ForgetEndedSessions(now);
  }
  WakeAll(std::move(to_wake));
  return result;
}

void ChatState::PublishDuePresence() {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto it = unpublished_presence_.begin(); it != unpublished_presence_.end();) {
      auto room = rooms_.find(*it);
      if (room == rooms_.end()) {
        unpublished_presence_.erase(it++);
        continue;
      }
      RoomPresence& presence = room->second->presence();
      if (now - presence.published_at() < NotifyInterval(presence)) {
        ++it;
        continue;
      }
      presence.Publish(now);
      ++presence_notifies_;
      const size_t before = to_wake.size();
      for (const std::string& member : presence.members()) {
        if (ConnectedUser* user = FindUser(member)) user->queue.TakePresenceWaiters(&to_wake);
      }
      presence_wakes_ += to_wake.size() - before;
      unpublished_presence_.erase(it++);
    }
  }
  WakeAll(std::move(to_wake));
}

absl::Duration ChatState::NotifyInterval(const RoomPresence& presence) const {
  // Each publish may end one parked poll per member: past kPresenceWakeMembers members the
  // interval grows with the room, so a room's presence never ends more than
  // kPresenceWakeMembers / interval polls a second (200 by default), however large it is.
  const size_t members = presence.members().size();
  if (members <= kPresenceWakeMembers) return options_.presence_notify_interval;
  return options_.presence_notify_interval * (static_cast<double>(members) / kPresenceWakeMembers);
}

void ChatState::PresenceChanged(Room& room) {
  room.presence().Changed(++presence_clock_);
  unpublished_presence_.insert(room.name());
}

void ChatState::MarkOnline(ConnectedUser& user) {
  if (user.online) return;
  user.online = true;
  for (const std::string& name : user.rooms) {
    Room& room = *rooms_.at(name);
    if (room.presence().SetOnline(user.name, true)) PresenceChanged(room);
  }
}

bool ChatState::IsOnline(const ConnectedUser& user, absl::Time now) const {
  return user.queue.waiter_count() > 0 || now - user.last_active <= options_.presence_window;
}

}  // namespace parley::broker
