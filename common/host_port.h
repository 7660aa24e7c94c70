#ifndef PARLEY_COMMON_HOST_PORT_H_
#define PARLEY_COMMON_HOST_PORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley {

// "HOST:PORT" split at its last colon; the host as written (an IPv6 literal keeps its
// brackets). Pure; any thread.
struct HostPort {
  std::string host;
  int port = 0;
};

// INVALID_ARGUMENT naming `flag` and showing `example` when there is no host, no port, or a
// port outside 1..65535.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, absl::string_view flag,
                                       absl::string_view example);
// The same for an address to listen on, where port 0 asks the system to pick one.
absl::StatusOr<HostPort> ParseListenAddress(absl::string_view text, absl::string_view flag,
                                            absl::string_view example);

}  // namespace parley

#endif  // PARLEY_COMMON_HOST_PORT_H_
