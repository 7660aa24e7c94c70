#include "broker/store/redis/redis_address.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/host_port.h"

namespace parley::broker::redis {

std::string RedisAddress::ToString() const { return absl::StrCat(host, ":", port); }

absl::StatusOr<std::vector<RedisAddress>> ParseRedisAddresses(absl::string_view list) {
  std::vector<RedisAddress> addresses;
  absl::flat_hash_set<std::string> seen;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(item, "--redis", "127.0.0.1:6379");
    if (!parsed.ok()) return parsed.status();
    RedisAddress address{std::move(parsed->host), parsed->port};
    if (!seen.insert(address.ToString()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis: ", address.ToString(), " is listed twice"));
    }
    addresses.push_back(std::move(address));
  }
  return addresses;
}

}  // namespace parley::broker::redis
