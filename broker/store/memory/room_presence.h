#ifndef PARLEY_BROKER_STORE_MEMORY_ROOM_PRESENCE_H_
#define PARLEY_BROKER_STORE_MEMORY_ROOM_PRESENCE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/core/presence.h"

namespace parley::broker {

// A room's members, which of them are online, and the version that tells clients something
// changed. Every change costs O(log n) whatever the room's size: nothing here touches a
// member's queue. The mode follows the member count with hysteresis: EVENTS until the room
// grows past `events_max_members`, then COUNTS until it shrinks to three quarters of that.
//
// Besides the live state, the room keeps the snapshot it last *published* (told parked polls
// about); the store publishes at most once per --presence_notify_interval.
//
// Not thread-safe: owned by its Room, touched only under MemoryChatStore's lock.
class RoomPresence {
 public:
  RoomPresence(size_t events_max_members, uint64_t version);

  const absl::btree_set<std::string>& members() const { return members_; }
  bool HasMember(absl::string_view user) const { return members_.contains(user); }
  bool IsOnline(absl::string_view user) const { return online_.contains(user); }
  PresenceMode mode() const { return mode_; }
  uint64_t version() const { return version_; }

  // Each returns false when nothing changed; the caller then bumps the version with Changed.
  bool AddMember(absl::string_view user, bool online);
  bool RemoveMember(absl::string_view user);
  bool SetOnline(absl::string_view user, bool online);

  // Records a change: `version` is the broker's next presence version (they only grow).
  void Changed(uint64_t version) { version_ = version; }

  PresenceSnapshot Live() const;
  const PresenceSnapshot& published() const { return published_; }
  absl::Time published_at() const { return published_at_; }
  void Publish(absl::Time now);

  // REQUIRES: query.limit <= kMaxMembersPage.
  MembersPage List(const MembersQuery& query) const;

 private:
  void UpdateMode();

  const size_t events_max_members_;
  absl::btree_set<std::string> members_;
  absl::btree_set<std::string> online_;  // a subset of members_
  PresenceMode mode_ = PresenceMode::kEvents;
  uint64_t version_;
  PresenceSnapshot published_;
  absl::Time published_at_ = absl::InfinitePast();
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_STORE_MEMORY_ROOM_PRESENCE_H_
