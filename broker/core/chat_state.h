#ifndef PARLEY_BROKER_CORE_CHAT_STATE_H_
#define PARLEY_BROKER_CORE_CHAT_STATE_H_

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
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/clock.h"
#include "broker/core/connected_user.h"
#include "broker/core/done_callback.h"
#include "broker/core/idempotency_cache.h"
#include "broker/core/message.h"
#include "broker/core/message_id_generator.h"
#include "broker/core/poll_waiter.h"
#include "broker/core/room.h"

namespace parley::broker {

inline constexpr absl::string_view kLobby = "lobby";
// Rooms larger than this publish presence less often, in proportion (ChatState::NotifyInterval).
inline constexpr size_t kPresenceWakeMembers = 1000;

// The limits of the chat logic; each has a broker flag.
struct ChatOptions {
  size_t queue_capacity = 1024;
  size_t history = 100;
  size_t max_text_bytes = 4096;
  size_t max_text_chars = 2000;  // code points
  absl::Duration presence_window = absl::Seconds(30);
  // Rooms up to this many members send JOIN/LEAVE lines to everyone (RoomPresence has the
  // hysteresis); larger ones only change their presence version and counts.
  size_t presence_events_max_members = 100;
  // A presence change alone ends parked polls of a room's members at most this often (in
  // rooms over kPresenceWakeMembers, at most this often × members / kPresenceWakeMembers).
  absl::Duration presence_notify_interval = absl::Seconds(5);
  absl::Duration user_idle_expiry = absl::Minutes(10);
  absl::Duration idempotency_window = absl::Minutes(10);
  // How long a logged-out session id is refused by Connect (match the frontend's session
  // lifetime: a token replayed after logout must not bring the session back), and how many
  // such ids are kept at most (the oldest are forgotten first).
  absl::Duration ended_session_memory = absl::Hours(24);
  // Publishes per user: `publish_burst` at once, refilled at `publish_rate` per second.
  double publish_rate = 5;
  double publish_burst = 20;
  size_t max_ended_sessions = 1'000'000;
};

// A room's name with its presence.
struct RoomPresenceInfo {
  std::string room;
  PresenceSnapshot presence;
};

struct ConnectResult {
  uint64_t epoch = 0;
  uint64_t cursor = 0;
  bool created = false;
  std::vector<RoomPresenceInfo> presence;  // of the user's rooms
};

// Where a Publish goes: exactly one of room and to_user is non-empty.
struct PublishInput {
  std::string sender;
  std::string room;
  std::string to_user;
  std::string text;
  std::string idempotency_key;  // optional
};

struct PublishResult {
  MessagePtr message;
  uint32_t recipients = 0;
  bool duplicate = false;
};

struct ReadInput {
  std::string user;
  uint64_t cursor = 0;
  size_t max_messages = 0;  // 0: the default for the mode
  bool consume = false;
  uint64_t epoch = 0;  // 0: unknown
  // Tell the reader of presence changes in the user's rooms (see ReadOrPark).
  bool watch_presence = false;
  absl::flat_hash_map<std::string, uint64_t> presence_versions;  // room -> version known
};

struct ReadOutcome {
  QueueRead read;
  uint64_t epoch = 0;
  bool parked = false;    // nothing to return: the waiter was parked on the queue
  bool draining = false;  // the broker is shutting down: reads no longer park
  // With watch_presence: the user's rooms whose version differs from the reader's, by name.
  std::vector<RoomPresenceInfo> presence;
};

struct JoinResult {
  bool created = false;
  bool joined = false;
  PresenceSnapshot presence;  // after the join
};

struct MembersResult {
  MembersPage page;
  PresenceSnapshot presence;  // of the whole room
};

struct ChatStats {
  uint64_t users = 0;
  uint64_t rooms = 0;
  uint64_t parked_polls = 0;
  uint64_t messages_published = 0;
  uint64_t messages_delivered = 0;     // returned by reads (a message read twice counts twice)
  uint64_t messages_dropped = 0;       // skipped by reads because the queue had dropped them
  uint64_t idempotent_duplicates = 0;  // publishes answered from the idempotency cache
  uint64_t publishes_limited = 0;      // publishes refused by the per-user rate limit
  uint64_t presence_notifies = 0;      // room presence published to parked polls
  uint64_t presence_wakes = 0;         // parked polls ended by a presence change alone
};

struct SweepResult {
  size_t expired = 0;       // idle users removed
  size_t went_offline = 0;  // users no longer online
};

// All of Parley's chat state: connected users with their queues, rooms, presence and
// idempotency keys, and the rules that change them. Knows nothing of gRPC: every operation
// validates its input and answers absl::Status with a canonical code and a message.
//
// Thread-safe: one mutex guards everything (every operation is short; fan-out to a room is a
// pointer append per member). Operations answer at once, on the calling thread, after the
// mutex is released; parked waiters are woken after that, on the same thread.
class ChatState {
 public:
  ChatState(ChatOptions options, const Clock* clock);

  // Each operation validates its input and answers through `done` (done_callback.h), with
  // absl::Status codes and messages the RPC layer maps one to one.
  void Connect(absl::string_view user, absl::string_view session, Done<ConnectResult> done);
  void Disconnect(absl::string_view user, absl::string_view session, StatusDone done);
  void Publish(const PublishInput& input, Done<PublishResult> done);

