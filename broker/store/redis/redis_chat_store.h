#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_CHAT_STORE_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_CHAT_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/chat_options.h"
#include "broker/core/chat_store.h"
#include "broker/core/message_id_generator.h"
#include "broker/store/redis/chat_replies.h"
#include "broker/store/redis/queue_mirror.h"
#include "broker/store/redis/redis_address.h"
#include "broker/store/redis/redis_connection.h"
#include "broker/store/redis/redis_link.h"
#include "broker/store/redis/redis_loop.h"
#include "broker/store/redis/redis_reply.h"
#include "broker/store/redis/redis_script.h"
#include "broker/store/redis/redis_subscriber.h"
#include "common/metrics/metrics.h"

struct event;

namespace parley::broker::redis {

struct RedisChatStoreOptions {
  std::vector<RedisAddress> shards;  // independent primaries, in the same order on every broker
  std::string password;              // never logged
  absl::Duration timeout = absl::Seconds(2);  // per round trip
  size_t room_log = 10'000;  // room lines kept for shards catching up on room order
  // Where to observe each Redis round trip, and each notification's lag (from the script that
  // published it, by Redis's clock, to this broker waking the polls it concerns); may be null.
  metrics::Histogram* round_trip_seconds = nullptr;
  metrics::Histogram* notification_lag_seconds = nullptr;
  // The crash-point seam (tests): asked before every chat.lua call, on the thread making it,
  // with the call's number (from 1, counted by this store), its shard and its operation. A
  // status other than OK fails that call with it: unsent, as a shard out of reach would; or,
  // for DEADLINE_EXCEEDED, sent and run by Redis with its answer lost, as past --redis_timeout.
  std::function<absl::Status(uint64_t call, size_t shard, absl::string_view operation)> fault;
};

// The chat state in Redis, shared by every broker that names the same shards: the layout and
// the scripts are in docs/architecture.md ("The Redis store") and chat.lua. Each operation is
// a few script calls, one per shard it touches, chained on the Redis loop thread, each answer
// read as its operation's type (chat_replies.h); the listener hears of changes from the
// shards' notify channel (chat.lua's NOTIFY_CHANNEL), whoever made them, and is told to Resync
// after every (re)subscription. Those notifications also keep a QueueMirror per shard, which
// answers the reads of polls that park (and of polls woken by room lines) without a round
// trip. The class is defined over five files, one per concern: calls and the shard check
// (redis_chat_store.cc), publish and delivery (_publish.cc), sessions and membership
// (_membership.cc), reads and the mirror (_reads.cc), the sweep and presence (_sweep.cc).
//
// Thread-safe: operations from any thread; every `done` and listener call runs on the loop
// thread, except a Read the mirror answers, whose `done` runs on the caller's thread before
// Read returns (as the in-memory store's do).
class RedisChatStore : public ChatStore {
 public:
  RedisChatStore(ChatOptions chat, RedisChatStoreOptions options);
  ~RedisChatStore() override;  // Stop()

  // Every shard's command and subscriber connections are up.
  bool healthy() const;
  // Runs `done` on the loop thread once every notification published on every shard before
  // this call has reached the listener (a marker published behind them has come back from each
  // shard): tests see the wakes of what they did before they look.
  void AfterNotifications(absl::AnyInvocable<void()> done);
  const RedisConnectionCounters& counters() const { return counters_; }

  void SetListener(ChatStoreListener* listener) override { listener_ = listener; }
  // Every shard is connected and its configuration holds (CheckShards).
  bool ready() const override;
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
  // Room access (redis_chat_store_access.cc).
  void CreateRoom(const RoomSpec& spec, absl::Time now, Done<CreateRoomResult> done) override;
  void AddMember(absl::string_view room, absl::string_view user, absl::Time now,
                 Done<bool> done) override;
  void RemoveMember(absl::string_view room, absl::string_view user, absl::Time now,
                    Done<bool> done) override;
  void EndUser(absl::string_view user, absl::Time now, Done<bool> done) override;
  void ListRooms(Done<std::vector<RoomListing>> done) override;
  void Sweep(std::vector<std::string> parked, absl::Time now, Done<SweepResult> done) override;
  void PublishDuePresence(absl::Time now, StatusDone done) override;
  void Stop() override;
  void Stats(Done<StoreStats> done) override;
  std::vector<size_t> QueueDepths() override { return {}; }  // not kept per user in Redis

