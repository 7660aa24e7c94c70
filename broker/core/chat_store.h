#ifndef PARLEY_BROKER_CORE_CHAT_STORE_H_
#define PARLEY_BROKER_CORE_CHAT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/core/done_callback.h"
#include "broker/core/message.h"
#include "broker/core/presence.h"

namespace parley::broker {

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
  // From the server API: a SYSTEM message from `sender` (need not be connected or a member);
  // to a user, it reaches that user alone. Not rate limited.
  bool system = false;
  // To a user who is not connected: instead of NOT_FOUND, keep the message for the session
  // named here (the caller vouches it is the user's: an app's user always connects with the
  // same one), delivered into the queue when a Connect with it creates one; at most
  // queue_capacity kept (the oldest dropped), for offline_dm_ttl after the last. Kept for
  // another session, the kept ones are dropped first.
  std::string hold_for_session = {};
  // The session the sender writes from: it must be the one holding the sender's name
  // (UNAUTHENTICATED otherwise); a direct message then carries its HolderTag (from_holder).
  std::string sender_session = {};
  // To a user: deliver (or keep) only while the name is held by the session with this
  // HolderTag; another holder is FAILED_PRECONDITION, reason HOLDER_CHANGED.
  std::string to_holder = {};
};

struct PublishResult {
  MessagePtr message;
  // The queues it went to; 0 for a direct message kept for its recipient (hold_for_session),
  // whose only queue so far is the sender's own.
  uint32_t recipients = 0;
  bool duplicate = false;
};

struct ReadInput {
  std::string user;
  uint64_t cursor = 0;
  size_t max_messages = 0;  // 0: the default for the mode
  bool consume = false;
  uint64_t epoch = 0;  // 0: unknown
  // Tell the reader of presence changes in the user's rooms (see ChatState::ReadOrPark).
  bool watch_presence = false;
  absl::flat_hash_map<std::string, uint64_t> presence_versions;  // room -> version known
  // Set by ChatState: a read that finds nothing parks, and the store's next notification of a
  // change wakes it, so a store may answer it from what its notifications have told it so far
  // (the Redis store's QueueMirror). A read that returns at once is answered from the store.
  bool may_park = false;
};

// A room made by the server API (CreateRoom): kept when empty; a private one is joined only by
// those on its access list.
struct RoomSpec {
  std::string name;
  bool is_private = false;
  std::vector<std::string> members;  // the access list; those connected join at once
};

// A room as the server API lists it.
struct RoomListing {
  std::string name;
  bool is_private = false;
  bool kept = false;  // made by CreateRoom
  PresenceSnapshot presence;
};

struct CreateRoomResult {
  RoomListing room;
  std::vector<std::string> joined;  // members connected now, who joined
};

// Which page of a room's history to read.
struct HistoryQuery {
  size_t limit = 0;    // at most this many messages; 0: all kept
  std::string before;  // a previous page's `older`; empty: the newest page
};

// One page of a room's history, and where the page before it starts.
struct HistoryPage {
  std::vector<MessagePtr> messages;  // oldest first
  // Pass as `before` for the next older page; empty when this page holds the oldest line
  // the room keeps. Opaque: each store has its own form.
  std::string older;
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

struct SweepResult {
  size_t expired = 0;       // idle users removed
  size_t went_offline = 0;  // users no longer online
};

// A Connect as the store carries it out.
struct ConnectRequest {
  std::string user;
  std::string session;
  uint64_t new_epoch = 0;      // the epoch of the queue, if one is created
  bool may_create = true;      // false: the broker drains and takes no new user
  bool holder_parked = false;  // the name's holder has a poll parked on this broker
  // When the session began (InfinitePast: unknown). A store that lost writes since (the Redis
  // store's fence) refuses it: its logout may have been lost with them.
  absl::Time session_started = absl::InfinitePast();
};

// A Publish as the store carries it out: `message` is stored, unless the idempotency key has
// been seen (then the first answer comes back, duplicate) or the sender's token bucket is
// empty (then `limited_for` says how long until it is not, and nothing is stored).
struct PublishRequest {
  PublishInput input;
  MessagePtr message;
};
struct StorePublish {
  PublishResult result;
  absl::Duration limited_for = absl::ZeroDuration();
};

// A read as the store answers it (ChatState adds parking).
struct StoreRead {
  QueueRead read;
  uint64_t epoch = 0;
  bool epoch_changed = false;  // the reader's epoch is not the queue's: read from the start
  // The user's rooms, when the read found nothing (it may park): parked polls are woken by
  // their rooms' messages. A store may leave it empty otherwise.
  std::vector<std::string> rooms;
  // With watch_presence: the rooms whose live version differs from the reader's, and whether
  // one has *published* a version newer than the reader's.
  std::vector<RoomPresenceInfo> presence;
  bool presence_news = false;
};

struct StoreStats {
  uint64_t users = 0;
  uint64_t rooms = 0;
  uint64_t presence_notifies = 0;  // room presence published
};

// What the store tells the broker that changed, so parked polls can read again. Called after
// the change is visible to reads, with no store lock held, on the thread that made the change
// or the store's own (WaiterRegistry is the implementation).
class ChatStoreListener {
 public:
  virtual ~ChatStoreListener() = default;
  // The user's queue grew, or the user is gone. `changed_at`: when the store made the change
  // (real time; for the wake-lag metric).
  virtual void UserChanged(absl::string_view user, absl::Time changed_at) = 0;
  // Every member's queue of the room grew.
  virtual void RoomChanged(absl::string_view room, absl::Time changed_at) = 0;
  // The room published a new presence snapshot.
  virtual void PresencePublished(absl::string_view room) = 0;
  // Notifications may have been lost: everything parked must read again.
  virtual void Resync() = 0;
};

// Where the chat state lives: users with their queues, epochs and sessions, rooms with their
// members, presence and history, idempotency keys, publish buckets and logged-out sessions.
// ChatState validates input and decides what it can from its own clock and options; the
// store carries out each operation atomically with the limits of ChatOptions it was made
// with, and answers with canonical statuses worded by chat_errors.h.
//
// Asynchronous: every operation's `done` runs once (done_callback.h). Thread-safe. The
// listener is set once, before the first operation, and outlives the store. An operation's
// `done` is never held behind the listener calls its change causes: a store that tells the
// listener on the caller's thread does so after `done` has run, so a Publish to a room of
// 10,000 answers its sender before the 10,000 polls it wakes are answered.
class ChatStore {
 public:
  virtual ~ChatStore() = default;

