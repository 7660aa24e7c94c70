#ifndef PARLEY_BROKER_CORE_WAITER_REGISTRY_H_
#define PARLEY_BROKER_CORE_WAITER_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/chat_store.h"
#include "broker/core/poll_waiter.h"

namespace parley::broker {

// The polls parked on this broker, by user and by room, and the wakes the store's
// notifications cause. The store says what changed (a user's queue, every member queue of a
// room, a room's published presence, or "anything": after notifications may have been lost);
// the registry wakes the parked polls it concerns.
//
// A read and its park are two steps with the store in between, and a change may land between
// them. A Ticket taken before the read remembers where the change counters stood; Park refuses
// (kChanged: read again) if the user, or one of the rooms the read saw, changed since. Room
// changes are remembered in a short ring: a ticket older than the ring is treated as changed.
//
// A user's entry, and its place in the room index, outlive its waiters: a woken poll parks
// again with the same rooms, so a wake and a re-park change no index. Entries with nothing
// parked and no read out are forgotten at the second ParkedUsers (each sweep) that finds them
// so, which bounds them by the users who polled here in the last two sweeps.
//
// Thread-safe: one mutex. Wakes run after it is released, on the notifying thread.
class WaiterRegistry final : public ChatStoreListener {
 public:
  // Where the counters stood when a read began. Pass it to exactly one of Park or EndRead.
  struct Ticket {
    std::string user;
    uint64_t user_changes = 0;
    uint64_t room_changes = 0;
    uint64_t resyncs = 0;
  };
  enum class ParkResult { kParked, kChanged, kDraining };

  Ticket BeginRead(absl::string_view user);
  // After a read that found nothing: parks `waiter` unless something it read changed since
  // the ticket was taken (kChanged) or the broker drains (kDraining). `rooms` are the user's
  // rooms as the read saw them; `watch_presence`: also woken when one publishes presence.
  ParkResult Park(const Ticket& ticket, std::shared_ptr<PollWaiter> waiter,
                  std::vector<std::string> rooms, bool watch_presence);
  // A read that will not park.
  void EndRead(const Ticket& ticket);
  // Removes a parked waiter; false if it was already taken for waking.
  bool Unpark(absl::string_view user, PollWaiter* waiter);

  // The store's notifications: each wakes what it concerns.
  void UserChanged(absl::string_view user, absl::Time changed_at) override;
  void RoomChanged(absl::string_view room, absl::Time changed_at) override;
  void PresencePublished(absl::string_view room) override;
  void Resync() override;
  // From now on nothing parks; every parked waiter is woken.
  void BeginDrain();

  bool HasParked(absl::string_view user);
  // Users with at least one parked poll (they count as active: see ChatStore::Sweep). Also
  // forgets the entries idle since the previous call.
  std::vector<std::string> ParkedUsers();
  size_t parked();
  // Users with an entry (parked, reading, or seen since the last two ParkedUsers).
  size_t tracked_users();
  uint64_t presence_wakes();

 private:
  struct Parked {
    std::shared_ptr<PollWaiter> waiter;
    bool watch_presence = false;
  };
  struct UserEntry {
    uint64_t changes = 0;
    int reads = 0;  // tickets out
    absl::flat_hash_map<PollWaiter*, Parked> waiters;
    std::vector<std::string> rooms;  // indexed in rooms_ under these while indexed
    bool indexed = false;
    bool idle_at_last_sweep = false;
  };
  // A node map: the room index points at entries, which must stay put.
  using UserMap = absl::node_hash_map<std::string, UserEntry>;
  static constexpr size_t kRoomRing = 256;

  UserEntry& EntryLocked(absl::string_view user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the user's waiters (those watching presence, if `presence_only`) into *to_wake.
  void TakeLocked(UserEntry& entry, bool presence_only, WaiterList* to_wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void IndexLocked(UserEntry& entry, bool add) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool RoomChangedSinceLocked(const Ticket& ticket, const std::vector<std::string>& rooms) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  UserMap users_ ABSL_GUARDED_BY(mu_);
  // room -> the users who were in it when they last parked (whether parked now or not)
  absl::flat_hash_map<std::string, absl::flat_hash_set<UserEntry*>> rooms_ ABSL_GUARDED_BY(mu_);
  uint64_t room_changes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::pair<uint64_t, std::string>> recent_rooms_ ABSL_GUARDED_BY(mu_);
  uint64_t resyncs_ ABSL_GUARDED_BY(mu_) = 0;
  size_t parked_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t presence_wakes_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_WAITER_REGISTRY_H_
