#include "broker/store/memory/memory_chat_store.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/core/answer_batch.h"
#include "broker/core/chat_errors.h"
#include "broker/core/chat_rules.h"
#include "broker/core/holder_tag.h"

namespace parley::broker {

MemoryChatStore::MemoryChatStore(ChatOptions options)
    : options_(std::move(options)), idempotency_(options_.idempotency_window) {
  absl::MutexLock lock(&mu_);
  MakeRoom(kLobby);
}

void MemoryChatStore::Notify(const Changes& changes) {
  if (listener_ == nullptr) return;
  // The polls one change fills are answered as one batch: a stream writes once, after all.
  AnswerBatch answers;
  const absl::Time changed_at = absl::Now();
  for (const std::string& user : changes.users) listener_->UserChanged(user, changed_at);
  for (const std::string& room : changes.rooms) listener_->RoomChanged(room, changed_at);
  for (const std::string& room : changes.presence) listener_->PresencePublished(room);
}

// Each operation: decide and change under the mutex, answer, then tell the listener. In that
// order the caller's answer is handed over before the work its change causes: a Publish to a
// room of 10,000 answers its sender before the 10,000 polls it fills (it used to time out
// behind them). Nothing lies between the steps that can fail alone: the change is made under
// the mutex, and a crash anywhere takes the store with the process (clients reconnect to an
// empty broker: docs/operations.md). A poll woken a moment after the answer reads a change
// already made; one that parks in between is parked when the listener is told, so it is woken.
void MemoryChatStore::Connect(const ConnectRequest& request, absl::Time now,
                              Done<ConnectResult> done) {
  Mutate(std::move(done), [&](Changes* changes) { return ConnectLocked(request, now, changes); });
}

void MemoryChatStore::Disconnect(absl::string_view user, absl::string_view session, absl::Time now,
                                 StatusDone done) {
  Mutate(std::move(done),
         [&](Changes* changes) { return DisconnectLocked(user, session, now, changes); });
}

void MemoryChatStore::Publish(const PublishRequest& request, absl::Time now,
                              Done<StorePublish> done) {
  Mutate(std::move(done), [&](Changes* changes) { return PublishLocked(request, now, changes); });
}

void MemoryChatStore::Read(const ReadInput& input, size_t max_messages, absl::Time now,
                           Done<StoreRead> done) {
  absl::StatusOr<StoreRead> result;
  {
    absl::MutexLock lock(&mu_);
    result = ReadLocked(input, max_messages, now);
  }
  std::move(done)(std::move(result));
}

void MemoryChatStore::Join(absl::string_view user_name, absl::string_view room, bool granted,
                           absl::Time now, Done<JoinResult> done) {
  Mutate(std::move(done), [&](Changes* changes) -> absl::StatusOr<JoinResult> {
    absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
    if (!user.ok()) return user.status();
    Room* existing = FindRoom(room);
    if (existing != nullptr && !existing->Admits(user_name)) {
      if (!granted) return NoRoomToJoin(room);
      existing->Allow(user_name);
      allowed_rooms_[user_name].emplace(room);
    }
    JoinResult joined;
    JoinLocked(**user, room, now, &joined, changes);
    joined.presence = rooms_.at(room)->presence().Live();
    return joined;
  });
}

void MemoryChatStore::Leave(absl::string_view user, absl::string_view room, absl::Time now,
                            StatusDone done) {
  Mutate(std::move(done),
         [&](Changes* changes) { return LeaveRoomLocked(user, room, now, changes); });
}

void MemoryChatStore::History(absl::string_view room, absl::string_view reader,
                              const HistoryQuery& query, Done<HistoryPage> done) {
  std::optional<uint64_t> before;
  if (!query.before.empty()) {
    uint64_t position = 0;
    if (!absl::SimpleAtoi(query.before, &position)) {
      std::move(done)(absl::InvalidArgumentError(
          "before is not a position this broker's history uses (from another store?)"));
      return;
    }
    before = position;
  }
  absl::StatusOr<HistoryPage> result;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<const Room*> found = ReadableRoom(room, reader);
    if (!found.ok()) {
      result = found.status();
    } else {
      result = (*found)->HistoryBefore(query.limit, before);
    }
  }
  std::move(done)(std::move(result));
}