  // Answers what the user's queue holds after the cursor. When there is nothing, and `waiter`
  // is non-null, the epoch matches (or is unknown) and the state is not draining, the waiter
  // is parked on the queue (outcome.parked) and will be woken once when it changes.
  // With watch_presence, a read also returns at once (with no messages) when one of the
  // user's rooms has *published* a presence version newer than the reader's, and a parked
  // waiter is also woken when one is published (PublishDuePresence). Any answer lists the
  // rooms whose live version differs from the reader's. Marks the user online.
  void ReadOrPark(const ReadInput& input, std::shared_ptr<PollWaiter> waiter,
                  Done<ReadOutcome> done);
  // Removes a parked waiter; false if it had already been taken for waking (or the user is
  // gone). Answers at once: parked waiters are this broker's own.
  bool Unpark(absl::string_view user, PollWaiter* waiter);

  void Join(absl::string_view user, absl::string_view room, Done<JoinResult> done);
  void Leave(absl::string_view user, absl::string_view room, StatusDone done);
  void History(absl::string_view room, size_t limit, Done<std::vector<MessagePtr>> done);
  // One page of the room's members (INVALID_ARGUMENT for a limit over kMaxMembersPage or a
  // malformed `after` or `prefix`).
  void Members(absl::string_view room, const MembersQuery& query, Done<MembersResult> done);
  // The rooms `user` is in, sorted, with their presence.
  void RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done);
  ChatStats Stats();
  // Every user's queue depth (messages held), for the queue-depth histogram.
  std::vector<size_t> QueueDepths();

  // The periodic sweep: removes users idle for longer than user_idle_expiry (they leave their
  // rooms), marks offline those with no parked poll and no poll within presence_window (each
  // room's version bumps once per sweep however many went offline), and forgets logged-out
  // sessions older than ended_session_memory. An expired user's session may Connect again; a
  // logged-out one may not.
  SweepResult Sweep();

  // Publishes the presence of every room that changed and last published at least
  // presence_notify_interval ago, waking the presence-watching polls of its members. The one
  // place presence wakes polls: call it often (a fraction of the interval), from a thread that
  // holds no other lock.
  void PublishDuePresence();

  // From now on no read parks; every parked waiter is woken (its read then returns at once).
  void BeginDrain();
  bool draining() {
    absl::MutexLock lock(&mu_);
    return draining_;
  }

  const ChatOptions& options() const { return options_; }

 private:
  // The operations, answered at once (the in-memory state needs no round trip).
  absl::StatusOr<ConnectResult> DoConnect(absl::string_view user, absl::string_view session);
  absl::Status DoDisconnect(absl::string_view user, absl::string_view session);
  absl::StatusOr<PublishResult> DoPublish(const PublishInput& input);
  absl::StatusOr<ReadOutcome> DoReadOrPark(const ReadInput& input,
                                           std::shared_ptr<PollWaiter> waiter);
  absl::StatusOr<JoinResult> DoJoin(absl::string_view user, absl::string_view room);
  absl::Status DoLeave(absl::string_view user, absl::string_view room);
  absl::StatusOr<std::vector<MessagePtr>> DoHistory(absl::string_view room, size_t limit);
  absl::StatusOr<MembersResult> DoMembers(absl::string_view room, const MembersQuery& query);
  absl::StatusOr<std::vector<RoomPresenceInfo>> DoRoomsOf(absl::string_view user);

  ConnectedUser* FindUser(absl::string_view user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<ConnectedUser*> RequireUser(absl::string_view user)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  MessagePtr MakeMessage(MessageKind kind, absl::string_view room, absl::string_view from,
                         absl::string_view to, absl::string_view text)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `message` to every member's queue; returns how many got it.
  uint32_t DeliverToRoom(const Room& room, const MessagePtr& message, WaiterList* to_wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A JOIN or LEAVE of `user`: to every member in EVENTS mode, else to the user alone.
  void AnnouncePresence(const Room& room, ConnectedUser& user, MessageKind kind, PresenceMode mode,
                        WaiterList* to_wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Room& CreateRoom(absl::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Bumps the room's presence version; PublishDuePresence tells its members later.
  void PresenceChanged(Room& room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the user online in each of its rooms (a version bump each) if it was not.
  void MarkOnline(ConnectedUser& user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<RoomPresenceInfo> ChangedPresence(const ConnectedUser& user,
                                                const ReadInput& input) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How long the room waits between publishes: --presence_notify_interval, longer in rooms
  // over kPresenceWakeMembers.
  absl::Duration NotifyInterval(const RoomPresence& presence) const;
  std::vector<RoomPresenceInfo> PresenceOf(const ConnectedUser& user) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasNewerPublishedPresence(const ConnectedUser& user, const ReadInput& input) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void JoinLocked(ConnectedUser& user, absl::string_view room_name, JoinResult* result,
                  WaiterList* to_wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LeaveLocked(ConnectedUser& user, absl::string_view room_name, WaiterList* to_wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Leaves every room and frees the user's queue; its parked reads are woken.
  void RemoveUser(absl::string_view user, WaiterList* to_wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsIdle(const ConnectedUser& user, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetEndedSessions(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsOnline(const ConnectedUser& user, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Room* FindRoom(absl::string_view room) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ChatOptions options_;
  const Clock* const clock_;
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
  uint64_t presence_wakes_ ABSL_GUARDED_BY(mu_) = 0;
  // Sessions ended by Disconnect (logout), refused by Connect until forgotten; oldest first.
  absl::flat_hash_set<std::string> ended_sessions_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, std::string>> ended_order_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
  uint64_t messages_published_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t messages_delivered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t messages_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t idempotent_duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t publishes_limited_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CHAT_STATE_H_
