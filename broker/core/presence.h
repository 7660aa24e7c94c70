#ifndef PARLEY_BROKER_CORE_PRESENCE_H_
#define PARLEY_BROKER_CORE_PRESENCE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace parley::broker {

// How a room tells its members of joins and leaves (proto: PresenceMode).
enum class PresenceMode {
  kEvents,  // small room: JOIN/LEAVE lines go into every member's queue
  kCounts,  // large room: only the version and the counts change
};

// A room's presence as clients see it.
struct PresenceSnapshot {
  uint64_t version = 0;
  size_t members = 0;
  size_t online = 0;
  PresenceMode mode = PresenceMode::kEvents;
};

// What to list of a room's members (proto: MembersRequest).
struct MembersQuery {
  size_t limit = 0;  // 0: kDefaultMembersPage
  std::string after;
  bool online_only = false;
  std::string prefix;
};

inline constexpr size_t kDefaultMembersPage = 100;
inline constexpr size_t kMaxMembersPage = 1000;

struct MemberInfo {
  std::string user;
  bool online = false;
};

struct MembersPage {
  std::vector<MemberInfo> members;
  std::string next_after;  // empty: this was the last page
};

// A room's name with its presence.
struct RoomPresenceInfo {
  std::string room;
  PresenceSnapshot presence;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_PRESENCE_H_
