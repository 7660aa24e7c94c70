#include "broker/core/chat_state.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_errors.h"
#include "broker/core/holder_tag.h"
#include "broker/core/validation.h"

namespace parley::broker {
namespace {

constexpr size_t kDefaultMaxMessages = 100;
constexpr size_t kDefaultConsumeMessages = 1;

absl::Status ValidateUserAndSession(absl::string_view user, absl::string_view session) {
  if (absl::Status s = ValidateName("user", user); !s.ok()) return s;
  return ValidateToken("session", session);
}

absl::Status ValidateUserAndRoom(absl::string_view user, absl::string_view room) {
  if (absl::Status s = ValidateName("user", user); !s.ok()) return s;
  return ValidateName("room", room);
}

}  // namespace

ChatState::ChatState(ChatOptions options, const Clock* clock, ChatStore* store)
    : options_(std::move(options)), clock_(clock), store_(store) {
  store_->SetListener(&waiters_);
}

void ChatState::Connect(absl::string_view user, absl::string_view session,
                        absl::Time session_started, Done<ConnectResult> done) {
  if (absl::Status s = ValidateUserAndSession(user, session); !s.ok()) {
    std::move(done)(s);
    return;
  }
  ConnectRequest request;
  request.user = std::string(user);
  request.session = std::string(session);
  request.session_started = session_started;
  {
    absl::MutexLock lock(&random_mu_);
    request.new_epoch = absl::Uniform<uint64_t>(random_, 1, std::numeric_limits<uint64_t>::max());
  }
  request.may_create = !draining();
  request.holder_parked = waiters_.HasParked(user);
  store_->Connect(request, clock_->Now(), std::move(done));
}

void ChatState::Disconnect(absl::string_view user, absl::string_view session, StatusDone done) {
  if (absl::Status s = ValidateUserAndSession(user, session); !s.ok()) {
    std::move(done)(s);
    return;
  }
  store_->Disconnect(user, session, clock_->Now(), std::move(done));
}

void ChatState::Publish(const PublishInput& input, Done<PublishResult> done) {
  absl::Status valid = ValidateName("sender", input.sender);
  if (valid.ok() && input.room.empty() == input.to_user.empty()) {
    valid = absl::InvalidArgumentError("exactly one of room or to_user is required");
  }
  if (valid.ok()) {
    valid = input.room.empty() ? ValidateName("to_user", input.to_user)
                               : ValidateName("room", input.room);
  }
  if (valid.ok())
    valid = ValidateText(input.text, options_.max_text_bytes, options_.max_text_chars);
  if (valid.ok() && !input.idempotency_key.empty()) {
    valid = ValidateToken("idempotency_key", input.idempotency_key);
  }
  if (valid.ok() && !input.hold_for_session.empty()) {
    valid = input.to_user.empty() || input.system
                ? absl::InvalidArgumentError("hold_for_session is for a user's direct message")
                : ValidateToken("hold_for_session", input.hold_for_session);
  }
  if (valid.ok() && !input.sender_session.empty()) {
    valid = input.system ? absl::InvalidArgumentError("a system message has no sender_session")
                         : ValidateToken("sender_session", input.sender_session);
  }
  if (valid.ok() && !input.to_holder.empty()) {
    valid = input.to_user.empty() || input.system
                ? absl::InvalidArgumentError("to_holder is for a user's direct message")
                : ValidateHolderTag(input.to_holder);
  }
  if (!valid.ok()) {
    std::move(done)(valid);
    return;
  }
  const absl::Time now = clock_->Now();
  auto message = std::make_shared<Message>();
  message->id = ids_.Next();
  message->kind = input.system         ? MessageKind::kSystem
                  : input.room.empty() ? MessageKind::kDirect
                                       : MessageKind::kChat;
  message->room = input.room;
  message->from = input.sender;
  message->to = input.to_user;
  message->text = input.text;
  message->sent_at = now;
  if (message->kind == MessageKind::kDirect && !input.sender_session.empty()) {
    message->from_holder = HolderTag(input.sender_session);
  }
  store_->Publish(PublishRequest{input, std::move(message)}, now,
                  [this, done = std::move(done)](absl::StatusOr<StorePublish> answer) mutable {
                    if (!answer.ok()) {
                      std::move(done)(answer.status());
                      return;
                    }
                    if (answer->limited_for > absl::ZeroDuration()) {
                      ++publishes_limited_;
                      std::move(done)(RateLimited(absl::StrCat(
                          "publishing too fast: at most ", options_.publish_rate,
                          " messages per second (", options_.publish_burst, " at once); retry in ",
                          absl::ToInt64Milliseconds(answer->limited_for) + 1, " ms")));
                      return;
                    }
                    ++(answer->result.duplicate ? idempotent_duplicates_ : messages_published_);
                    std::move(done)(std::move(answer->result));
                  });
}

void ChatState::ReadOrPark(const ReadInput& input, std::shared_ptr<PollWaiter> waiter,
                           Done<ReadOutcome> done) {
  if (absl::Status s = ValidateName("user", input.user); !s.ok()) {
    std::move(done)(s);
    return;
  }
  size_t max = input.max_messages;
  if (max == 0) max = input.consume ? kDefaultConsumeMessages : kDefaultMaxMessages;
  max = std::min(max, options_.queue_capacity);
  Read(input, max, std::move(waiter), std::move(done));
}

void ChatState::Read(ReadInput input, size_t max, std::shared_ptr<PollWaiter> waiter,
                     Done<ReadOutcome> done) {
  std::optional<WaiterRegistry::Ticket> ticket;
  if (waiter != nullptr && !draining()) ticket = waiters_.BeginRead(input.user);
  input.may_park = ticket.has_value();
  // The store needs the input only until Read returns; the answer may need it again.
  auto read_input = std::make_shared<ReadInput>(std::move(input));
  store_->Read(*read_input, max, clock_->Now(),
               [this, read_input, max, waiter = std::move(waiter), ticket = std::move(ticket),
                done = std::move(done)](absl::StatusOr<StoreRead> read) mutable {
                 if (!read.ok()) {
                   if (ticket) waiters_.EndRead(*ticket);
                   std::move(done)(read.status());
                   return;
                 }
                 ReadOutcome outcome;
                 outcome.epoch = read->epoch;
                 outcome.read = std::move(read->read);
                 outcome.draining = draining();
                 messages_delivered_ += outcome.read.messages.size();
                 if (!read->epoch_changed) messages_dropped_ += outcome.read.missed;
                 const bool nothing =
                     outcome.read.messages.empty() && !read->epoch_changed && !read->presence_news;
                 if (ticket && nothing) {
                   switch (waiters_.Park(*ticket, waiter, std::move(read->rooms),
                                         read_input->watch_presence)) {
                     case WaiterRegistry::ParkResult::kParked:
                       outcome.parked = true;
                       std::move(done)(std::move(outcome));
                       return;
                     case WaiterRegistry::ParkResult::kChanged:
                       Read(std::move(*read_input), max, std::move(waiter), std::move(done));
                       return;
                     case WaiterRegistry::ParkResult::kDraining:
                       outcome.draining = true;
                       break;
                   }
                 } else if (ticket) {
                   waiters_.EndRead(*ticket);
                 }
                 if (read_input->watch_presence) outcome.presence = std::move(read->presence);
                 std::move(done)(std::move(outcome));
               });
}

bool ChatState::Unpark(absl::string_view user, PollWaiter* waiter) {
  return waiters_.Unpark(user, waiter);
}

void ChatState::Join(absl::string_view user, absl::string_view room, bool granted,
                     Done<JoinResult> done) {
  if (absl::Status s = ValidateUserAndRoom(user, room); !s.ok()) {
    std::move(done)(s);
    return;
  }
  store_->Join(user, room, granted, clock_->Now(), std::move(done));
}

void ChatState::Leave(absl::string_view user, absl::string_view room, StatusDone done) {
  absl::Status valid = ValidateUserAndRoom(user, room);
  if (valid.ok() && room == kLobby) {
    valid = absl::FailedPreconditionError("every connected user stays in the lobby");
  }
  if (!valid.ok()) {
    std::move(done)(valid);
    return;
  }
  store_->Leave(user, room, clock_->Now(), std::move(done));
}

void ChatState::History(absl::string_view room, absl::string_view reader, const HistoryQuery& query,
                        Done<HistoryPage> done) {
  absl::Status valid = ValidateName("room", room);
  if (valid.ok() && !reader.empty()) valid = ValidateName("user", reader);
  if (valid.ok()) valid = ValidateHistoryPosition(query.before);
  if (!valid.ok()) {
    std::move(done)(valid);
    return;
  }
  store_->History(room, reader, query, std::move(done));
}

void ChatState::Members(absl::string_view room, absl::string_view reader, const MembersQuery& query,
                        Done<MembersResult> done) {
  absl::Status valid = ValidateName("room", room);
  if (valid.ok() && query.limit > kMaxMembersPage) {
    valid = absl::InvalidArgumentError(absl::StrCat("limit must be at most ", kMaxMembersPage,
                                                    " (0 means ", kDefaultMembersPage, ")"));
  }
  if (valid.ok() && !query.after.empty()) valid = ValidateName("after", query.after);
  if (valid.ok() && !query.prefix.empty()) valid = ValidateName("prefix", query.prefix);
  if (valid.ok() && !reader.empty()) valid = ValidateName("user", reader);
  if (!valid.ok()) {
    std::move(done)(valid);
    return;
  }
  store_->Members(room, reader, query, std::move(done));
}

void ChatState::RoomsOf(absl::string_view user, Done<std::vector<RoomPresenceInfo>> done) {
  if (absl::Status s = ValidateName("user", user); !s.ok()) {
    std::move(done)(s);
    return;
  }
  store_->RoomsOf(user, std::move(done));
}

void ChatState::CreateRoom(const RoomSpec& spec, Done<CreateRoomResult> done) {
  absl::Status valid = ValidateName("name", spec.name);
  if (valid.ok() && spec.name == kLobby) {
    valid = absl::AlreadyExistsError("the lobby exists, and is public");
  }
  if (valid.ok() && spec.members.size() > kMaxRoomSpecMembers) {
    valid = absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxRoomSpecMembers, " members at creation; add more later"));
  }
  for (const std::string& member : spec.members) {
    if (valid.ok()) valid = ValidateName("members", member);
  }
  if (!valid.ok()) {
    std::move(done)(valid);
    return;
  }
  store_->CreateRoom(spec, clock_->Now(), std::move(done));
}