 private:
  using Reply = absl::StatusOr<RedisReply>;
  using ReplyDone = absl::AnyInvocable<void(Reply)>;

  // --- Calls (redis_chat_store.cc) ---
  size_t ShardOf(absl::string_view name) const;
  // A fresh epoch for a user whose shard was fenced.
  std::string CandidateEpoch();
  // Notes what a shard reported after a write: its mirror's event, the loss fence's count.
  void SawWrites(size_t shard, const ShardWrites& writes);
  // One chat.lua operation on one shard, its answer as it came; every call goes through here
  // (the loss fence's count is sent with it, the fault seam asked first).
  void CallRaw(size_t shard, std::vector<std::string> args, ReplyDone done);
  // One chat.lua operation, its answer read by `parse` (chat_replies.h).
  template <typename T>
  void Call(size_t shard, std::vector<std::string> args,
            absl::StatusOr<T> (*parse)(const RedisReply&), std::type_identity_t<Done<T>> done) {
    CallRaw(shard, std::move(args), [parse, done = std::move(done)](Reply reply) mutable {
      if (!reply.ok()) {
        std::move(done)(reply.status());
      } else {
        std::move(done)(parse(*reply));
      }
    });
  }
  // One chat.lua operation that answers only 'ok'.
  void CallForStatus(size_t shard, std::vector<std::string> args, StatusDone done);
  MessagePtr MakeLine(MessageKind kind, absl::string_view room, absl::string_view user,
                      absl::Time now);
  // Checks each shard: maxmemory-policy noeviction (an evicting Redis would silently drop
  // idempotency records, ended sessions, queues), and the shard list this broker was given is
  // the one every broker uses (chat.lua shard_check). Until both hold on every shard the store
  // is not ready, and a log line says why; a shard that does not answer keeps its last
  // verdict. Loop thread: run by the check timer, every kShardCheckInterval (every
  // kShardRecheckInterval while a problem stands or a shard has not answered).
  void CheckShards();
  static void OnCheckTimer(int fd, short events, void* self);
  static constexpr absl::Duration kShardCheckInterval = absl::Seconds(10);
  static constexpr absl::Duration kShardRecheckInterval = absl::Milliseconds(200);

  // --- Publish and delivery (redis_chat_store_publish.cc) ---
  // A line of a room: its number within the room's epoch (chat.lua, sequence), the shards to
  // deliver it to, and the message's stored values.
  struct RoomLine {
    std::string room;
    NumberedLine number;
    std::vector<std::string> values;
    // Numbered again in a new epoch (its first numbering was lost): a shard that appended it
    // under the old one does not append it twice.
    bool renumbered = false;
  };
  // The line to every member, on every shard, in room order; answers how many members got it.
  void DeliverLine(RoomLine line, Done<uint32_t> done);
  // On one shard: a shard behind first takes the lines in between from the room's log, and
  // skips (showing the loss) those the log no longer has.
  void DeliverOnShard(size_t shard, std::shared_ptr<const RoomLine> line, int attempts,
                      Done<uint32_t> done);
  // Delivers, on a shard that was behind, the lines the room's log had and then the line.
  void CatchUpOnShard(size_t shard, std::shared_ptr<const RoomLine> line, uint64_t applied,
                      std::vector<SequencedMessage> logged, int attempts, Done<uint32_t> done);
  // chat.lua's deliver arguments before the lines, for `count` lines.
  std::vector<std::string> DeliverArgs(const RoomLine& line, const std::string& lost_to,
                                       size_t count) const;
  // One message to one user's queue; with an idempotency key (may be empty), a retry from
  // the same sender appends nothing. A user who is not connected: kept for session
  // `hold_for` (answers held), or NOT_FOUND if that is "". A name held by another than
  // `to_holder` (if not "") is HolderChanged. `stamp`: the copy stored says who it went to
  // (a direct message's recipient copy; Message::to_holder).
  struct DirectCall {
    std::string hold_for;
    std::string to_holder;
    bool stamp = false;
  };
  void AppendToUser(const std::string& user, const std::string& sender, const std::string& key,
                    std::vector<std::string> values, absl::Time now, const DirectCall& direct,
                    Done<UserAppendReply> done);
  // A publish past its check: sequences a room line and delivers it, or delivers a direct
  // message; then records the key's first answer.
  void PublishChecked(const PublishRequest& request, MessagePtr message, bool resumed,
                      absl::Time now, Done<StorePublish> done);

