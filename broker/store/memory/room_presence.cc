#include "broker/store/memory/room_presence.h"

#include "absl/strings/match.h"

namespace parley::broker {

RoomPresence::RoomPresence(size_t events_max_members, uint64_t version)
    : events_max_members_(events_max_members), version_(version) {
  UpdateMode();
  published_ = Live();
}

bool RoomPresence::AddMember(absl::string_view user, bool online) {
  if (!members_.emplace(user).second) return false;
  if (online) online_.emplace(user);
  UpdateMode();
  return true;
}

bool RoomPresence::RemoveMember(absl::string_view user) {
  if (members_.erase(user) == 0) return false;
  online_.erase(user);
  UpdateMode();
  return true;
}

bool RoomPresence::SetOnline(absl::string_view user, bool online) {
  if (!members_.contains(user)) return false;
  if (online) return online_.emplace(user).second;
  return online_.erase(user) > 0;
}

void RoomPresence::UpdateMode() {
  if (mode_ == PresenceMode::kEvents && members_.size() > events_max_members_) {
    mode_ = PresenceMode::kCounts;
  } else if (mode_ == PresenceMode::kCounts &&
             members_.size() <= events_max_members_ - events_max_members_ / 4) {
    mode_ = PresenceMode::kEvents;
  }
}

PresenceSnapshot RoomPresence::Live() const {
  return {version_, members_.size(), online_.size(), mode_};
}

void RoomPresence::Publish(absl::Time now) {
  published_ = Live();
  published_at_ = now;
}

MembersPage RoomPresence::List(const MembersQuery& query) const {
  const size_t limit = query.limit == 0 ? kDefaultMembersPage : query.limit;
  const absl::btree_set<std::string>& names = query.online_only ? online_ : members_;
  // Names sort bytewise, so those with the prefix are one run starting at the prefix itself.
  auto it = names.lower_bound(query.prefix);
  if (!query.after.empty() && query.after >= query.prefix) it = names.upper_bound(query.after);
  MembersPage page;
  for (; it != names.end() && absl::StartsWith(*it, query.prefix); ++it) {
    if (page.members.size() == limit) {
      page.next_after = page.members.back().user;
      break;
    }
    page.members.push_back({*it, query.online_only || online_.contains(*it)});
  }
  return page;
}

}  // namespace parley::broker