absl::StatusOr<ConnectResult> MemoryChatStore::ConnectLocked(const ConnectRequest& request,
                                                             absl::Time now, Changes* changes) {
  ForgetEndedSessions(now);
  if (ended_sessions_.contains(request.session)) return SessionLoggedOut();
  if (Revoked(request.user, request.session_started, now)) return SessionRevoked();
  if (ConnectedUser* existing = FindUser(request.user)) {
    if (existing->session == request.session) {
      existing->last_active = now;
      MarkOnline(*existing);
      return ConnectResult{existing->queue.epoch(), existing->queue.last_seq(), false,
                           PresenceOf(*existing)};
    }
    if (HolderKeepsName(request.holder_parked, existing->last_active, now, options_)) {
      return NameHeld(request.user);
    }
    RemoveUser(request.user, now, changes);  // expired, not yet swept
  }
  if (!request.may_create) return BrokerDraining();
  auto user = std::make_unique<ConnectedUser>(
      request.user, request.session, request.new_epoch, options_.queue_capacity, now,
      TokenBucket(options_.publish_rate, options_.publish_burst, now));
  ConnectedUser& added = *users_.emplace(request.user, std::move(user)).first->second;
  // Direct messages kept for this session while it was away come first.
  if (auto held = held_.find(request.user); held != held_.end()) {
    if (held->second.session == request.session && now <= held->second.until) {
      for (const MessagePtr& message : held->second.messages) added.queue.Append(message);
      held_.erase(held);
    }
  }
  JoinResult joined;
  JoinLocked(added, kLobby, now, &joined, changes);
  // And the rooms the server API let the user into while they were away.
  if (auto allowed = allowed_rooms_.find(request.user); allowed != allowed_rooms_.end()) {
    for (const std::string& room : allowed->second) JoinLocked(added, room, now, &joined, changes);
  }
  return ConnectResult{request.new_epoch, added.queue.last_seq(), true, PresenceOf(added)};
}

absl::Status MemoryChatStore::DisconnectLocked(absl::string_view user_name,
                                               absl::string_view session, absl::Time now,
                                               Changes* changes) {
  // The session ends first, whatever else this call finds (ChatStore::Disconnect).
  ForgetEndedSessions(now);
  if (ended_sessions_.insert(std::string(session)).second) {
    ended_order_.emplace_back(now + options_.ended_session_memory, std::string(session));
  }
  if (ended_order_.size() > options_.max_ended_sessions) {
    ended_sessions_.erase(ended_order_.front().second);
    ended_order_.pop_front();
  }
  absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
  if (!user.ok()) return user.status();
  if ((*user)->session != session) return SessionDoesNotHold(user_name);
  RemoveUser(user_name, now, changes);
  return absl::OkStatus();
}

void MemoryChatStore::ForgetEndedSessions(absl::Time now) {
  while (!ended_order_.empty() && ended_order_.front().first <= now) {
    ended_sessions_.erase(ended_order_.front().second);
    ended_order_.pop_front();
  }
}

absl::StatusOr<StorePublish> MemoryChatStore::PublishLocked(const PublishRequest& request,
                                                            absl::Time now, Changes* changes) {
  const PublishInput& input = request.input;
  const bool keyed = !input.idempotency_key.empty();
  // A system sender is a name the app chose: nobody connected, not rate limited.
  ConnectedUser* sender = nullptr;
  if (!input.system) {
    absl::StatusOr<ConnectedUser*> found = RequireUser(input.sender);
    if (!found.ok()) return found.status();
    sender = *found;
    if (!input.sender_session.empty() && sender->session != input.sender_session) {
      return NotTheHolder(input.sender);
    }
  }
  StorePublish answer;
  if (keyed) {
    if (auto record = idempotency_.Find(input.sender, input.idempotency_key, now)) {
      answer.result = PublishResult{record->message, record->recipients, true};
      return answer;
    }
  }
  // After the idempotency check: a retry of a stored message costs nothing.
  if (sender != nullptr) {
    if (const absl::Duration wait = sender->publish_bucket.TryTake(now);
        wait > absl::ZeroDuration()) {
      answer.limited_for = wait;
      return answer;
    }
  }
  PublishResult& result = answer.result;
  result.message = request.message;
  if (!input.room.empty()) {
    auto room = rooms_.find(input.room);
    if (room == rooms_.end()) return NoSuchRoom(input.room);
    if (sender != nullptr && !room->second->HasMember(input.sender)) {
      // A private room is not there at all for those it does not admit.
      if (!room->second->Admits(input.sender)) return NoSuchRoom(input.room);
      return NotAMember(input.sender, input.room);
    }
    result.recipients = DeliverToRoom(*room->second, result.message, changes);
    room->second->AddToHistory(result.message);
  } else {
    ConnectedUser* recipient = FindUser(input.to_user);
    if (recipient == nullptr && input.hold_for_session.empty()) return NotConnected(input.to_user);
    std::string holder =
        HolderTag(recipient != nullptr ? recipient->session : input.hold_for_session);
    if (!input.to_holder.empty() && input.to_holder != holder) return HolderChanged(input.to_user);
    // Both copies say who the message went to (a reload still tells the person apart).
    if (result.message->kind == MessageKind::kDirect) {
      auto stamped = std::make_shared<Message>(*result.message);
      stamped->to_holder = std::move(holder);
      result.message = std::move(stamped);
    }
    if (recipient == nullptr && !held_.contains(input.to_user) &&
        held_.size() >= options_.max_held_users) {
      return StoreFull(absl::StrCat("direct messages are kept for ", held_.size(),
                                    " users who are away already"));
    }
    if (recipient == nullptr) {
      HeldMessages& held = held_[input.to_user];
      if (held.session != input.hold_for_session) {
        held.session = input.hold_for_session;
        held.messages.clear();
      }
      held.messages.push_back(result.message);
      if (held.messages.size() > options_.queue_capacity) held.messages.pop_front();
      held.until = now + options_.offline_dm_ttl;
    } else {
      recipient->queue.Append(result.message);
      changes->users.push_back(input.to_user);
      result.recipients = 1;
    }
    if (sender != nullptr && recipient != sender) {
      sender->queue.Append(result.message);
      changes->users.push_back(input.sender);
      // Kept for a recipient away, the sender's own copy is the only queue so far: none.
      if (recipient != nullptr) result.recipients = 2;
    }
  }
  if (keyed) {
    idempotency_.Insert(input.sender, input.idempotency_key, {result.message, result.recipients},
                        now);
  }
  return answer;
}

