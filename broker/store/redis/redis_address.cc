#include "broker/store/redis/redis_address.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace parley::broker::redis {

std::string RedisAddress::ToString() const { return absl::StrCat(host, ":", port); }

absl::StatusOr<std::vector<RedisAddress>> ParseRedisAddresses(absl::string_view list) {
  std::vector<RedisAddress> addresses;
  absl::flat_hash_set<std::string> seen;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    const size_t colon = item.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(item.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis: \"", item, "\" is not HOST:PORT (e.g. 127.0.0.1:6379)"));
    }
    RedisAddress address{std::string(item.substr(0, colon)), port};
    if (!seen.insert(address.ToString()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis: ", address.ToString(), " is listed twice"));
    }
    addresses.push_back(std::move(address));
  }
  return addresses;
}

}  // namespace parley::broker::redis
