#ifndef PARLEY_BROKER_STORE_REDIS_CHAT_REPLIES_H_
#define PARLEY_BROKER_STORE_REDIS_CHAT_REPLIES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/core/chat_store.h"
#include "broker/core/message.h"
#include "broker/core/presence.h"
#include "broker/store/redis/redis_reply.h"

namespace parley::broker::redis {

// Each chat.lua operation's answer as a type, and the one function that reads it (by field
// name, ScriptReply). An answer the script should not give (an unknown outcome, a field
// missing) is INTERNAL naming the operation and the field. Pure; any thread.

// What a shard reports after a write: its append count (the loss fence, writes_seen) and its
// last notification (the mirror).
struct ShardWrites {
  uint64_t writes = 0;
  uint64_t event = 0;
};

// A line a room script numbered: its room seq `n` (0: none, a large room sends no line)
// within the room's `epoch`, and the shards with members to deliver it to (empty: every
// shard, a room from before that was kept).
struct NumberedLine {
  uint64_t n = 0;
  std::string epoch;
  std::vector<size_t> shards;
};

// Operations that answer only 'ok': leaving_done, idem_record, fence_shard, touch,
// room_online.
absl::Status ParseOk(absl::string_view operation, const RedisReply& reply);

// ended_check: whether the session was logged out, or may have been (its shard lost writes
// since it began).
enum class SessionState { kOpen, kEnded, kMayBeEnded };
absl::StatusOr<SessionState> ParseEndedCheck(const RedisReply& reply);

// ended_record: the shard's writes after recording the logout.
absl::StatusOr<ShardWrites> ParseEndedRecord(const RedisReply& reply);

struct ClaimReply {
  // kRevoked: DisconnectUser ended the user's sessions after this one began.
  enum class Outcome { kResumed, kCreated, kHeld, kDraining, kRevoked };
  Outcome outcome = Outcome::kHeld;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  bool went_online = false;
  std::vector<std::string> rooms;    // kResumed
  std::vector<std::string> pending;  // rooms whose leave is still to finish
  // Kept rooms a new user is still to join (set at its creation until `admitted`).
  std::vector<std::string> admit;
  // kHeld: who holds the name, and when it was last active, as the shard has it (a claim
  // that replaces the holder names both back: it replaces only that holder, unchanged).
  std::string holder;
  std::string holder_active_ms;
  absl::Time holder_active = absl::InfinitePast();
};
absl::StatusOr<ClaimReply> ParseClaim(const RedisReply& reply);

struct UserRemoveReply {
  enum class Outcome { kRemoved, kMissing, kDenied, kActive };
  Outcome outcome = Outcome::kMissing;
  std::vector<std::string> pending;
};
absl::StatusOr<UserRemoveReply> ParseUserRemove(const RedisReply& reply);

// member_add: nullopt if the user is missing, else whether it is online.
absl::StatusOr<std::optional<bool>> ParseMemberAdd(const RedisReply& reply);

struct MemberLeaveReply {
  // kDone: left within the idempotency window (a retry whose first try finished).
  enum class Outcome { kMissing, kNotMember, kPending, kDone, kLeft };
  Outcome outcome = Outcome::kMissing;
  ShardWrites writes;  // kLeft
};
absl::StatusOr<MemberLeaveReply> ParseMemberLeave(const RedisReply& reply);

struct UserInfoReply {
  uint64_t epoch = 0;
  uint64_t seq = 0;
  std::vector<std::string> rooms;
};
// nullopt: the user is missing.
absl::StatusOr<std::optional<UserInfoReply>> ParseUserInfo(const RedisReply& reply);

struct RoomJoinReply {
  bool joined = false;  // false: a member already
  bool created = false;
  NumberedLine line;  // the JOIN line
  PresenceSnapshot presence;
  ShardWrites writes;
};
absl::StatusOr<RoomJoinReply> ParseRoomJoin(const RedisReply& reply);

struct RoomLeaveReply {
  bool left = false;  // false: not a member (an earlier try did it)
  NumberedLine line;  // the LEAVE line
  ShardWrites writes;
};
absl::StatusOr<RoomLeaveReply> ParseRoomLeave(const RedisReply& reply);

// rooms_presence: per room asked for, in order, its presence and the version last published
// (nullopt: the room is gone).
struct RoomPresenceRow {
  PresenceSnapshot presence;
  uint64_t published_version = 0;
};
absl::StatusOr<std::vector<std::optional<RoomPresenceRow>>> ParseRoomsPresence(
    const RedisReply& reply);

struct PublishCheckReply {
  // kNotHolder: the sender's name is held by a session other than the call's sender_session.
  enum class Outcome { kOk, kMissing, kNotHolder, kDuplicate, kResume, kLimited };
  Outcome outcome = Outcome::kOk;
  MessagePtr message;          // kDuplicate, kResume: the key's message
  uint32_t recipients = 0;     // kDuplicate
  absl::Duration limited_for;  // kLimited (at least 1 ns)
};
absl::StatusOr<PublishCheckReply> ParsePublishCheck(const RedisReply& reply);

struct RoomSequenceReply {
  enum class Outcome { kOk, kAgain, kNoRoom, kNotMember };
  Outcome outcome = Outcome::kOk;
  NumberedLine line;
  MessagePtr message;  // kAgain: as the earlier try sequenced it
  bool renumbered = false;
  ShardWrites writes;
};
absl::StatusOr<RoomSequenceReply> ParseRoomSequence(const RedisReply& reply);

// room_log: the lines still logged, by room seq (entries unreadable are skipped: the
// delivery shows them as lost).
absl::StatusOr<std::vector<SequencedMessage>> ParseRoomLog(const RedisReply& reply);

struct DeliverReply {
  enum class Outcome { kOk, kBehind, kReused };
  Outcome outcome = Outcome::kOk;
  uint32_t recipients = 0;  // kOk
  uint64_t applied = 0;     // kBehind, kReused
  ShardWrites writes;       // kOk
};
absl::StatusOr<DeliverReply> ParseDeliver(const RedisReply& reply);

struct UserAppendReply {
  // kHeld: the user was not connected; kept for the session the call named.
  // kOtherHolder: the name is held by someone other than the call's to_holder.
  enum class Outcome { kAppended, kHeld, kAgain, kMissing, kOtherHolder };
  Outcome outcome = Outcome::kMissing;
  ShardWrites writes;  // kAppended, kHeld
  bool held = false;   // kHeld, or kAgain after a try that kept it
  std::string holder;  // kAppended, kHeld: who the name's queue (or kept box) is for
};
absl::StatusOr<UserAppendReply> ParseUserAppend(const RedisReply& reply);

struct ReadReply {
  enum class Outcome { kOk, kMissing, kBeyond };
  Outcome outcome = Outcome::kOk;
  uint64_t epoch = 0;
  bool epoch_changed = false;
  bool went_online = false;
  QueueRead read;
  std::vector<std::string> rooms;  // sorted
  uint64_t last_seq = 0;           // the queue's last (kBeyond too)
  uint64_t event = 0;              // the shard's last notification
};
absl::StatusOr<ReadReply> ParseRead(const RedisReply& reply);
// read_many: each read's answer, in order; a failure if the count is not `count`.
absl::StatusOr<std::vector<absl::StatusOr<ReadReply>>> ParseReadMany(const RedisReply& reply,
                                                                     size_t count);

// rooms_of: nullopt if the user is missing.
absl::StatusOr<std::optional<std::vector<std::string>>> ParseRoomsOf(const RedisReply& reply);

// history: nullopt if no such room; else the page, oldest first.
absl::StatusOr<std::optional<HistoryPage>> ParseHistory(const RedisReply& reply);

// members: nullopt if no such room.
absl::StatusOr<std::optional<MembersResult>> ParseMembers(const RedisReply& reply);

struct SweepReply {
  std::vector<std::string> expired;
  std::vector<std::string> offline;
  std::vector<std::vector<std::string>> offline_rooms;  // per offline user
  std::vector<std::string> leaving;
  std::vector<std::vector<std::string>> leaving_rooms;  // per leaving user
};
absl::StatusOr<SweepReply> ParseSweep(const RedisReply& reply);

struct ChangedPresence {
  std::string room;
  size_t members = 0;
  std::optional<absl::Time> published_at;  // nullopt: never
};
absl::StatusOr<std::vector<ChangedPresence>> ParsePresenceChangedRooms(const RedisReply& reply);

// presence_publish: how many rooms' presence was published.
absl::StatusOr<uint64_t> ParsePresencePublish(const RedisReply& reply);

// shard_check: empty if this broker's place for the shard matches, else what the shard was
// first used as ("<position>/<count>").
absl::StatusOr<std::string> ParseShardCheck(const RedisReply& reply);

struct CountsReply {
  uint64_t users = 0;
  uint64_t rooms = 0;
};
absl::StatusOr<CountsReply> ParseCounts(const RedisReply& reply);

// Room access (the server API).
// room_access: whether the user may join (false: a private room not admitting them).
absl::StatusOr<bool> ParseRoomAccess(const RedisReply& reply);
// room_create: the new room's presence, or nullopt if the name is taken.
absl::StatusOr<std::optional<PresenceSnapshot>> ParseRoomCreate(const RedisReply& reply);
// access_change: false if the room does not exist.
absl::StatusOr<bool> ParseAccessChange(const RedisReply& reply);
// allowed_change: whether the user is connected.
absl::StatusOr<bool> ParseAllowedChange(const RedisReply& reply);
// revoke: the shard's writes after recording it.
absl::StatusOr<ShardWrites> ParseRevoke(const RedisReply& reply);
// rooms_list: the shard's rooms.
absl::StatusOr<std::vector<RoomListing>> ParseRoomsList(const RedisReply& reply);

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_CHAT_REPLIES_H_