absl::StatusOr<StoreRead> MemoryChatStore::ReadLocked(const ReadInput& input, size_t max,
                                                      absl::Time now) {
  absl::StatusOr<ConnectedUser*> found = RequireUser(input.user);
  if (!found.ok()) return found.status();
  ConnectedUser& user = **found;
  UserQueue& queue = user.queue;
  user.last_active = now;
  MarkOnline(user);

  StoreRead answer;
  answer.epoch = queue.epoch();
  if (input.epoch != 0 && input.epoch != queue.epoch()) {
    // The cursor belongs to a queue that no longer exists: answer at once from the start.
    answer.epoch_changed = true;
    answer.read = queue.ReadAfter(0, max);
    answer.read.gap = true;
  } else if (input.consume) {
    answer.read = queue.Consume(max);
  } else {
    if (input.cursor > queue.last_seq())
      return CursorBeyondNewest(input.cursor, queue.last_seq(), queue.epoch());
    answer.read = queue.ReadAfter(input.cursor, max);
  }
  if (input.watch_presence) {
    answer.presence = ChangedPresence(user, input);
    answer.presence_news = HasNewerPublishedPresence(user, input);
  }
  if (answer.read.messages.empty() && !answer.epoch_changed && !answer.presence_news) {
    answer.rooms.assign(user.rooms.begin(), user.rooms.end());  // it may park
  }
  return answer;
}

absl::Status MemoryChatStore::LeaveRoomLocked(absl::string_view user_name, absl::string_view room,
                                              absl::Time now, Changes* changes) {
  absl::StatusOr<ConnectedUser*> user = RequireUser(user_name);
  if (!user.ok()) return user.status();
  absl::flat_hash_map<std::string, absl::Time>& left_at = (*user)->left_at;
  if (!(*user)->rooms.contains(room)) {
    auto left = left_at.find(room);
    if (left != left_at.end() && now - left->second < options_.idempotency_window) {
      return absl::OkStatus();  // a retry of a leave that was done
    }
    return NotAMember(user_name, room);
  }
  absl::erase_if(left_at, [&](const auto& entry) {
    return now - entry.second >= options_.idempotency_window;
  });
  left_at[std::string(room)] = now;
  LeaveLocked(**user, room, now, changes);
  return absl::OkStatus();
}

void MemoryChatStore::Stats(Done<StoreStats> done) {
  StoreStats stats;
  {
    absl::MutexLock lock(&mu_);
    stats = StoreStats{users_.size(), rooms_.size(), presence_notifies_};
  }
  std::move(done)(stats);
}

std::vector<size_t> MemoryChatStore::QueueDepths() {
  absl::MutexLock lock(&mu_);
  std::vector<size_t> depths;
  depths.reserve(users_.size());
  for (const auto& [name, user] : users_) depths.push_back(user->queue.size());
  return depths;
}

