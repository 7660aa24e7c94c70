#include "broker/store/redis/queue_mirror.h"

namespace parley::broker::redis {

void QueueMirror::Resubscribed() {
  absl::MutexLock lock(&mu_);
  ForgetAll();
  last_event_ = 0;
  written_ = 0;
}

bool QueueMirror::Continue(uint64_t event) {
  if (last_event_ == 0 || event == last_event_ + 1) {
    last_event_ = event;
    return true;
  }
  // A notification missed, or the shard's numbers started again (a flushed Redis): nothing
  // known can be trusted, nor anything a read already sent will say.
  ForgetAll();
  last_event_ = event;
  written_ = 0;
  return false;
}

void QueueMirror::RoomLines(uint64_t event, absl::string_view room, ParseLines parse) {
  absl::MutexLock lock(&mu_);
  if (!Continue(event)) return;
  auto members = by_room_.find(room);
  if (members == by_room_.end()) return;
  const absl::StatusOr<std::vector<MessagePtr>> parsed = parse();
  if (!parsed.ok()) {
    ForgetAll();
    return;
  }
  const std::vector<MessagePtr>& lines = *parsed;
  for (User* user : members->second) {
    if (event <= user->learnt_at) continue;  // the read saw it
    for (const MessagePtr& line : lines) {
      user->lines.push_back({++user->seq, line});
      if (user->lines.size() > max_lines_) {
        user->base = user->lines.front().seq;
        user->lines.pop_front();
      }
    }
  }
}

void QueueMirror::UserChanged(uint64_t event, absl::string_view user) {
  absl::MutexLock lock(&mu_);
  if (!Continue(event)) return;
  auto known = users_.find(user);
  if (known != users_.end() && event > known->second.learnt_at) Forget(known);
}

void QueueMirror::EveryUserChanged(uint64_t event) {
  absl::MutexLock lock(&mu_);
  Continue(event);
  ForgetAll();
}

void QueueMirror::Learn(uint64_t generation, const std::string& user, uint64_t epoch, uint64_t seq,
                        const std::vector<std::string>& rooms, uint64_t event) {
  absl::MutexLock lock(&mu_);
  if (generation != generation_) return;
  auto known = users_.find(user);
  if (known != users_.end()) Forget(known);
  // Notifications after the read have been handled already, without this user's new state.
  if (last_event_ != 0 && event < last_event_) return;
  User& entry = users_[user];
  entry.name = user;
  entry.epoch = epoch;
  entry.seq = seq;
  entry.base = seq;
  entry.rooms = rooms;
  entry.learnt_at = event;
  for (const std::string& room : rooms) by_room_[room].insert(&entry);
}

std::optional<StoreRead> QueueMirror::Read(const ReadInput& input, size_t max_messages,
                                           absl::Time now) {
  absl::MutexLock lock(&mu_);
  // Only a read that parks when it finds nothing: the notification it has not seen yet, if
  // any, wakes it. A read that returns at once goes to Redis, which every broker shares.
  if (!input.may_park || input.consume || input.watch_presence) return std::nullopt;
  if (written_ > last_event_) return std::nullopt;
  auto known = users_.find(input.user);
  if (known == users_.end()) return std::nullopt;
  User& user = known->second;
  if (input.epoch != 0 && input.epoch != user.epoch) return std::nullopt;
  if (input.cursor < user.base || input.cursor > user.seq) return std::nullopt;
  StoreRead read;
  read.epoch = user.epoch;
  read.read.cursor = input.cursor;
  for (size_t i = input.cursor - user.base;
       i < user.lines.size() && read.read.messages.size() < max_messages; ++i) {
    read.read.messages.push_back(user.lines[i]);
    read.read.cursor = user.lines[i].seq;
  }
  if (read.read.messages.empty()) read.rooms = user.rooms;
  user.answered = now;
  return read;
}

std::vector<std::pair<std::string, absl::Time>> QueueMirror::TakeAnswered() {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, absl::Time>> answered;
  for (auto it = users_.begin(); it != users_.end();) {
    User& user = it->second;
    if (user.answered) {
      answered.emplace_back(user.name, *user.answered);
      user.answered.reset();
      user.idle_sweeps = 0;
      ++it;
    } else if (++user.idle_sweeps >= 2) {
      Forget(it++);
    } else {
      ++it;
    }
  }
  return answered;
}

void QueueMirror::Forget(absl::node_hash_map<std::string, User>::iterator user) {
  for (const std::string& room : user->second.rooms) {
    auto members = by_room_.find(room);
    if (members == by_room_.end()) continue;
    members->second.erase(&user->second);
    if (members->second.empty()) by_room_.erase(members);
  }
  users_.erase(user);
}

void QueueMirror::ForgetAll() {
  users_.clear();
  by_room_.clear();
  ++generation_;
}

}  // namespace parley::broker::redis
