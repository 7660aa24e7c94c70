#include "frontend/http/poll_json.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "frontend/http/http_error.h"

namespace parley::frontend {
namespace {

absl::string_view Bool(bool value) { return value ? "true" : "false"; }

}  // namespace

PollJson::PollJson(size_t capacity) : shard_capacity_(std::max<size_t>(1, capacity / kShards)) {}

size_t PollJson::CachedMessages() {
  size_t count = 0;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    count += shard.by_id.size();
  }
  return count;
}

std::shared_ptr<const PollJson::Rendered> PollJson::Render(const v1::Message& message) {
  auto rendered = std::make_shared<Rendered>();
  rendered->message = message;
  rendered->message.clear_seq();
  std::string json = ToJson(rendered->message);
  // A '"' inside a JSON string is always escaped, so the first unescaped `,"seq":"0"`
  // is the field itself, whatever the id holds.
  constexpr absl::string_view kSeq = ",\"seq\":\"";
  const size_t at = json.find(absl::StrCat(kSeq, "0\""));
  if (at == std::string::npos) return nullptr;  // cannot happen with this proto
  rendered->head = json.substr(0, at + kSeq.size());
  rendered->tail = json.substr(at + kSeq.size() + 1);
  return rendered;
}

std::shared_ptr<const PollJson::Rendered> PollJson::Find(const v1::Message& message) {
  Shard& shard = shards_[absl::HashOf(message.id()) % kShards];
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.by_id.find(message.id());
    if (it != shard.by_id.end()) {
      const v1::Message& cached = it->second->message;
      if (cached.kind() == message.kind() && cached.room() == message.room() &&
          cached.from() == message.from() && cached.to() == message.to() &&
          cached.text() == message.text() && cached.from_holder() == message.from_holder() &&
          cached.to_holder() == message.to_holder() &&
          cached.sent_at().seconds() == message.sent_at().seconds() &&
          cached.sent_at().nanos() == message.sent_at().nanos()) {
        return it->second;
      }
    }
  }
  // Rendered outside the lock: two threads may render the same message; both are right.
  std::shared_ptr<const Rendered> rendered = Render(message);
  if (rendered == nullptr) return nullptr;
  absl::MutexLock lock(&shard.mu);
  auto [it, inserted] = shard.by_id.insert_or_assign(message.id(), rendered);
  if (inserted) {
    shard.order.push_back(message.id());
    if (shard.order.size() > shard_capacity_) {
      shard.by_id.erase(shard.order.front());
      shard.order.pop_front();
    }
  }
  return rendered;
}

std::string PollJson::Write(const v1::PollResponse& response) {
  // Every message's JSON is found first, so the answer is allocated once, at its size.
  constexpr size_t kFixed = 160;  // the brackets, cursor, gap, epoch and presence framing
  absl::InlinedVector<std::shared_ptr<const Rendered>, 4> rendered;
  size_t size = kFixed;
  for (const v1::Message& message : response.messages()) {
    rendered.push_back(Find(message));
    if (rendered.back() != nullptr)
      size += rendered.back()->head.size() + rendered.back()->tail.size() + 21;
  }
  std::string json;
  json.reserve(size);
  json = "{\"messages\":[";
  for (int i = 0; i < response.messages_size(); ++i) {
    const v1::Message& message = response.messages(i);
    if (i > 0) json.push_back(',');
    if (rendered[i] == nullptr) {
      json += ToJson(message);
      continue;
    }
    absl::StrAppend(&json, rendered[i]->head, message.seq(), rendered[i]->tail);
  }
  absl::StrAppend(&json, "],\"cursor\":\"", response.cursor(), "\",\"gap\":", Bool(response.gap()),
                  ",\"epoch\":\"", response.epoch(), "\",\"presence\":[");
  for (int i = 0; i < response.presence_size(); ++i) {
    if (i > 0) json.push_back(',');
    json += ToJson(response.presence(i));  // rare and small: protobuf's printer is fine here
  }
  json += "]}";
  return json;
}

}  // namespace parley::frontend