void ChatState::AddMember(absl::string_view room, absl::string_view user, Done<bool> done) {
  if (absl::Status s = ValidateUserAndRoom(user, room); !s.ok()) {
    std::move(done)(s);
    return;
  }
  store_->AddMember(room, user, clock_->Now(), std::move(done));
}

void ChatState::RemoveMember(absl::string_view room, absl::string_view user, Done<bool> done) {
  absl::Status valid = ValidateUserAndRoom(user, room);
  if (valid.ok() && room == kLobby) {
    valid = absl::FailedPreconditionError("every connected user stays in the lobby");
  }
  if (!valid.ok()) {
    std::move(done)(valid);
    return;
  }
  store_->RemoveMember(room, user, clock_->Now(), std::move(done));
}

void ChatState::EndUser(absl::string_view user, Done<bool> done) {
  if (absl::Status s = ValidateName("user", user); !s.ok()) {
    std::move(done)(s);
    return;
  }
  store_->EndUser(user, clock_->Now(), std::move(done));
}

void ChatState::ListRooms(Done<std::vector<RoomListing>> done) {
  store_->ListRooms(std::move(done));
}

void ChatState::Stats(Done<ChatStats> done) {
  store_->Stats([this, done = std::move(done)](absl::StatusOr<StoreStats> store) mutable {
    if (!store.ok()) {
      std::move(done)(store.status());
      return;
    }
    std::move(done)(Combine(*store));
  });
}

ChatStats ChatState::Combine(const StoreStats& store) {
  ChatStats stats;
  stats.users = store.users;
  stats.rooms = store.rooms;
  stats.parked_polls = waiters_.parked();
  stats.messages_published = messages_published_.load();
  stats.messages_delivered = messages_delivered_.load();
  stats.messages_dropped = messages_dropped_.load();
  stats.idempotent_duplicates = idempotent_duplicates_.load();
  stats.publishes_limited = publishes_limited_.load();
  stats.presence_notifies = store.presence_notifies;
  stats.presence_wakes = waiters_.presence_wakes();
  return stats;
}

void ChatState::Sweep(Done<SweepResult> done) {
  store_->Sweep(waiters_.ParkedUsers(), clock_->Now(), std::move(done));
}

void ChatState::PublishDuePresence(StatusDone done) {
  store_->PublishDuePresence(clock_->Now(), std::move(done));
}

void ChatState::BeginDrain() {
  draining_ = true;
  waiters_.BeginDrain();
}

}  // namespace parley::broker
