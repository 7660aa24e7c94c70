#include "broker/core/chat_state.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_errors.h"
#include "broker/core/validation.h"

namespace parley::broker {
namespace {

constexpr size_t kDefaultMaxMessages = 100;
constexpr size_t kDefaultConsumeMessages = 1;

}  // namespace

ChatState::ChatState(ChatOptions options, const Clock* clock)
    : options_(std::move(options)), clock_(clock), idempotency_(options_.idempotency_window) {
  absl::MutexLock lock(&mu_);
  CreateRoom(kLobby);
}

void ChatState::Connect(absl::string_view user, absl::string_view session,
                        Done<ConnectResult> done) {
  std::move(done)(DoConnect(user, session));
}

void ChatState::Disconnect(absl::string_view user, absl::string_view session, StatusDone done) {
  std::move(done)(DoDisconnect(user, session));
}

void ChatState::Publish(const PublishInput& input, Done<PublishResult> done) {
  std::move(done)(DoPublish(input));
}

void ChatState::ReadOrPark(const ReadInput& input, std::shared_ptr<PollWaiter> waiter,
                           Done<ReadOutcome> done) {
  std::move(done)(DoReadOrPark(input, std::move(waiter)));
}

void ChatState::Join(absl::string_view user, absl::string_view room, Done<JoinResult> done) {
  std::move(done)(DoJoin(user, room));
}

void ChatState::Leave(absl::string_view user, absl::string_view room, StatusDone done) {
  std::move(done)(DoLeave(user, room));
}

void ChatState::History(absl::string_view room, size_t limit,
                        Done<std::vector<MessagePtr>> done) {
  std::move(done)(DoHistory(room, limit));
}

void ChatState::Members(absl::string_view room, const MembersQuery& query,
                        Done<MembersResult> done) {
  std::move(done)(DoMembers(room, query));
}

void ChatState::RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done) {
  std::move(done)(DoRoomsOf(user));
}

absl::StatusOr<ConnectResult> ChatState::DoConnect(absl::string_view user_name,
                                                 absl::string_view session) {
  if (absl::Status s = ValidateName("user", user_name); !s.ok()) return s;
  if (absl::Status s = ValidateToken("session", session); !s.ok()) return s;
  WaiterList to_wake;
  ConnectResult result;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    ForgetEndedSessions(now);
    if (ended_sessions_.contains(session)) {
      return absl::UnauthenticatedError("this session was logged out; log in again");
    }
    if (ConnectedUser* existing = FindUser(user_name)) {
      if (existing->session == session) {
        existing->last_active = now;
        MarkOnline(*existing);
        return ConnectResult{existing->queue.epoch(), existing->queue.last_seq(), false,
                             PresenceOf(*existing)};
      }
      if (!IsIdle(*existing, now)) {
        return absl::AlreadyExistsError(
            absl::StrCat("user name '", user_name, "' is held by another session"));
      }
      RemoveUser(user_name, &to_wake);  // expired, not yet swept
    }
    if (draining_) return absl::UnavailableError("the broker is shutting down");
    const uint64_t epoch =
        absl::Uniform<uint64_t>(random_, 1, std::numeric_limits<uint64_t>::max());
    auto user = std::make_unique<ConnectedUser>(
        std::string(user_name), std::string(session), epoch, options_.queue_capacity, now,
        TokenBucket(options_.publish_rate, options_.publish_burst, now));
    ConnectedUser& added = *users_.emplace(user_name, std::move(user)).first->second;
    JoinResult joined;
    JoinLocked(added, kLobby, &joined, &to_wake);
    result = {epoch, added.queue.last_seq(), true, PresenceOf(added)};
  }
  WakeAll(std::move(to_wake));
  return result;
}

absl::Status ChatState::DoDisconnect(absl::string_view user_name, absl::string_view session) {
  if (absl::Status s = ValidateName("user", user_name); !s.ok()) return s;
  if (absl::Status s = ValidateToken("session", session); !s.ok()) return s;
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
    if (!user.ok()) return user.status();
    if ((*user)->session != session) {
      return absl::PermissionDeniedError(
          absl::StrCat("session does not hold user '", user_name, "'"));
    }
    RemoveUser(user_name, &to_wake);
    const absl::Time now = clock_->Now();
    ForgetEndedSessions(now);
    if (ended_sessions_.insert(std::string(session)).second) {
      ended_order_.emplace_back(now + options_.ended_session_memory, std::string(session));
    }
    if (ended_order_.size() > options_.max_ended_sessions) {
      ended_sessions_.erase(ended_order_.front().second);
      ended_order_.pop_front();
    }
  }
  WakeAll(std::move(to_wake));
  return absl::OkStatus();
}

