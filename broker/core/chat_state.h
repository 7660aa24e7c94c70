#ifndef PARLEY_BROKER_CORE_CHAT_STATE_H_
#define PARLEY_BROKER_CORE_CHAT_STATE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/chat_options.h"
#include "broker/core/chat_store.h"
#include "broker/core/clock.h"
#include "broker/core/done_callback.h"
#include "broker/core/message.h"
#include "broker/core/message_id_generator.h"
#include "broker/core/poll_waiter.h"
#include "broker/core/waiter_registry.h"

namespace parley::broker {

struct ReadOutcome {
  QueueRead read;
  uint64_t epoch = 0;
  bool parked = false;    // nothing to return: the waiter was parked on the queue
  bool draining = false;  // the broker is shutting down: reads no longer park
  // With watch_presence: the user's rooms whose version differs from the reader's, by name.
  std::vector<RoomPresenceInfo> presence;
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

// Parley's chat rules over a ChatStore: validates every operation's input, decides what it
// can from the injected clock and ChatOptions (message ids and times, epochs, rate limits,
// idle and presence thresholds), has the store carry it out, and turns the store's answer into
// what the RPC layer returns. Parks polls on this broker (WaiterRegistry), woken by what the
// store says changed. Knows nothing of gRPC: every answer is absl::Status with a canonical
// code and a message.
//
// Thread-safe. Answers come through `done` (done_callback.h): on the calling thread when the
// store answers at once, else on the store's thread. Parked waiters are woken on the thread
// that tells the registry of a change, after the store's answer to whoever made it.
class ChatState {
 public:
  // `store` outlives the state and has no listener yet.
  ChatState(ChatOptions options, const Clock* clock, ChatStore* store);
  ChatState(const ChatState&) = delete;
  ChatState& operator=(const ChatState&) = delete;

  void Connect(absl::string_view user, absl::string_view session, Done<ConnectResult> done) {
    Connect(user, session, absl::InfinitePast(), std::move(done));
  }
  // `session_started`: when the session began (InfinitePast: unknown), so a store that lost
  // writes since can refuse it (its logout may have been among them).
  void Connect(absl::string_view user, absl::string_view session, absl::Time session_started,
               Done<ConnectResult> done);
  void Disconnect(absl::string_view user, absl::string_view session, StatusDone done);
  void Publish(const PublishInput& input, Done<PublishResult> done);

  // Answers what the user's queue holds after the cursor. When there is nothing, and `waiter`
  // is non-null, the epoch matches (or is unknown) and the state is not draining, the waiter
  // is parked (outcome.parked) and will be woken once when the queue changes.
  // With watch_presence, a read also returns at once (with no messages) when one of the
  // user's rooms has *published* a presence version newer than the reader's, and a parked
  // waiter is also woken when one is published (PublishDuePresence). Any answer lists the
  // rooms whose live version differs from the reader's. Marks the user online.
  void ReadOrPark(const ReadInput& input, std::shared_ptr<PollWaiter> waiter,
                  Done<ReadOutcome> done);
  // Removes a parked waiter; false if it had already been taken for waking. Answers at once:
  // parked waiters are this broker's own.
  bool Unpark(absl::string_view user, PollWaiter* waiter);

  // `granted`: the caller vouches the user may enter even a private room (ChatStore::Join).
  void Join(absl::string_view user, absl::string_view room, bool granted, Done<JoinResult> done);
  void Leave(absl::string_view user, absl::string_view room, StatusDone done);
  // `reader` ("": trusted) as ChatStore::History.
  // A `before` that is not a history position (1-41 of [0-9-]) is INVALID_ARGUMENT.
  void History(absl::string_view room, absl::string_view reader, const HistoryQuery& query,
               Done<HistoryPage> done);
  // One page of the room's members (INVALID_ARGUMENT for a limit over kMaxMembersPage or a
  // malformed `after` or `prefix`).
  void Members(absl::string_view room, absl::string_view reader, const MembersQuery& query,
               Done<MembersResult> done);
  // The rooms `user` is in, sorted, with their presence.
  void RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done);
  // The server API's room access (ChatStore says what each does).
  static constexpr size_t kMaxRoomSpecMembers = 1000;
  void CreateRoom(const RoomSpec& spec, Done<CreateRoomResult> done);
  void AddMember(absl::string_view room, absl::string_view user, Done<bool> done);
  void RemoveMember(absl::string_view room, absl::string_view user, Done<bool> done);
  void EndUser(absl::string_view user, Done<bool> done);
  void ListRooms(Done<std::vector<RoomListing>> done);
  void Stats(Done<ChatStats> done);
  // Polls parked on this broker.
  size_t parked_polls() { return waiters_.parked(); }
  // Every user's queue depth (messages held), for the queue-depth histogram.
  std::vector<size_t> QueueDepths() { return store_->QueueDepths(); }

  // The periodic sweep: removes users idle for longer than user_idle_expiry (they leave their
  // rooms; a parked poll keeps its user active), marks offline those with no parked poll and
  // no poll within presence_window (each room's version bumps once per sweep however many
  // went offline), and forgets logged-out sessions older than ended_session_memory. An
  // expired user's session may Connect again; a logged-out one may not.
  void Sweep(Done<SweepResult> done);

  // Publishes the presence of every room that changed and last published at least
  // presence_notify_interval ago, waking the presence-watching polls of its members. The one
  // place presence wakes polls: call it often (a fraction of the interval), from a thread that
  // holds no other lock.
  void PublishDuePresence(StatusDone done);

  // From now on no read parks; every parked waiter is woken (its read then returns at once).
  void BeginDrain();
  bool draining() const { return draining_.load(); }

  const ChatOptions& options() const { return options_; }

 private:
  // The store's figures with this broker's own.
  ChatStats Combine(const StoreStats& store);
  // One read, parked when it finds nothing (or read again when the queue changed meanwhile).
  void Read(ReadInput input, size_t max, std::shared_ptr<PollWaiter> waiter,
            Done<ReadOutcome> done);

  const ChatOptions options_;
  const Clock* const clock_;
  ChatStore* const store_;
  MessageIdGenerator ids_;
  WaiterRegistry waiters_;
  std::atomic<bool> draining_{false};
  absl::Mutex random_mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(random_mu_);
  std::atomic<uint64_t> messages_published_{0};
  std::atomic<uint64_t> messages_delivered_{0};
  std::atomic<uint64_t> messages_dropped_{0};
  std::atomic<uint64_t> idempotent_duplicates_{0};
  std::atomic<uint64_t> publishes_limited_{0};
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CHAT_STATE_H_
