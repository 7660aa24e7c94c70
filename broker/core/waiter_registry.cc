#include "broker/core/waiter_registry.h"

#include <algorithm>
#include <utility>

namespace parley::broker {

WaiterRegistry::UserEntry& WaiterRegistry::EntryLocked(absl::string_view user) {
  UserEntry& entry = users_[user];
  entry.idle_at_last_sweep = false;
  return entry;
}

WaiterRegistry::Ticket WaiterRegistry::BeginRead(absl::string_view user) {
  absl::MutexLock lock(&mu_);
  UserEntry& entry = EntryLocked(user);
  ++entry.reads;
  return Ticket{std::string(user), entry.changes, room_changes_, resyncs_};
}

WaiterRegistry::ParkResult WaiterRegistry::Park(const Ticket& ticket,
                                                std::shared_ptr<PollWaiter> waiter,
                                                std::vector<std::string> rooms,
                                                bool watch_presence) {
  absl::MutexLock lock(&mu_);
  UserEntry& entry = users_.find(ticket.user)->second;  // kept by the ticket's read
  --entry.reads;
  if (draining_) return ParkResult::kDraining;
  if (entry.changes != ticket.user_changes || resyncs_ != ticket.resyncs ||
      RoomChangedSinceLocked(ticket, rooms)) {
    return ParkResult::kChanged;
  }
  if (!entry.indexed || entry.rooms != rooms) {
    // First park, or the user joined or left since: index the rooms seen last.
    if (entry.indexed) IndexLocked(entry, /*add=*/false);
    entry.rooms = std::move(rooms);
    IndexLocked(entry, /*add=*/true);
  }
  PollWaiter* key = waiter.get();
  if (entry.waiters.emplace(key, Parked{std::move(waiter), watch_presence}).second) ++parked_;
  return ParkResult::kParked;
}

void WaiterRegistry::EndRead(const Ticket& ticket) {
  absl::MutexLock lock(&mu_);
  --users_.find(ticket.user)->second.reads;
}

bool WaiterRegistry::Unpark(absl::string_view user, PollWaiter* waiter) {
  std::shared_ptr<PollWaiter> dropped;  // released after the lock: may be the last reference
  absl::MutexLock lock(&mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return false;
  auto parked = it->second.waiters.find(waiter);
  if (parked == it->second.waiters.end()) return false;
  dropped = std::move(parked->second.waiter);
  it->second.waiters.erase(parked);
  --parked_;
  return true;
}

void WaiterRegistry::UserChanged(absl::string_view user, absl::Time changed_at) {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    ++it->second.changes;
    TakeLocked(it->second, /*presence_only=*/false, &to_wake);
  }
  WakeAll(to_wake, changed_at);
}

void WaiterRegistry::RoomChanged(absl::string_view room, absl::Time changed_at) {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    recent_rooms_.emplace_back(++room_changes_, std::string(room));
    if (recent_rooms_.size() > kRoomRing) recent_rooms_.pop_front();
    auto index = rooms_.find(room);
    if (index == rooms_.end()) return;
    for (UserEntry* entry : index->second) {
      ++entry->changes;
      TakeLocked(*entry, /*presence_only=*/false, &to_wake);
    }
  }
  WakeAll(to_wake, changed_at);
}

void WaiterRegistry::PresencePublished(absl::string_view room) {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    auto index = rooms_.find(room);
    if (index == rooms_.end()) return;
    for (UserEntry* entry : index->second) TakeLocked(*entry, /*presence_only=*/true, &to_wake);
    presence_wakes_ += to_wake.size();
  }
  WakeAll(to_wake);
}

void WaiterRegistry::Resync() {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    ++resyncs_;
    for (auto& user : users_) TakeLocked(user.second, /*presence_only=*/false, &to_wake);
  }
  WakeAll(to_wake);
}

void WaiterRegistry::BeginDrain() {
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  Resync();
}

bool WaiterRegistry::HasParked(absl::string_view user) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(user);
  return it != users_.end() && !it->second.waiters.empty();
}

std::vector<std::string> WaiterRegistry::ParkedUsers() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> users;
  for (auto it = users_.begin(); it != users_.end();) {
    UserEntry& entry = it->second;
    if (!entry.waiters.empty()) users.push_back(it->first);
    const bool idle = entry.waiters.empty() && entry.reads == 0;
    if (idle && entry.idle_at_last_sweep) {
      if (entry.indexed) IndexLocked(entry, /*add=*/false);
      users_.erase(it++);
      continue;
    }
    entry.idle_at_last_sweep = idle;
    ++it;
  }
  return users;
}

size_t WaiterRegistry::parked() {
  absl::MutexLock lock(&mu_);
  return parked_;
}

size_t WaiterRegistry::tracked_users() {
  absl::MutexLock lock(&mu_);
  return users_.size();
}

uint64_t WaiterRegistry::presence_wakes() {
  absl::MutexLock lock(&mu_);
  return presence_wakes_;
}

void WaiterRegistry::TakeLocked(UserEntry& entry, bool presence_only, WaiterList* to_wake) {
  for (auto it = entry.waiters.begin(); it != entry.waiters.end();) {
    if (presence_only && !it->second.watch_presence) {
      ++it;
      continue;
    }
    to_wake->push_back(std::move(it->second.waiter));
    entry.waiters.erase(it++);
    --parked_;
  }
}

void WaiterRegistry::IndexLocked(UserEntry& entry, bool add) {
  entry.indexed = add;
  for (const std::string& room : entry.rooms) {
    if (add) {
      rooms_[room].insert(&entry);
      continue;
    }
    auto it = rooms_.find(room);
    if (it == rooms_.end()) continue;
    it->second.erase(&entry);
    if (it->second.empty()) rooms_.erase(it);
  }
}

bool WaiterRegistry::RoomChangedSinceLocked(const Ticket& ticket,
                                            const std::vector<std::string>& rooms) const {
  if (room_changes_ == ticket.room_changes) return false;
  if (recent_rooms_.empty() || recent_rooms_.front().first > ticket.room_changes + 1) {
    return true;  // older than the ring: assume one of them changed
  }
  for (auto it = recent_rooms_.rbegin(); it != recent_rooms_.rend(); ++it) {
    if (it->first <= ticket.room_changes) break;
    if (std::find(rooms.begin(), rooms.end(), it->second) != rooms.end()) return true;
  }
  return false;
}

}  // namespace parley::broker
