#ifndef PARLEY_BROKER_STORE_MEMORY_MEMORY_CHAT_STORE_H_
#define PARLEY_BROKER_STORE_MEMORY_MEMORY_CHAT_STORE_H_

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
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/chat_options.h"
#include "broker/core/chat_store.h"
#include "broker/core/message_id_generator.h"
#include "broker/store/memory/connected_user.h"
#include "broker/store/memory/idempotency_cache.h"
#include "broker/store/memory/room.h"

namespace parley::broker {

// The chat state in this process's memory: the default store, and the one a single broker
// needs. Lost when the process ends.
//
// Thread-safe: one mutex guards everything (every operation is short; fan-out to a room is a
// pointer append per member). Every operation answers at once, on the calling thread, after
// the mutex is released and the listener has been told what changed.
class MemoryChatStore final : public ChatStore {
 public:
  explicit MemoryChatStore(ChatOptions options);

  void SetListener(ChatStoreListener* listener) override { listener_ = listener; }
  bool ready() const override { return true; }
  void Connect(const ConnectRequest& request, absl::Time now, Done<ConnectResult> done) override;
  void Disconnect(absl::string_view user, absl::string_view session, absl::Time now,
                  StatusDone done) override;
  void Publish(const PublishRequest& request, absl::Time now, Done<StorePublish> done) override;
  void Read(const ReadInput& input, size_t max_messages, absl::Time now,
            Done<StoreRead> done) override;
  void Join(absl::string_view user, absl::string_view room, bool granted, absl::Time now,
            Done<JoinResult> done) override;
  void Leave(absl::string_view user, absl::string_view room, absl::Time now,
             StatusDone done) override;
  void History(absl::string_view room, absl::string_view reader, const HistoryQuery& query,
               Done<HistoryPage> done) override;
  void Members(absl::string_view room, absl::string_view reader, const MembersQuery& query,
               Done<MembersResult> done) override;
  void RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done) override;
  void CreateRoom(const RoomSpec& spec, absl::Time now, Done<CreateRoomResult> done) override;
  void AddMember(absl::string_view room, absl::string_view user, absl::Time now,
                 Done<bool> done) override;
  void RemoveMember(absl::string_view room, absl::string_view user, absl::Time now,
                    Done<bool> done) override;
  void EndUser(absl::string_view user, absl::Time now, Done<bool> done) override;
  void ListRooms(Done<std::vector<RoomListing>> done) override;
  void Sweep(std::vector<std::string> parked, absl::Time now, Done<SweepResult> done) override;
  void PublishDuePresence(absl::Time now, StatusDone done) override;
  void Stop() override {}  // every operation answers at once: nothing is ever pending
  void Stats(Done<StoreStats> done) override;
  std::vector<size_t> QueueDepths() override;

 private:
  // What an operation changed, told to the listener once the mutex is released.
  struct Changes {
    std::vector<std::string> users;
    std::vector<std::string> rooms;
    std::vector<std::string> presence;
  };