void ChatState::ForgetEndedSessions(absl::Time now) {
  while (!ended_order_.empty() && ended_order_.front().first <= now) {
    ended_sessions_.erase(ended_order_.front().second);
    ended_order_.pop_front();
  }
}

absl::StatusOr<PublishResult> ChatState::DoPublish(const PublishInput& input) {
  if (absl::Status s = ValidateName("sender", input.sender); !s.ok()) return s;
  if (input.room.empty() == input.to_user.empty()) {
    return absl::InvalidArgumentError("exactly one of room or to_user is required");
  }
  if (!input.room.empty()) {
    if (absl::Status s = ValidateName("room", input.room); !s.ok()) return s;
  } else if (absl::Status s = ValidateName("to_user", input.to_user); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateText(input.text, options_.max_text_bytes, options_.max_text_chars);
      !s.ok())
    return s;
  const bool keyed = !input.idempotency_key.empty();
  if (keyed) {
    if (absl::Status s = ValidateToken("idempotency_key", input.idempotency_key); !s.ok()) {
      return s;
    }
  }

  WaiterList to_wake;
  PublishResult result;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    absl::StatusOr<ConnectedUser*> sender = RequireUser(input.sender);
    if (!sender.ok()) return sender.status();
    if (keyed) {
      if (auto record = idempotency_.Find(input.sender, input.idempotency_key, now)) {
        ++idempotent_duplicates_;
        return PublishResult{record->message, record->recipients, true};
      }
    }
    // After the idempotency check: a retry of a stored message costs nothing.
    if (const absl::Duration wait = (*sender)->publish_bucket.TryTake(now);
        wait > absl::ZeroDuration()) {
      ++publishes_limited_;
      return absl::ResourceExhaustedError(
          absl::StrCat("publishing too fast: at most ", options_.publish_rate,
                       " messages per second (", options_.publish_burst, " at once); retry in ",
                       absl::ToInt64Milliseconds(wait) + 1, " ms"));
    }
    if (!input.room.empty()) {
      auto room = rooms_.find(input.room);
      if (room == rooms_.end()) return NoSuchRoom(input.room);
      if (!room->second->HasMember(input.sender)) {
        return absl::FailedPreconditionError(
            absl::StrCat("user '", input.sender, "' is not a member of room '", input.room, "'"));
      }
      result.message = MakeMessage(MessageKind::kChat, input.room, input.sender, "", input.text);
      result.recipients = DeliverToRoom(*room->second, result.message, &to_wake);
      room->second->AddToHistory(result.message);
    } else {
      ConnectedUser* recipient = FindUser(input.to_user);
      if (recipient == nullptr) return NotConnected(input.to_user);
      result.message =
          MakeMessage(MessageKind::kDirect, "", input.sender, input.to_user, input.text);
      recipient->queue.Append(result.message, &to_wake);
      result.recipients = 1;
      if (recipient != *sender) {
        (*sender)->queue.Append(result.message, &to_wake);
        result.recipients = 2;
      }
    }
    ++messages_published_;
    if (keyed) {
      idempotency_.Insert(input.sender, input.idempotency_key, {result.message, result.recipients},
                          now);
    }
  }
  WakeAll(std::move(to_wake));
  return result;
}

