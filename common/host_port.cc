#include "common/host_port.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace parley {

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, absl::string_view flag,
                                       absl::string_view example) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not HOST:PORT (e.g. ", example, ")"));
  }
  return HostPort{std::string(text.substr(0, colon)), port};
}

}  // namespace parley