  absl::StatusOr<ConnectResult> ConnectLocked(const ConnectRequest& request, absl::Time now,
                                              Changes* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DisconnectLocked(absl::string_view user, absl::string_view session, absl::Time now,
                                Changes* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<StorePublish> PublishLocked(const PublishRequest& request, absl::Time now,
                                             Changes* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<StoreRead> ReadLocked(const ReadInput& input, size_t max, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status LeaveRoomLocked(absl::string_view user, absl::string_view room, absl::Time now,
                               Changes* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  SweepResult SweepLocked(const std::vector<std::string>& parked, absl::Time now, Changes* changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Notify(const Changes& changes);
  // One operation, in the order the .cc explains: `act(&changes)` decides and changes under
  // the mutex, `done` gets its answer, then the listener is told the changes.
  template <typename DoneFn, typename Act>
  void Mutate(DoneFn done, Act act) ABSL_LOCKS_EXCLUDED(mu_) {
    Changes changes;
    auto result = [&] {
      absl::MutexLock lock(&mu_);
      return act(&changes);
    }();
    std::move(done)(std::move(result));
    Notify(changes);
  }

  ConnectedUser* FindUser(absl::string_view user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<ConnectedUser*> RequireUser(absl::string_view user)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Room* FindRoom(absl::string_view room) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Room* FindRoom(absl::string_view room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The room, if `reader` may read it ("": the trusted server API); else NOT_FOUND, the same
  // answer as for a room that does not exist.
  absl::StatusOr<const Room*> ReadableRoom(absl::string_view room, absl::string_view reader) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts `user` on the access list of kept room `room` (remembered for their next Connect)
  // and joins them if connected; whether they joined now.
  bool AllowLocked(Room& room, absl::string_view user, absl::Time now, Changes* changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a session of `user` begun at `started` was ended by EndUser since.
  bool Revoked(absl::string_view user, absl::Time started, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  MessagePtr MakeMessage(MessageKind kind, absl::string_view room, absl::string_view from,
                         absl::Time now);
  // Appends `message` to every member's queue; returns how many got it.
  uint32_t DeliverToRoom(const Room& room, const MessagePtr& message, Changes* changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A JOIN or LEAVE of `user`: to every member in EVENTS mode, else to the user alone.
  void AnnouncePresence(const Room& room, ConnectedUser& user, MessageKind kind, PresenceMode mode,
                        absl::Time now, Changes* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Room& MakeRoom(absl::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Bumps the room's presence version; PublishDuePresence tells its members later.
  void PresenceChanged(Room& room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the user online in each of its rooms (a version bump each) if it was not.
  void MarkOnline(ConnectedUser& user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<RoomPresenceInfo> ChangedPresence(const ConnectedUser& user,
                                                const ReadInput& input) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasNewerPublishedPresence(const ConnectedUser& user, const ReadInput& input) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<RoomPresenceInfo> PresenceOf(const ConnectedUser& user) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void JoinLocked(ConnectedUser& user, absl::string_view room_name, absl::Time now,
                  JoinResult* result, Changes* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LeaveLocked(ConnectedUser& user, absl::string_view room_name, absl::Time now,
                   Changes* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Leaves every room and frees the user's queue.
  void RemoveUser(absl::string_view user, absl::Time now, Changes* changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsOnline(const ConnectedUser& user, absl::Time now) const;
  void ForgetEndedSessions(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ChatOptions options_;
  ChatStoreListener* listener_ = nullptr;
  MessageIdGenerator ids_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<ConnectedUser>> users_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Room>> rooms_ ABSL_GUARDED_BY(mu_);
  IdempotencyCache idempotency_ ABSL_GUARDED_BY(mu_);
  // The last presence version handed out: versions grow across all rooms, so a room freed and
  // made again never repeats one a client still holds.
  uint64_t presence_clock_ ABSL_GUARDED_BY(mu_) = 0;
  // Rooms with a presence change not yet published.
  absl::flat_hash_set<std::string> unpublished_presence_ ABSL_GUARDED_BY(mu_);
  uint64_t presence_notifies_ ABSL_GUARDED_BY(mu_) = 0;
  // Sessions ended by Disconnect (logout), refused by Connect until forgotten; oldest first.
  absl::flat_hash_set<std::string> ended_sessions_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, std::string>> ended_order_ ABSL_GUARDED_BY(mu_);
  // Direct messages kept for users who are not connected (PublishInput::hold_for_session),
  // moved into the queue a Connect with `session` creates; dropped by the sweep after `until`.
  struct HeldMessages {
    std::string session;
    std::deque<MessagePtr> messages;  // oldest first, at most queue_capacity
    absl::Time until;
  };
  absl::flat_hash_map<std::string, HeldMessages> held_ ABSL_GUARDED_BY(mu_);
  // The kept rooms each user is on the access list of, joined when the user connects.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> allowed_rooms_
      ABSL_GUARDED_BY(mu_);
  // Users whose sessions EndUser ended, and when: a session begun before is refused until
  // the entry is forgotten, ended_session_memory later.
  absl::flat_hash_map<std::string, absl::Time> revoked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_STORE_MEMORY_MEMORY_CHAT_STORE_H_
