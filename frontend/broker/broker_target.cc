#include "frontend/broker/broker_target.h"

#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/host_port.h"

namespace parley::frontend {
namespace {

enum class Family { kV4, kV6, kName };

// The address family of one "HOST:PORT" item, or an error.
absl::StatusOr<Family> Classify(absl::string_view item) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(item, "--broker", "127.0.0.1:50051");
  if (!parsed.ok()) return parsed.status();
  const std::string& host = parsed->host;
  unsigned char address[16];
  if (inet_pton(AF_INET, host.c_str(), address) == 1) return Family::kV4;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']' &&
      inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), address) == 1) {
    return Family::kV6;
  }
  return Family::kName;
}

}  // namespace

absl::StatusOr<BrokerTarget> ParseBrokerTarget(absl::string_view flag) {
  if (absl::StrContains(flag, ":///") || absl::StartsWith(flag, "ipv4:") ||
      absl::StartsWith(flag, "ipv6:") || absl::StartsWith(flag, "unix:")) {
    int listed = 0;
    if (absl::StartsWith(flag, "ipv4:") || absl::StartsWith(flag, "ipv6:")) {
      listed = static_cast<int>(std::count(flag.begin(), flag.end(), ',')) + 1;
    } else if (absl::StartsWith(flag, "unix:")) {
      listed = 1;
    }
    return BrokerTarget{std::string(flag), listed};
  }
  const std::vector<absl::string_view> items = absl::StrSplit(flag, ',');
  if (items.size() == 1) {
    absl::StatusOr<Family> family = Classify(items[0]);
    if (!family.ok()) return family.status();
    return BrokerTarget{std::string(flag), 1};
  }
  Family first = Family::kName;
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StatusOr<Family> family = Classify(items[i]);
    if (!family.ok()) return family.status();
    if (*family == Family::kName) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--broker: a list takes IP literals; \"", items[i],
          "\" is a name (use one target such as dns:///broker:50051 for every address of a "
          "name)"));
    }
    if (i == 0) first = *family;
    if (*family != first) {
      return absl::InvalidArgumentError("--broker: a list is all IPv4 or all IPv6");
    }
  }
  return BrokerTarget{
      absl::StrCat(first == Family::kV4 ? "ipv4:" : "ipv6:", absl::StrJoin(items, ",")),
      static_cast<int>(items.size())};
}

}  // namespace parley::frontend
