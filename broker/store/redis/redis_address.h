#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_ADDRESS_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_ADDRESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley::broker::redis {

// Where one Redis listens.
struct RedisAddress {
  std::string host;
  int port = 0;

  std::string ToString() const;
};

// Parses --redis: "HOST:PORT[,HOST:PORT...]", each an independent primary (a shard). The
// order is the shard order and must be the same on every broker. INVALID_ARGUMENT with what
// was wrong for an empty list, a missing or bad port, or a repeated address.
absl::StatusOr<std::vector<RedisAddress>> ParseRedisAddresses(absl::string_view list);

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_ADDRESS_H_
