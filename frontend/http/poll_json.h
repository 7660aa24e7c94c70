#ifndef PARLEY_FRONTEND_HTTP_POLL_JSON_H_
#define PARLEY_FRONTEND_HTTP_POLL_JSON_H_

#include <array>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "parley/v1/broker.pb.h"

namespace parley::frontend {

// Writes PollResponse JSON byte-for-byte as protobuf's JSON mapping would (every field
// printed), but turns each Message into JSON once per frontend instead of once per
// recipient: in a room of 1,000 the same message is answered 1,000 times, and protobuf's
// JSON printer was a third of the frontend's CPU (bench/README.md).
//
// Only `seq` differs between recipients, so the cache keeps each message's JSON split
// around its seq value. Entries are keyed by message id and checked field by field on a
// hit, so a reused id can never answer stale text. The cache holds the newest
// `capacity` messages (oldest evicted first), split into shards so the HTTP threads
// rarely meet on one mutex. Thread-safe.
class PollJson {
 public:
  explicit PollJson(size_t capacity = 4096);

  std::string Write(const v1::PollResponse& response);
  // Messages whose JSON is cached now (at most the capacity).
  size_t CachedMessages();

 private:
  // A message's JSON with seq set to 0, cut just before and just after that "0".
  struct Rendered {
    v1::Message message;  // with seq cleared, to check hits against
    std::string head;     // ... "seq":"
    std::string tail;     // ","kind": ... }
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<const Rendered>> by_id ABSL_GUARDED_BY(mu);
    std::deque<std::string> order ABSL_GUARDED_BY(mu);  // ids, oldest first
  };
  static constexpr size_t kShards = 16;

  std::shared_ptr<const Rendered> Find(const v1::Message& message);
  static std::shared_ptr<const Rendered> Render(const v1::Message& message);

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_HTTP_POLL_JSON_H_