  virtual void SetListener(ChatStoreListener* listener) = 0;
  // Whether the store can serve now (Redis: every shard reachable). A broker whose store is not
  // ready reports NOT_SERVING for parley.v1.Broker, so it is taken out of rotation, not
  // restarted.
  virtual bool ready() const = 0;

  // Resumes the session's own hold of the user, or creates the user (a new queue with
  // new_epoch, in the lobby), replacing a holder idle for longer than user_idle_expiry.
  // UNAUTHENTICATED: the session was logged out; ALREADY_EXISTS: another live session holds
  // the name; UNAVAILABLE: a new user while !may_create.
  virtual void Connect(const ConnectRequest& request, absl::Time now, Done<ConnectResult> done) = 0;
  // Remembers the session as logged out, first and in every case (so a logout the caller saw
  // answered, even NOT_FOUND or PERMISSION_DENIED, is honoured), then removes the user if this
  // session holds it (it leaves its rooms). An error other than those two may leave the session
  // ended and the user not yet removed; calling again finishes it.
  virtual void Disconnect(absl::string_view user, absl::string_view session, absl::Time now,
                          StatusDone done) = 0;
  virtual void Publish(const PublishRequest& request, absl::Time now, Done<StorePublish> done) = 0;
  // Reads the user's queue (ChatState::ReadOrPark says what), marking the user active and
  // online.
  virtual void Read(const ReadInput& input, size_t max_messages, absl::Time now,
                    Done<StoreRead> done) = 0;
  // `granted`: the user may enter even a private room, and goes on its access list. A private
  // room the user may not enter is NOT_FOUND.
  virtual void Join(absl::string_view user, absl::string_view room, bool granted, absl::Time now,
                    Done<JoinResult> done) = 0;
  virtual void Leave(absl::string_view user, absl::string_view room, absl::Time now,
                     StatusDone done) = 0;
  // `reader`: a private room is NOT_FOUND to a reader not on its access list ("": trusted).
  // A `before` the store cannot read is INVALID_ARGUMENT; one from a room since freed and
  // made again reads that room's lines older than the position it names, if any.
  virtual void History(absl::string_view room, absl::string_view reader, const HistoryQuery& query,
                       Done<HistoryPage> done) = 0;
  // `reader` as History's.
  virtual void Members(absl::string_view room, absl::string_view reader, const MembersQuery& query,
                       Done<MembersResult> done) = 0;
  virtual void RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done) = 0;

  // The server API's room access (broker.proto says what each does). CreateRoom:
  // ALREADY_EXISTS if the name is taken. AddMember answers whether the user joined now;
  // RemoveMember whether they left; EndUser whether the user was connected (their sessions
  // begun before `now` are refused by Connect, reason REVOKED, for ended_session_memory).
  virtual void CreateRoom(const RoomSpec& spec, absl::Time now, Done<CreateRoomResult> done) = 0;
  virtual void AddMember(absl::string_view room, absl::string_view user, absl::Time now,
                         Done<bool> done) = 0;
  virtual void RemoveMember(absl::string_view room, absl::string_view user, absl::Time now,
                            Done<bool> done) = 0;
  virtual void EndUser(absl::string_view user, absl::Time now, Done<bool> done) = 0;
  // Every room, sorted by name.
  virtual void ListRooms(Done<std::vector<RoomListing>> done) = 0;

  // Expires idle users, marks offline those gone quiet, forgets old logged-out sessions.
  // `parked` have polls parked on this broker: they count as active now.
  virtual void Sweep(std::vector<std::string> parked, absl::Time now, Done<SweepResult> done) = 0;
  // Publishes the presence of the rooms due (PresencePublished for each).
  virtual void PublishDuePresence(absl::Time now, StatusDone done) = 0;

  // Stops the store's own threads: every operation still pending is answered before it
  // returns (UNAVAILABLE where it could not be carried out), later ones answer at once on the
  // caller's thread, and the listener hears nothing more from the store's threads. Call it
  // before what the callbacks touch goes away.
  virtual void Stop() = 0;

  virtual void Stats(Done<StoreStats> done) = 0;
  // Every user's queue depth, where the store can tell cheaply (else empty).
  virtual std::vector<size_t> QueueDepths() = 0;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CHAT_STORE_H_
