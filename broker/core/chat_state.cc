#include "broker/core/chat_state.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/core/validation.h"

namespace parley::broker {
namespace {

constexpr size_t kDefaultMaxMessages = 100;
constexpr size_t kDefaultConsumeMessages = 1;

absl::Status NotConnected(absl::string_view user) {
  return absl::NotFoundError(absl::StrCat("user '", user, "' is not connected"));
}

absl::Status NoSuchRoom(absl::string_view room) {
  return absl::NotFoundError(absl::StrCat("room '", room, "' does not exist"));
}

}  // namespace

ChatState::ChatState(ChatOptions options, const Clock* clock)
    : options_(std::move(options)), clock_(clock), idempotency_(options_.idempotency_window) {
  rooms_.emplace(kLobby, std::make_unique<Room>(std::string(kLobby), options_.history));
}

absl::StatusOr<ConnectResult> ChatState::Connect(absl::string_view user_name,
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
        return ConnectResult{existing->queue.epoch(), existing->queue.last_seq(), false};
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
    result = {epoch, added.queue.last_seq(), true};
  }
  WakeAll(std::move(to_wake));
  return result;
}

absl::Status ChatState::Disconnect(absl::string_view user_name, absl::string_view session) {
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

absl::StatusOr<PublishResult> ChatState::Publish(const PublishInput& input) {
  if (absl::Status s = ValidateName("sender", input.sender); !s.ok()) return s;
  if (input.room.empty() == input.to_user.empty()) {
    return absl::InvalidArgumentError("exactly one of room or to_user is required");
  }
  if (!input.room.empty()) {
    if (absl::Status s = ValidateName("room", input.room); !s.ok()) return s;
  } else if (absl::Status s = ValidateName("to_user", input.to_user); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateText(input.text, options_.max_text_bytes, options_.max_text_chars); !s.ok()) return s;
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

absl::StatusOr<ReadOutcome> ChatState::ReadOrPark(const ReadInput& input,
                                                  std::shared_ptr<PollWaiter> waiter) {
  if (absl::Status s = ValidateName("user", input.user); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<ConnectedUser*> found = RequireUser(input.user);
  if (!found.ok()) return found.status();
  ConnectedUser& user = **found;
  UserQueue& queue = user.queue;
  user.last_active = clock_->Now();

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
  if (outcome.read.messages.empty() && waiter != nullptr && !draining_) {
    queue.AddWaiter(std::move(waiter));
    outcome.parked = true;
  }
  return outcome;
}

bool ChatState::Unpark(absl::string_view user_name, PollWaiter* waiter) {
  absl::MutexLock lock(&mu_);
  ConnectedUser* user = FindUser(user_name);
  return user != nullptr && user->queue.RemoveWaiter(waiter);
}

absl::StatusOr<JoinResult> ChatState::Join(absl::string_view user_name, absl::string_view room) {
  if (absl::Status s = ValidateName("user", user_name); !s.ok()) return s;
  if (absl::Status s = ValidateName("room", room); !s.ok()) return s;
  WaiterList to_wake;
  JoinResult result;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
    if (!user.ok()) return user.status();
    JoinLocked(**user, room, &result, &to_wake);
  }
  WakeAll(std::move(to_wake));
  return result;
}

absl::Status ChatState::Leave(absl::string_view user_name, absl::string_view room) {
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

absl::StatusOr<std::vector<MessagePtr>> ChatState::History(absl::string_view room, size_t limit) {
  if (absl::Status s = ValidateName("room", room); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return NoSuchRoom(room);
  return it->second->RecentHistory(limit);
}

absl::StatusOr<std::vector<MemberInfo>> ChatState::Members(absl::string_view room) {
  if (absl::Status s = ValidateName("room", room); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return NoSuchRoom(room);
  const absl::Time now = clock_->Now();
  std::vector<MemberInfo> members;
  for (const std::string& name : it->second->members()) {
    const ConnectedUser* user = FindUser(name);
    members.push_back({name, user != nullptr && IsOnline(*user, now)});
  }
  return members;
}

absl::StatusOr<std::vector<std::string>> ChatState::RoomsOf(absl::string_view user_name) {
  if (absl::Status s = ValidateName("user", user_name); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
  if (!user.ok()) return user.status();
  return std::vector<std::string>((*user)->rooms.begin(), (*user)->rooms.end());
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

size_t ChatState::ExpireIdleUsers() {
  WaiterList to_wake;
  std::vector<std::string> expired;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (const auto& [name, user] : users_) {
      if (IsIdle(*user, now)) expired.push_back(name);
    }
    for (const std::string& name : expired) RemoveUser(name, &to_wake);
    ForgetEndedSessions(now);
  }
  WakeAll(std::move(to_wake));
  return expired.size();
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
  for (const std::string& member : room.members()) {
    if (ConnectedUser* user = FindUser(member)) {
      user->queue.Append(message, to_wake);
      ++recipients;
    }
  }
  return recipients;
}

void ChatState::JoinLocked(ConnectedUser& user, absl::string_view room_name, JoinResult* result,
                           WaiterList* to_wake) {
  auto [it, created] = rooms_.try_emplace(room_name);
  if (created) it->second = std::make_unique<Room>(std::string(room_name), options_.history);
  result->created = created;
  result->joined = it->second->AddMember(user.name);
  if (!result->joined) return;
  user.rooms.emplace(room_name);
  DeliverToRoom(*it->second, MakeMessage(MessageKind::kJoin, room_name, user.name, "", ""),
                to_wake);
}

void ChatState::LeaveLocked(ConnectedUser& user, absl::string_view room_name, WaiterList* to_wake) {
  auto it = rooms_.find(room_name);
  if (it != rooms_.end()) {
    // The leaver gets the LEAVE too, so every tab of theirs learns of it.
    DeliverToRoom(*it->second, MakeMessage(MessageKind::kLeave, room_name, user.name, "", ""),
                  to_wake);
    it->second->RemoveMember(user.name);
    if (it->second->members().empty() && room_name != kLobby) rooms_.erase(it);
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

bool ChatState::IsOnline(const ConnectedUser& user, absl::Time now) const {
  return user.queue.waiter_count() > 0 || now - user.last_active <= options_.presence_window;
}

}  // namespace parley::broker
