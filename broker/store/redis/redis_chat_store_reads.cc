// RedisChatStore: reads and the mirror (the shards' notifications kept per shard, which
// answer reads without a round trip; the rest batched per shard into read_many).
#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/core/answer_batch.h"
#include "broker/core/chat_errors.h"
#include "broker/store/redis/redis_chat_store.h"
#include "broker/store/redis/store_steps.h"
#include "broker/store/redis/stored_message.h"

namespace parley::broker::redis {

using steps::Append;
using steps::Ms;
using steps::PassFailure;

void RedisChatStore::OnNotification(size_t shard, absl::string_view payload) {
  if (payload.size() < 2 || payload[1] != ':') return;
  // "<kind>:<name> <Redis time in microseconds> <event>[\n<body>]" (names have no spaces;
  // chat.lua's notify), or "s:<marker>" (AfterNotifications).
  absl::string_view body;
  absl::string_view header = payload.substr(2);
  if (const size_t newline = header.find('\n'); newline != absl::string_view::npos) {
    body = header.substr(newline + 1);
    header = header.substr(0, newline);
  }
  const std::pair<absl::string_view, absl::string_view> name_and_numbers =
      absl::StrSplit(header, absl::MaxSplits(' ', 1));
  const absl::string_view name = name_and_numbers.first;
  if (payload[0] == 's') {
    uint64_t id = 0;
    auto marker = absl::SimpleAtoi(name, &id) ? markers_.find(id) : markers_.end();
    if (marker != markers_.end() && --marker->second.shards_left == 0) {
      absl::AnyInvocable<void()> done = std::move(marker->second.done);
      markers_.erase(marker);
      done();
    }
    return;
  }
  const std::pair<absl::string_view, absl::string_view> numbers =
      absl::StrSplit(name_and_numbers.second, absl::MaxSplits(' ', 1));
  int64_t published = 0;
  uint64_t event = 0;
  if (!absl::SimpleAtoi(numbers.first, &published) || !absl::SimpleAtoi(numbers.second, &event)) {
    // Not from this version's chat.lua: the mirror cannot follow the shard.
    mirrors_[shard]->Resubscribed();
    if (listener_ != nullptr) listener_->Resync();
    return;
  }
  const absl::Time received = absl::Now();
  // Redis's clock: on another host, the lag includes the clocks' skew (never below 0).
  const absl::Time changed_at = std::min(received, absl::FromUnixMicros(published));
  if (options_.notification_lag_seconds != nullptr) {
    options_.notification_lag_seconds->Observe(absl::ToDoubleSeconds(received - changed_at));
  }
  QueueMirror& mirror = *mirrors_[shard];
  // The polls a change wakes are answered here from the mirror: every answer before any write.
  AnswerBatch answers;
  switch (payload[0]) {
    case 'u':
      mirror.UserChanged(event, name);
      if (listener_ != nullptr) listener_->UserChanged(name, changed_at);
      break;
    case 'm':  // the user's rooms or online mark: nothing to wake
      mirror.UserChanged(event, name);
      break;
    case 'r':
      mirror.RoomLines(event, name, [body] { return MessagesFromPackedList(body); });
      if (listener_ != nullptr) listener_->RoomChanged(name, changed_at);
      break;
    case 'p':
      mirror.Other(event);
      if (listener_ != nullptr) listener_->PresencePublished(name);
      break;
    case 'f':
      mirror.EveryUserChanged(event);
      break;
    default:
      mirror.Other(event);
      break;
  }
}

void RedisChatStore::Read(const ReadInput& input, size_t max_messages, absl::Time now,
                          Done<StoreRead> done) {
  const size_t shard = ShardOf(input.user);
  std::optional<StoreRead> known;
  {
    absl::ReaderMutexLock stop_lock(&stop_mu_);
    if (!stopped_) {
      // What the mirror knows is answered on this thread (below, with no lock held), with no
      // hand-off to the loop.
      known = mirrors_[shard]->Read(input, max_messages, now);
    }
    if (!stopped_ && !known.has_value()) {
      PendingRead read{input, max_messages, now, std::move(done)};
      bool first = false;
      {
        absl::MutexLock lock(&reads_mu_);
        first = pending_reads_[shard].empty();
        pending_reads_[shard].push_back(std::move(read));
      }
      // The reads that come meanwhile (the other polls one notification wakes) join this one.
      if (first) loop_.Post([this, shard] { FlushReads(shard); });
      return;
    }
  }
  if (known.has_value()) {
    std::move(done)(*std::move(known));
  } else {
    std::move(done)(absl::UnavailableError("the Redis store is stopped"));
  }
}

void RedisChatStore::FlushReads(size_t shard) {
  std::vector<PendingRead> reads;
  {
    absl::MutexLock lock(&reads_mu_);
    reads.swap(pending_reads_[shard]);
  }
  // What the mirror has learnt since these reads came needs no round trip; the rest go to
  // Redis together.
  QueueMirror& mirror = *mirrors_[shard];
  AnswerBatch answers;
  std::vector<PendingRead> to_redis;
  for (PendingRead& read : reads) {
    if (std::optional<StoreRead> known = mirror.Read(read.input, read.max_messages, read.now)) {
      std::move(read.done)(*std::move(known));
    } else {
      to_redis.push_back(std::move(read));
    }
  }
  const uint64_t generation = mirror.generation();
  for (size_t at = 0; at < to_redis.size(); at += kMaxReadsPerCall) {
    auto batch = std::make_shared<std::vector<PendingRead>>(
        std::make_move_iterator(to_redis.begin() + at),
        std::make_move_iterator(to_redis.begin() +
                                std::min(to_redis.size(), at + kMaxReadsPerCall)));
    std::vector<std::string> args = {"read_many", absl::StrCat(batch->size())};
    for (const PendingRead& read : *batch) AppendReadArgs(read, args);
    CallRaw(shard, std::move(args), [this, shard, generation, batch](Reply reply) mutable {
      absl::StatusOr<std::vector<absl::StatusOr<ReadReply>>> reads =
          reply.ok() ? ParseReadMany(*reply, batch->size()) : reply.status();
      AnswerBatch answers;
      for (size_t i = 0; i < batch->size(); ++i) {
        PendingRead& read = (*batch)[i];
        OnRead(shard, generation, read.input, reads.ok() ? std::move((*reads)[i]) : reads.status(),
               std::move(read.done));
      }
    });
  }
}

void RedisChatStore::AppendReadArgs(const PendingRead& read, std::vector<std::string>& args) {
  const ReadInput& input = read.input;
  Append(args, {input.user, absl::StrCat(input.cursor), absl::StrCat(read.max_messages),
                input.consume ? "1" : "0", absl::StrCat(input.epoch), Ms(read.now),
                CandidateEpoch(), input.watch_presence ? "1" : "0"});
}

void RedisChatStore::OnRead(size_t shard, uint64_t generation, const ReadInput& input,
                            absl::StatusOr<ReadReply> reply, Done<StoreRead> done) {
  if (PassFailure(reply, done)) return;
  switch (reply->outcome) {
    case ReadReply::Outcome::kMissing:
      std::move(done)(NotConnected(input.user));
      return;
    case ReadReply::Outcome::kBeyond:
      std::move(done)(CursorBeyondNewest(input.cursor, reply->last_seq, reply->epoch));
      return;
    case ReadReply::Outcome::kOk:
      break;
  }
  auto read = std::make_shared<StoreRead>();
  read->epoch = reply->epoch;
  read->epoch_changed = reply->epoch_changed;
  read->read = std::move(reply->read);
  read->rooms = std::move(reply->rooms);
  // A read that found nothing, with the rooms it parks on: the mirror follows the queue from
  // here (a read that watches presence or consumes is always Redis's).
  if (read->read.messages.empty() && !read->epoch_changed && !read->read.gap && !input.consume &&
      !input.watch_presence) {
    mirrors_[shard]->Learn(generation, input.user, read->epoch, reply->last_seq, read->rooms,
                           reply->event);
  }
  auto presence = [this, input, read, done = std::move(done)](absl::Status status) mutable {
    if (!status.ok()) {
      std::move(done)(status);
      return;
    }
    if (!input.watch_presence) {
      std::move(done)(std::move(*read));
      return;
    }
    PresenceOf(read->rooms, [input, read, done = std::move(done)](
                                absl::StatusOr<std::vector<RoomState>> states) mutable {
      if (PassFailure(states, done)) return;
      for (RoomState& state : *states) {
        auto known = input.presence_versions.find(state.info.room);
        const uint64_t version = known == input.presence_versions.end() ? 0 : known->second;
        if (state.published_version > version) read->presence_news = true;
        if (version != state.info.presence.version) {
          read->presence.push_back(std::move(state.info));
        }
      }
      std::move(done)(std::move(*read));
    });
  };
  if (reply->went_online) {
    SetOnline(read->rooms, {input.user}, true, std::move(presence));
  } else {
    std::move(presence)(absl::OkStatus());
  }
}

}  // namespace parley::broker::redis