  // --- Sessions and membership (redis_chat_store_membership.cc) ---
  void JoinRoom(const std::string& user, const std::string& room, absl::Time now,
                Done<JoinResult> done);
  // A leave is the user's side first (one script on the user's shard: the user stops getting
  // the room's lines and records the intent), then each room's side (its member list, the
  // LEAVE line to its members), then the intent cleared. FinishLeaves does the last two for
  // rooms whose user's side is done; it is idempotent, and whoever finds the intent runs it:
  // Leave, Disconnect, Connect, the sweep.
  void FinishLeaves(const std::string& user, std::vector<std::string> rooms, absl::Time now,
                    StatusDone done);
  void LeaveRoomSide(const std::string& user, const std::string& room, absl::Time now,
                     StatusDone done);
  // Connect after the session was found not logged out: claims the name (replacing a holder
  // that does not keep it, HolderKeepsName, if it is still that holder), then answers.
  void Claim(const ConnectRequest& request, absl::Time now, std::string replace_session,
             std::string replace_active, int attempts, Done<ConnectResult> done);
  // The claim made: leaves pending finished, the lobby joined (again: a no-op when done,
  // finishes a join that failed part-way), a resumed user back online in its rooms; then the
  // answer.
  void FinishConnect(const ConnectRequest& request, ClaimReply claim, absl::Time now,
                     Done<ConnectResult> done);
  // The connected user's epoch, cursor and rooms with their presence.
  void AnswerConnect(const std::string& user, bool created, Done<ConnectResult> done);
  // Removes the user (its session must match unless empty; with `idle_for`, only if it is
  // still idle that long) and has it leave its rooms; finishes leaves pending from before.
  void RemoveUser(const std::string& user, const std::string& session, absl::Time now,
                  std::optional<absl::Duration> idle_for, StatusDone done);
  void SetOnline(const std::vector<std::string>& rooms, const std::vector<std::string>& users,
                 bool online, StatusDone done);
  // Live and published presence of these rooms (sorted; rooms that are gone left out).
  struct RoomState {
    RoomPresenceInfo info;
    uint64_t published_version = 0;
  };
  void PresenceOf(std::vector<std::string> rooms, Done<std::vector<RoomState>> done);

  // --- Room access (redis_chat_store_access.cc) ---
  // A room's access list lives on the room's shard (checked by room_access before a join, and
  // by history, members and room_sequence); the kept rooms a user may enter live on the user's
  // shard (joined when the user connects). An operation is a few scripts in a row: what a
  // crash between them leaves is said at each.
  // Joins the kept rooms a new user may enter (`rooms`, as the claim listed them), then says
  // so (admitted). A crash before that leaves the user's hash marked: the Connect's retry,
  // which resumes, gets the rooms again and joins them (joining twice is a no-op). Once
  // admitted, a resumed Connect does not pull the user back into a room it left.
  void JoinAllowed(const std::string& user, const std::string& session,
                   std::vector<std::string> rooms, absl::Time now, StatusDone done);
  // On the room's list and the user's (`add`), or off both; then, for a connected user,
  // `then(done)`; for one away, `done(false)`.
  void ChangeAccess(const std::string& room, const std::string& user, bool add, Done<bool> done,
                    absl::AnyInvocable<void(Done<bool>)> then);
  // For CreateRoom: each of `users` from `next` on put on their own list of the room and, if
  // connected, joined (appended to `joined`), one after the other.
  void AllowEach(const std::string& room, std::vector<std::string> users, size_t next,
                 std::shared_ptr<std::vector<std::string>> joined, absl::Time now, StatusDone done);

