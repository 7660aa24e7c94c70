#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_REPLY_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_REPLY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

struct redisReply;

namespace parley::broker::redis {

// A Redis reply as a value: hiredis frees its own reply when the reply callback returns, and
// the store's callers outlive that. Plain data; any thread.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  static RedisReply From(const redisReply& reply);

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }

  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisReply> elements;
};

// The one place a Redis error reply becomes a status. Redis's own errors: OOM (maxmemory with
// noeviction: the store is full) is RESOURCE_EXHAUSTED with reason STORE_FULL; LOADING, BUSY,
// MASTERDOWN, READONLY, NOAUTH and WRONGPASS are UNAVAILABLE (this Redis cannot serve now).
// Parley's Lua scripts fail with a canonical code's name as the first word ("NOT_FOUND user is not
// connected"), which becomes that code with the rest as its message. Anything else is INTERNAL.
absl::Status RedisErrorStatus(absl::string_view error);

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_REPLY_H_
