#include "common/host_port.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace parley {

namespace {

absl::StatusOr<HostPort> Parse(absl::string_view text, absl::string_view flag,
                               absl::string_view example, int lowest_port) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port < lowest_port || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not HOST:PORT (e.g. ", example, ")"));
  }
  return HostPort{std::string(text.substr(0, colon)), port};
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, absl::string_view flag,
                                       absl::string_view example) {
  return Parse(text, flag, example, 1);
}

absl::StatusOr<HostPort> ParseListenAddress(absl::string_view text, absl::string_view flag,
                                            absl::string_view example) {
  return Parse(text, flag, example, 0);
}

}  // namespace parley