absl::StatusOr<ReadOutcome> ChatState::DoReadOrPark(const ReadInput& input,
                                                  std::shared_ptr<PollWaiter> waiter) {
  if (absl::Status s = ValidateName("user", input.user); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<ConnectedUser*> found = RequireUser(input.user);
  if (!found.ok()) return found.status();
  ConnectedUser& user = **found;
  UserQueue& queue = user.queue;
  user.last_active = clock_->Now();
  MarkOnline(user);

  size_t max = input.max_messages;
  if (max == 0) max = input.consume ? kDefaultConsumeMessages : kDefaultMaxMessages;
  max = std::min(max, options_.queue_capacity);

  ReadOutcome outcome;
  outcome.epoch = queue.epoch();
  outcome.draining = draining_;
  if (input.epoch != 0 && input.epoch != queue.epoch()) {
    // The cursor belongs to a queue that no longer exists: answer at once from the start.
    outcome.read = queue.ReadAfter(0, max);
    outcome.read.gap = true;
    messages_delivered_ += outcome.read.messages.size();
    if (input.watch_presence) outcome.presence = ChangedPresence(user, input);
    return outcome;
  }
  if (input.consume) {
    outcome.read = queue.Consume(max);
  } else {
    if (input.cursor > queue.last_seq()) {
      return absl::OutOfRangeError(absl::StrCat(
          "cursor ", input.cursor, " is beyond the newest message (seq ", queue.last_seq(),
          ") of this queue (epoch ", queue.epoch(), "); start again from cursor 0"));
    }
    outcome.read = queue.ReadAfter(input.cursor, max);
  }
  messages_delivered_ += outcome.read.messages.size();
  messages_dropped_ += outcome.read.missed;
  const bool presence_news = input.watch_presence && outcome.read.messages.empty() &&
                             HasNewerPublishedPresence(user, input);
  if (outcome.read.messages.empty() && !presence_news && waiter != nullptr && !draining_) {
    queue.AddWaiter(std::move(waiter), input.watch_presence);
    outcome.parked = true;
    return outcome;
  }
  if (input.watch_presence) outcome.presence = ChangedPresence(user, input);
  return outcome;
}

bool ChatState::Unpark(absl::string_view user_name, PollWaiter* waiter) {
  absl::MutexLock lock(&mu_);
  ConnectedUser* user = FindUser(user_name);
  return user != nullptr && user->queue.RemoveWaiter(waiter);
}

absl::StatusOr<JoinResult> ChatState::DoJoin(absl::string_view user_name, absl::string_view room) {
  if (absl::Status s = ValidateName("user", user_name); !s.ok()) return s;
  if (absl::Status s = ValidateName("room", room); !s.ok()) return s;
  WaiterList to_wake;
  JoinResult result;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
    if (!user.ok()) return user.status();
    JoinLocked(**user, room, &result, &to_wake);
    result.presence = rooms_.at(room)->presence().Live();
  }
  WakeAll(std::move(to_wake));
  return result;
}

absl::Status ChatState::DoLeave(absl::string_view user_name, absl::string_view room) {
  if (absl::Status s = ValidateName("user", user_name); !s.ok()) return s;
  if (absl::Status s = ValidateName("room", room); !s.ok()) return s;
  if (room == kLobby) {
    return absl::FailedPreconditionError("every connected user stays in the lobby");
  }
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
    if (!user.ok()) return user.status();
    if (!(*user)->rooms.contains(room)) {
      return absl::FailedPreconditionError(
          absl::StrCat("user '", user_name, "' is not a member of room '", room, "'"));
    }
    LeaveLocked(**user, room, &to_wake);
  }
  WakeAll(std::move(to_wake));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MessagePtr>> ChatState::DoHistory(absl::string_view room, size_t limit) {
  if (absl::Status s = ValidateName("room", room); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return NoSuchRoom(room);
  return it->second->RecentHistory(limit);
}

ChatStats ChatState::Stats() {
  absl::MutexLock lock(&mu_);
  ChatStats stats;
  stats.users = users_.size();
  stats.rooms = rooms_.size();
  stats.messages_published = messages_published_;
  stats.messages_delivered = messages_delivered_;
  stats.messages_dropped = messages_dropped_;
  stats.idempotent_duplicates = idempotent_duplicates_;
  stats.publishes_limited = publishes_limited_;
  stats.presence_notifies = presence_notifies_;
  stats.presence_wakes = presence_wakes_;
  for (const auto& [name, user] : users_) stats.parked_polls += user->queue.waiter_count();
  return stats;
}

std::vector<size_t> ChatState::QueueDepths() {
  absl::MutexLock lock(&mu_);
  std::vector<size_t> depths;
  depths.reserve(users_.size());
  for (const auto& [name, user] : users_) depths.push_back(user->queue.size());
  return depths;
}

void ChatState::BeginDrain() {
  WaiterList to_wake;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    for (auto& [name, user] : users_) user->queue.TakeWaiters(&to_wake);
  }
  WakeAll(std::move(to_wake));
}

