#ifndef PARLEY_FRONTEND_BROKER_BROKER_TARGET_H_
#define PARLEY_FRONTEND_BROKER_BROKER_TARGET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley::frontend {

// Where the frontend's calls go: a gRPC target, load-balanced over every address it resolves
// to by gRPC's round_robin policy.
struct BrokerTarget {
  std::string grpc_target;
  // How many brokers the target names, when the flag says so (a list); 1 for one host:port;
  // 0 for a name only DNS can count (dns:///broker:50051).
  int listed_brokers = 0;
};

// Reads --broker:
//   "HOST:PORT"                          one broker (a name is resolved by DNS, as gRPC does)
//   "10.0.0.1:50051,10.0.0.2:50051"      a list of IP literals (IPv6 as [::1]:50051; not mixed)
//   "dns:///broker:50051", "ipv4:…", …    any gRPC target, as it is
// INVALID_ARGUMENT, saying what is wrong, for an empty item, a missing port, a name inside a
// list (use dns:/// for that) or IPv4 and IPv6 mixed.
absl::StatusOr<BrokerTarget> ParseBrokerTarget(absl::string_view flag);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_BROKER_BROKER_TARGET_H_
