#ifndef PARLEY_FRONTEND_FRONTEND_OPTIONS_H_
#define PARLEY_FRONTEND_FRONTEND_OPTIONS_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/host_port.h"
#include "frontend/auth/app_token_verifier.h"
#include "frontend/auth/jwt_key_ring.h"
#include "grpcpp/security/credentials.h"

namespace parley::frontend {

class ApiKeys;  // frontend/admin/api_keys.h

// Where the server API listens and whose keys it takes (--admin_listen, --admin_keys_file).
struct AdminOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::shared_ptr<const ApiKeys> keys;
};

// Who may say who a user is (--auth).
enum class AuthMode {
  kNames,   // anyone takes any free name, as in the tutorial
  kTokens,  // only users the app's backend signed a token for
  kBoth,
};

// The frontend's limits; each has a flag (see main.cc).
struct FrontendOptions {
  std::string host = "0.0.0.0";
  int port = 8080;
  std::string broker = "127.0.0.1:50051";  // a gRPC target (frontend/broker/broker_target.h)
  int broker_count = 1;  // brokers the target lists; 0: a DNS name, counted as it resolves
  // TLS to the broker (common/grpc_tls.h); null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> broker_credentials;
  int broker_channels = 1;  // one and four measured the same (bench/README.md)
  bool poll_stream = true;  // long polls on PollStreams, one per broker at least; false: unary
  absl::Duration stream_max_age = absl::Minutes(2);  // a PollStream call moves on after it
  int loops = 0;                                     // HTTP event-loop threads; 0: one per core
  size_t max_connections = 10'000;
  size_t max_body_bytes = 16 * 1024;
  size_t max_header_bytes = 16 * 1024;  // request line + headers
  absl::Duration default_wait = absl::Seconds(25);
  absl::Duration max_wait = absl::Seconds(30);
  absl::Duration seed_wait = absl::Seconds(10);  // /get_post, as in the tutorial
  absl::Duration broker_timeout = absl::Seconds(2);
  absl::Duration poll_margin = absl::Seconds(2);
  absl::Duration read_timeout = absl::Seconds(10);  // the whole request, however it trickles
  absl::Duration write_timeout = absl::Seconds(10);
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  size_t keep_alive_max_requests = 1000;
  absl::Duration session_lifetime = absl::Hours(24);
  double login_rate_per_minute = 30;  // per client address, per frontend
  double login_burst = 10;
  bool trust_forwarded_for = false;  // client address from X-Forwarded-For (behind a proxy)
  // Messages whose JSON stays rendered (PollJson); ~3 KiB of RSS each when full.
  size_t json_cache_messages = 4096;
  std::string web_root;  // empty: the assets embedded in the binary
  AuthMode auth = AuthMode::kNames;
  // With tokens: the keys (shared with main, which reloads them on SIGHUP) and the claims
  // the tokens must carry.
  std::shared_ptr<JwtKeyRing> jwt_keys;
  AppTokenPolicy jwt_policy;
  std::string login_url;  // the app's sign-in page, where /login sends people (tokens)
  // The server API's listener and keys (--admin_listen, --admin_keys_file); none: off.
  std::optional<AdminOptions> admin;
  // /metrics and /readyz/broker on a listener of their own (--metrics_listen), which
  // scrapers reach and an Ingress routing the public port does not; none: the public port.
  std::optional<HostPort> metrics_listen;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_FRONTEND_OPTIONS_H_