ConnectedUser* ChatState::FindUser(absl::string_view user) {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : it->second.get();
}

const Room* ChatState::FindRoom(absl::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : it->second.get();
}

Room& ChatState::CreateRoom(absl::string_view name) {
  auto room = std::make_unique<Room>(std::string(name), options_.history,
                                     options_.presence_events_max_members, ++presence_clock_);
  return *rooms_.insert_or_assign(std::string(name), std::move(room)).first->second;
}

absl::StatusOr<ConnectedUser*> ChatState::RequireUser(absl::string_view user) {
  ConnectedUser* found = FindUser(user);
  if (found == nullptr) return NotConnected(user);
  return found;
}

MessagePtr ChatState::MakeMessage(MessageKind kind, absl::string_view room, absl::string_view from,
                                  absl::string_view to, absl::string_view text) {
  auto message = std::make_shared<Message>();
  message->id = ids_.Next();
  message->kind = kind;
  message->room = std::string(room);
  message->from = std::string(from);
  message->to = std::string(to);
  message->text = std::string(text);
  message->sent_at = clock_->Now();
  return message;
}

uint32_t ChatState::DeliverToRoom(const Room& room, const MessagePtr& message,
                                  WaiterList* to_wake) {
  uint32_t recipients = 0;
  for (const std::string& member : room.presence().members()) {
    if (ConnectedUser* user = FindUser(member)) {
      user->queue.Append(message, to_wake);
      ++recipients;
    }
  }
  return recipients;
}

void ChatState::AnnouncePresence(const Room& room, ConnectedUser& user, MessageKind kind,
                                 PresenceMode mode, WaiterList* to_wake) {
  MessagePtr message = MakeMessage(kind, room.name(), user.name, "", "");
  if (mode == PresenceMode::kEvents) {
    DeliverToRoom(room, message, to_wake);
  } else {
    // A large room: only the user's own queue, so their other tabs learn of it.
    user.queue.Append(std::move(message), to_wake);
  }
}

void ChatState::JoinLocked(ConnectedUser& user, absl::string_view room_name, JoinResult* result,
                           WaiterList* to_wake) {
  auto it = rooms_.find(room_name);
  result->created = it == rooms_.end();
  Room& room = result->created ? CreateRoom(room_name) : *it->second;
  result->joined = room.presence().AddMember(user.name, user.online);
  if (!result->joined) return;
  user.rooms.emplace(room_name);
  PresenceChanged(room);
  // The mode after the join: the member who makes a room large gets no JOIN line out.
  AnnouncePresence(room, user, MessageKind::kJoin, room.presence().mode(), to_wake);
}

void ChatState::LeaveLocked(ConnectedUser& user, absl::string_view room_name, WaiterList* to_wake) {
  auto it = rooms_.find(room_name);
  if (it != rooms_.end()) {
    Room& room = *it->second;
    // The mode before the leave: the lines a member saw in EVENTS mode end with this LEAVE.
    AnnouncePresence(room, user, MessageKind::kLeave, room.presence().mode(), to_wake);
    room.presence().RemoveMember(user.name);
    PresenceChanged(room);
    if (room.presence().members().empty() && room_name != kLobby) {
      unpublished_presence_.erase(room.name());
      rooms_.erase(it);
    }
  }
  user.rooms.erase(std::string(room_name));
}

void ChatState::RemoveUser(absl::string_view user_name, WaiterList* to_wake) {
  auto it = users_.find(user_name);
  if (it == users_.end()) return;
  ConnectedUser& user = *it->second;
  const std::vector<std::string> rooms(user.rooms.begin(), user.rooms.end());
  for (const std::string& room : rooms) LeaveLocked(user, room, to_wake);
  user.queue.TakeWaiters(to_wake);
  users_.erase(it);
}

bool ChatState::IsIdle(const ConnectedUser& user, absl::Time now) const {
  return user.queue.waiter_count() == 0 && now - user.last_active > options_.user_idle_expiry;
}

}  // namespace parley::broker