ConnectedUser* MemoryChatStore::FindUser(absl::string_view user) {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : it->second.get();
}

const Room* MemoryChatStore::FindRoom(absl::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : it->second.get();
}

Room* MemoryChatStore::FindRoom(absl::string_view room) {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : it->second.get();
}

absl::StatusOr<const Room*> MemoryChatStore::ReadableRoom(absl::string_view room,
                                                          absl::string_view reader) const {
  const Room* found = FindRoom(room);
  if (found == nullptr || (!reader.empty() && !found->Admits(reader))) return NoSuchRoom(room);
  return found;
}

Room& MemoryChatStore::MakeRoom(absl::string_view name) {
  auto room = std::make_unique<Room>(std::string(name), options_.history,
                                     options_.presence_events_max_members, ++presence_clock_);
  return *rooms_.insert_or_assign(std::string(name), std::move(room)).first->second;
}

absl::StatusOr<ConnectedUser*> MemoryChatStore::RequireUser(absl::string_view user) {
  ConnectedUser* found = FindUser(user);
  if (found == nullptr) return NotConnected(user);
  return found;
}

MessagePtr MemoryChatStore::MakeMessage(MessageKind kind, absl::string_view room,
                                        absl::string_view from, absl::Time now) {
  auto message = std::make_shared<Message>();
  message->id = ids_.Next();
  message->kind = kind;
  message->room = std::string(room);
  message->from = std::string(from);
  message->sent_at = now;
  return message;
}

uint32_t MemoryChatStore::DeliverToRoom(const Room& room, const MessagePtr& message,
                                        Changes* changes) {
  uint32_t recipients = 0;
  for (const std::string& member : room.presence().members()) {
    if (ConnectedUser* user = FindUser(member)) {
      user->queue.Append(message);
      ++recipients;
    }
  }
  changes->rooms.push_back(room.name());
  return recipients;
}

void MemoryChatStore::AnnouncePresence(const Room& room, ConnectedUser& user, MessageKind kind,
                                       PresenceMode mode, absl::Time now, Changes* changes) {
  MessagePtr message = MakeMessage(kind, room.name(), user.name, now);
  if (mode == PresenceMode::kEvents) {
    DeliverToRoom(room, message, changes);
  } else {
    // A large room: only the user's own queue, so their other tabs learn of it.
    user.queue.Append(std::move(message));
    changes->users.push_back(user.name);
  }
}

void MemoryChatStore::JoinLocked(ConnectedUser& user, absl::string_view room_name, absl::Time now,
                                 JoinResult* result, Changes* changes) {
  auto it = rooms_.find(room_name);
  result->created = it == rooms_.end();
  Room& room = result->created ? MakeRoom(room_name) : *it->second;
  result->joined = room.presence().AddMember(user.name, user.online);
  if (!result->joined) return;
  user.rooms.emplace(room_name);
  user.left_at.erase(room_name);
  PresenceChanged(room);
  // The mode after the join: the member who makes a room large gets no JOIN line out.
  AnnouncePresence(room, user, MessageKind::kJoin, room.presence().mode(), now, changes);
  // The joiner's own parked polls know only their old rooms: wake them too.
  changes->users.push_back(user.name);
}

void MemoryChatStore::LeaveLocked(ConnectedUser& user, absl::string_view room_name, absl::Time now,
                                  Changes* changes) {
  auto it = rooms_.find(room_name);
  if (it != rooms_.end()) {
    Room& room = *it->second;
    // The mode before the leave: the lines a member saw in EVENTS mode end with this LEAVE.
    AnnouncePresence(room, user, MessageKind::kLeave, room.presence().mode(), now, changes);
    room.presence().RemoveMember(user.name);
    PresenceChanged(room);
    if (room.presence().members().empty() && room_name != kLobby && !room.kept()) {
      unpublished_presence_.erase(room.name());
      rooms_.erase(it);
    }
  }
  user.rooms.erase(std::string(room_name));
}

void MemoryChatStore::RemoveUser(absl::string_view user_name, absl::Time now, Changes* changes) {
  auto it = users_.find(user_name);
  if (it == users_.end()) return;
  ConnectedUser& user = *it->second;
  const std::vector<std::string> rooms(user.rooms.begin(), user.rooms.end());
  for (const std::string& room : rooms) LeaveLocked(user, room, now, changes);
  changes->users.push_back(std::string(user_name));  // its parked polls answer NOT_FOUND
  users_.erase(it);
}

}  // namespace parley::broker