  // --- Reads and the mirror (redis_chat_store_reads.cc) ---
  // Loop thread: a notification from the shard's subscriber.
  void OnNotification(size_t shard, absl::string_view payload);
  // Reads go to their shard together: those that arrive while one is waiting for the loop (the
  // polls one notification wakes, polls coming back at once) become one "read_many" call.
  struct PendingRead {
    ReadInput input;
    size_t max_messages = 0;
    absl::Time now;
    Done<StoreRead> done;
  };
  // Longest batch: a script blocks its Redis while it runs (~2 us a read).
  static constexpr size_t kMaxReadsPerCall = 512;
  // Room lines each user's mirror keeps: enough for a poll that is a few lines behind.
  static constexpr size_t kMirrorLines = 16;
  // Loop thread: answers the shard's pending reads from its mirror (what it learnt since they
  // came), and sends the rest.
  void FlushReads(size_t shard);
  // chat.lua's read arguments for one read.
  void AppendReadArgs(const PendingRead& read, std::vector<std::string>& args);
  // Loop thread: one read's answer from chat.lua's read, sent at the mirror's `generation`.
  void OnRead(size_t shard, uint64_t generation, const ReadInput& input,
              absl::StatusOr<ReadReply> reply, Done<StoreRead> done);

  // --- The sweep (redis_chat_store_sweep.cc) ---
  // What one shard's sweep found and did: the users it marked offline, by room (the caller
  // bumps each room's presence once for all shards), and the status of its removals and
  // leaves finished.
  struct ShardSwept {
    absl::Status status;
    SweepResult counts;
    std::vector<std::pair<std::string, std::string>> offline;  // room, user
  };
  // Loop thread: one shard's sweep (chat.lua sweep): idle users removed, leaves pending
  // finished, users gone quiet listed.
  void SweepShard(size_t shard, absl::Time now, Done<ShardSwept> done);
  // One shard's rooms whose presence is due published; answers how many.
  void PublishDuePresenceOn(size_t shard, absl::Time now, Done<uint64_t> done);

  const ChatOptions chat_;
  const RedisChatStoreOptions options_;
  const RedisScript script_;
  MessageIdGenerator ids_;
  ChatStoreListener* listener_ = nullptr;
  RedisConnectionCounters counters_;
  RedisLoop loop_;
  // One per shard (each thread-safe: reads from any thread, the rest from the loop). Declared
  // before what calls into it (the subscribers, the connections' callbacks), so it outlives
  // them.
  std::vector<std::unique_ptr<QueueMirror>> mirrors_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;  // one per shard
  std::vector<std::unique_ptr<RedisSubscriber>> subscribers_;  // one per shard
  absl::Mutex stop_mu_;  // held (shared) while a call is handed to the loop
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  // Per shard: the most appends it has acknowledged to this broker, sent with every call so a
  // shard that comes back with fewer fences itself (chat.lua).
  std::unique_ptr<std::atomic<uint64_t>[]> writes_seen_;
  absl::Mutex reads_mu_;
  // Per shard: reads not yet sent; a flush is posted to the loop when one becomes non-empty.
  std::vector<std::vector<PendingRead>> pending_reads_ ABSL_GUARDED_BY(reads_mu_);
  absl::Mutex random_mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(random_mu_);
  std::atomic<uint64_t> presence_notifies_{0};
  std::atomic<uint64_t> calls_{0};  // chat.lua calls made (the fault seam's numbers)
  // The shard check: whether every shard's last verdict is good; per shard, the problem its
  // last answer showed ("": none; nullopt: it has not answered yet), and all of them as last
  // logged, to log a change once (loop thread only).
  std::atomic<bool> shards_ok_{false};
  std::vector<std::optional<std::string>> shard_problems_;
  std::string shards_problem_;
  event* check_timer_ = nullptr;  // loop thread only; freed by Stop
  // Loop thread only: AfterNotifications markers not yet back from every shard.
  struct Marker {
    size_t shards_left = 0;
    absl::AnyInvocable<void()> done;
  };
  uint64_t next_marker_ = 0;
  absl::flat_hash_map<uint64_t, Marker> markers_;
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_CHAT_STORE_H_
