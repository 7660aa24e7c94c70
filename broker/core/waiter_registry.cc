#include "broker/core/waiter_registry.h"

#include <algorithm>
#include <utility>

namespace parley::broker {

WaiterRegistry::Ticket WaiterRegistry::BeginRead(absl::string_view user) {
  absl::MutexLock lock(&mu_);
  UserEntry& entry = users_[user];
  ++entry.reads;
  return Ticket{std::string(user), entry.changes, room_changes_, resyncs_};
}

WaiterRegistry::ParkResult WaiterRegistry::Park(const Ticket& ticket,
                                                std::shared_ptr<PollWaiter> waiter,
                                                std::vector<std::string> rooms,
                                                bool watch_presence) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(ticket.user);
  UserEntry& entry = it->second;  // kept by the ticket's read
  --entry.reads;
  ParkResult result = ParkResult::kParked;
  if (draining_) {
    result = ParkResult::kDraining;
  } else if (entry.changes != ticket.user_changes || resyncs_ != ticket.resyncs ||
             RoomChangedSinceLocked(ticket, rooms)) {
    result = ParkResult::kChanged;
  }
  if (result != ParkResult::kParked) {
    ReleaseLocked(it);
    return result;
  }
  if (entry.waiters.empty()) {
    entry.rooms = std::move(rooms);
    IndexLocked(ticket.user, entry.rooms, /*add=*/true);
  } else if (entry.rooms != rooms) {
    // The user joined or left since its other polls parked: index the rooms seen last.
    IndexLocked(ticket.user, entry.rooms, /*add=*/false);
    entry.rooms = std::move(rooms);
    IndexLocked(ticket.user, entry.rooms, /*add=*/true);
  }
  PollWaiter* key = waiter.get();
  if (entry.waiters.emplace(key, Parked{std::move(waiter), watch_presence}).second) ++parked_;
  return result;
}

void WaiterRegistry::EndRead(const Ticket& ticket) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(ticket.user);
  --it->second.reads;
  ReleaseLocked(it);
}

bool WaiterRegistry::Unpark(absl::string_view user, PollWaiter* waiter) {
  std::shared_ptr<PollWaiter> dropped;  // released after the lock: may be the last reference
  absl::MutexLock lock(&mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return false;
  UserEntry& entry = it->second;
  auto parked = entry.waiters.find(waiter);
  if (parked == entry.waiters.end()) return false;
  dropped = std::move(parked->second.waiter);
  entry.waiters.erase(parked);
  --parked_;
  if (entry.waiters.empty()) IndexLocked(user, entry.rooms, /*add=*/false);
  ReleaseLocked(it);
  return true;
}

void WaiterRegistry::UserChanged(absl::string_view user) {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    ++it->second.changes;
    TakeLocked(it->second, user, /*presence_only=*/false, &to_wake);
    ReleaseLocked(it);
  }
  WakeAll(std::move(to_wake));
}

void WaiterRegistry::RoomChanged(absl::string_view room) {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    recent_rooms_.emplace_back(++room_changes_, std::string(room));
    if (recent_rooms_.size() > kRoomRing) recent_rooms_.pop_front();
    auto index = rooms_.find(room);
    if (index == rooms_.end()) return;
    // Every waiter of these users is taken, so none stays indexed under this room.
    const absl::flat_hash_set<std::string> users = std::move(index->second);
    rooms_.erase(index);
    for (const std::string& user : users) {
      auto it = users_.find(user);
      ++it->second.changes;
      TakeLocked(it->second, user, /*presence_only=*/false, &to_wake);
      ReleaseLocked(it);
    }
  }
  WakeAll(std::move(to_wake));
}

void WaiterRegistry::PresencePublished(absl::string_view room) {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    auto index = rooms_.find(room);
    if (index == rooms_.end()) return;
    const std::vector<std::string> users(index->second.begin(), index->second.end());
    for (const std::string& user : users) {
      auto it = users_.find(user);
      TakeLocked(it->second, user, /*presence_only=*/true, &to_wake);
      ReleaseLocked(it);
    }
    presence_wakes_ += to_wake.size();
  }
  WakeAll(std::move(to_wake));
}

void WaiterRegistry::Resync() {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    ++resyncs_;
    for (auto it = users_.begin(); it != users_.end();) {
      TakeLocked(it->second, it->first, /*presence_only=*/false, &to_wake);
      auto next = std::next(it);
      ReleaseLocked(it);
      it = next;
    }
  }
  WakeAll(std::move(to_wake));
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
  for (const auto& [name, entry] : users_) {
    if (!entry.waiters.empty()) users.push_back(name);
  }
  return users;
}

size_t WaiterRegistry::parked() {
  absl::MutexLock lock(&mu_);
  return parked_;
}

uint64_t WaiterRegistry::presence_wakes() {
  absl::MutexLock lock(&mu_);
  return presence_wakes_;
}

void WaiterRegistry::TakeLocked(UserEntry& entry, absl::string_view user, bool presence_only,
                                WaiterList* to_wake) {
  if (entry.waiters.empty()) return;
  for (auto it = entry.waiters.begin(); it != entry.waiters.end();) {
    if (presence_only && !it->second.watch_presence) {
      ++it;
      continue;
    }
    to_wake->push_back(std::move(it->second.waiter));
    entry.waiters.erase(it++);
    --parked_;
  }
  if (entry.waiters.empty()) IndexLocked(user, entry.rooms, /*add=*/false);
}

void WaiterRegistry::IndexLocked(absl::string_view user, const std::vector<std::string>& rooms,
                                 bool add) {
  for (const std::string& room : rooms) {
    if (add) {
      rooms_[room].emplace(user);
      continue;
    }
    auto it = rooms_.find(room);
    if (it == rooms_.end()) continue;
    it->second.erase(user);
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

void WaiterRegistry::ReleaseLocked(absl::flat_hash_map<std::string, UserEntry>::iterator it) {
  if (it->second.reads == 0 && it->second.waiters.empty()) users_.erase(it);
}

}  // namespace parley::broker
