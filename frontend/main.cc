// parley-frontend: parses flags, reads the session secret and token keys, starts the
// FrontendServer and waits for SIGTERM/SIGINT to shut it down gracefully (SIGHUP: reload keys).

#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/grpc_tls.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/placeholder_secret.h"
#include "common/program.h"
#include "frontend/admin/api_keys.h"
#include "frontend/broker/broker_target.h"
#include "frontend/net/descriptor_limit.h"
#include "frontend/server/frontend_server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:8080", "Address and port the HTTP server listens on.");
ABSL_FLAG(std::string, broker, "127.0.0.1:50051",
          "The brokers: HOST:PORT, a list of IP literals (10.0.0.1:50051,10.0.0.2:50051) or one "
          "gRPC target (dns:///broker:50051); calls are spread over all of them (round_robin).");
ABSL_FLAG(absl::Duration, poll_stream_max_age, absl::Minutes(2),
          "A PollStream call is half-closed after about this long (80-120 %) and its new polls "
          "go on a new call, which may land on a broker added since (0: never).");
ABSL_FLAG(bool, poll_stream, true,
          "Carry long polls to the broker on one PollStream per channel (false: one unary Poll "
          "RPC per long poll; also used by itself when the broker has no PollStream).");
ABSL_FLAG(int64_t, broker_channels, 1,
          "gRPC channels (HTTP/2 connections) to the broker; calls are spread over them.");
ABSL_FLAG(int64_t, loops, 0,
          "HTTP event-loop threads, each accepting on its own socket (0: one per core the process "
          "may run on).");
ABSL_FLAG(int64_t, max_connections, 0,
          "Open connections at once, idle keep-alive ones included; at the limit the oldest "
          "idle one is closed for a new one, and if none is idle the new one gets 503. 0: as "
          "many as the open-file limit allows (raised to its hard limit at start; 128 "
          "descriptors are kept for the rest).");
ABSL_FLAG(int64_t, max_body_bytes, 16 * 1024, "Largest request body accepted (413 beyond).");
ABSL_FLAG(int64_t, max_header_bytes, 16 * 1024,
          "Largest request head (request line and headers) accepted (431 beyond).");
ABSL_FLAG(int64_t, json_cache_messages, 4096,
          "Newest messages whose JSON is kept rendered for the polls that deliver them (about "
          "3 KiB of memory each once full).");
ABSL_FLAG(absl::Duration, default_wait, absl::Seconds(25),
          "How long /api/poll waits for messages when the request says nothing.");
ABSL_FLAG(absl::Duration, max_wait, absl::Seconds(30),
          "Longest wait a long poll may ask for (keep at or below the broker's --max_wait).");
ABSL_FLAG(absl::Duration, seed_wait, absl::Seconds(10),
          "How long the tutorial's /get_post waits before answering \"\".");
ABSL_FLAG(absl::Duration, broker_timeout, absl::Seconds(2),
          "Deadline of every broker call but Poll: a down or stuck broker means 503 this fast.");
ABSL_FLAG(absl::Duration, poll_margin, absl::Seconds(2),
          "A Poll's gRPC deadline is its wait plus this margin.");
ABSL_FLAG(absl::Duration, read_timeout, absl::Seconds(10),
          "How long a client may take to send a whole request, head and body, however slowly "
          "it trickles (408 and closed beyond).");
ABSL_FLAG(absl::Duration, write_timeout, absl::Seconds(10),
          "How long a client may take to read a response.");
ABSL_FLAG(absl::Duration, keep_alive_timeout, absl::Seconds(5),
          "How long an idle keep-alive connection is kept open.");
ABSL_FLAG(int64_t, keep_alive_max_requests, 1000, "Requests served on one connection.");
ABSL_FLAG(double, login_rate_per_minute, 30, "Logins per minute from one client address.");
ABSL_FLAG(double, login_burst, 10, "Logins at once from one client address.");
ABSL_FLAG(bool, trust_forwarded_for, false,
          "Take the client address from the last X-Forwarded-For entry (only behind a proxy "
          "that sets it).");
ABSL_FLAG(absl::Duration, session_lifetime, absl::Hours(24), "How long a session token lasts.");
ABSL_FLAG(std::string, session_secret_file, "",
          "File holding the session secret (else env PARLEY_SESSION_SECRET, else random).");
ABSL_FLAG(std::string, auth, "names",
          "Who says who a user is: names (anyone takes a free name), tokens (only users the "
          "app's backend signed a JWT for), or both.");
ABSL_FLAG(std::string, jwt_secret_file, "",
          "File holding the HS256 secret the app signs tokens with (else env "
          "PARLEY_JWT_SECRET); at least 32 bytes.");
ABSL_FLAG(std::string, jwt_keys, "",
          "PEM or JWKS file of the public keys (RS256, ES256) the app signs tokens with; "
          "re-read when it changes and on SIGHUP.");
ABSL_FLAG(std::string, jwt_issuer, "", "Tokens must carry this iss (empty: not checked).");
ABSL_FLAG(std::string, jwt_audience, "", "Tokens' aud must name this (empty: not checked).");
ABSL_FLAG(std::string, login_url, "",
          "The app's sign-in page: /login sends people there under --auth=tokens, and a "
          "refused token link goes there with ?error=<code>.");
ABSL_FLAG(std::string, admin_listen, "",
          "Address and port of the server API (/admin/v1/, for the app's backend; never the "
          "public port); empty: off.");
ABSL_FLAG(std::string, admin_keys_file, "",
          "The server API's keys, one name:key a line (the name is logged with each call).");
ABSL_FLAG(std::string, metrics_listen, "",
          "Address and port to serve /metrics and /readyz/broker on instead of the public port "
          "(e.g. 0.0.0.0:9090: scrapers reach it, an Ingress routing the public port does "
          "not).");
ABSL_FLAG(std::string, web_root, "",
          "Serve pages and static files from this directory, uncached, instead of the copies "
          "built into the binary (for editing them).");

namespace {

using parley::Log;
using parley::LogLevel;

[[noreturn]] void Fail(const std::string& message) {
  absl::FPrintF(stderr, "parley-frontend: %s\n", message);
  std::exit(2);
}

std::string ReadSecretFile(const std::string& flag, const std::string& file) {
  std::ifstream in(file);
  if (!in) Fail(absl::StrCat("cannot read --", flag, " ", file));
  std::stringstream contents;
  contents << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(contents.str()));
}

// --auth and the token flags: the key ring (loaded now, so a bad key file stops the start)
// and the claims policy.
void AuthFromFlags(parley::frontend::FrontendOptions& options) {
  using parley::frontend::AuthMode;
  const std::string mode = absl::GetFlag(FLAGS_auth);
  if (mode == "names") {
    options.auth = AuthMode::kNames;
  } else if (mode == "tokens") {
    options.auth = AuthMode::kTokens;
  } else if (mode == "both") {
    options.auth = AuthMode::kBoth;
  } else {
    Fail("--auth must be names, tokens or both");
  }
  std::optional<std::string> secret;
  if (const std::string file = absl::GetFlag(FLAGS_jwt_secret_file); !file.empty()) {
    secret = ReadSecretFile("jwt_secret_file", file);
  } else if (const char* env = std::getenv("PARLEY_JWT_SECRET"); env != nullptr && *env != 0) {
    secret = env;
  }
  const std::string keys_file = absl::GetFlag(FLAGS_jwt_keys);
  options.login_url = absl::GetFlag(FLAGS_login_url);
  options.jwt_policy.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  options.jwt_policy.audience = absl::GetFlag(FLAGS_jwt_audience);
  if (options.auth == AuthMode::kNames) {
    if (!keys_file.empty() || absl::GetFlag(FLAGS_jwt_secret_file) != "" ||
        !options.login_url.empty()) {
      Fail("--jwt_secret_file, --jwt_keys and --login_url need --auth=tokens or --auth=both");
    }
    return;
  }
  std::optional<parley::frontend::JwtKey> secret_key;
  if (secret) {
    if (absl::Status real = parley::CheckNotPlaceholder("the JWT secret", *secret); !real.ok()) {
      Fail(std::string(real.message()));
    }
    absl::StatusOr<parley::frontend::JwtKey> key = parley::frontend::SecretKey(*secret);
    if (!key.ok()) Fail(std::string(key.status().message()));
    secret_key = *std::move(key);
  }
  absl::StatusOr<std::unique_ptr<parley::frontend::JwtKeyRing>> ring =
      parley::frontend::JwtKeyRing::Load(std::move(secret_key), keys_file);
  if (!ring.ok()) Fail(std::string(ring.status().message()));
  options.jwt_keys = *std::move(ring);
}

// A listener flag's host:port, the host without IPv6 brackets.
parley::HostPort ListenAddress(const std::string& text, absl::string_view flag,
                               absl::string_view example) {
  absl::StatusOr<parley::HostPort> address = parley::ParseListenAddress(text, flag, example);
  if (!address.ok()) Fail(std::string(address.status().message()));
  if (absl::StartsWith(address->host, "[")) {
    address->host = address->host.substr(1, address->host.size() - 2);
  }
  return *std::move(address);
}

// --admin_listen and --admin_keys_file: both or neither.
void AdminFromFlags(parley::frontend::FrontendOptions& options) {
  const std::string listen = absl::GetFlag(FLAGS_admin_listen);
  const std::string keys_file = absl::GetFlag(FLAGS_admin_keys_file);
  if (listen.empty() != keys_file.empty()) {
    Fail("--admin_listen and --admin_keys_file go together");
  }
  if (listen.empty()) return;
  const parley::HostPort address = ListenAddress(listen, "--admin_listen", "127.0.0.1:8081");
  absl::StatusOr<parley::frontend::ApiKeys> keys =
      parley::frontend::ApiKeys::Parse(ReadSecretFile("admin_keys_file", keys_file));
  if (!keys.ok())
    Fail(absl::StrCat("--admin_keys_file ", keys_file, ": ", keys.status().message()));
  options.admin = parley::frontend::AdminOptions{
      address.host, address.port,
      std::make_shared<const parley::frontend::ApiKeys>(*std::move(keys))};
}

parley::frontend::FrontendOptions OptionsFromFlags() {
  parley::frontend::FrontendOptions options;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &options.port) ||
      options.port < 0 || options.port > 65535) {
    Fail("--listen must be host:port");
  }
  options.host = listen.substr(0, colon);
  if (absl::StartsWith(options.host, "["))
    options.host = options.host.substr(1, options.host.size() - 2);
  absl::StatusOr<parley::frontend::BrokerTarget> target =
      parley::frontend::ParseBrokerTarget(absl::GetFlag(FLAGS_broker));
  if (!target.ok()) Fail(std::string(target.status().message()));
  options.broker = target->grpc_target;
  options.broker_count = target->listed_brokers;
  options.stream_max_age = absl::GetFlag(FLAGS_poll_stream_max_age);
  if (options.stream_max_age < absl::ZeroDuration()) Fail("--poll_stream_max_age must be >= 0");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      parley::BrokerChannelCredentials(parley::TlsFilesFromFlags());
  if (!credentials.ok()) Fail(std::string(credentials.status().message()));
  options.broker_credentials = *credentials;
  const int64_t channels = absl::GetFlag(FLAGS_broker_channels);
  if (channels < 1 || channels > 64) Fail("--broker_channels must be 1..64");
  options.broker_channels = static_cast<int>(channels);
  options.poll_stream = absl::GetFlag(FLAGS_poll_stream);
  const int64_t loops = absl::GetFlag(FLAGS_loops);
  if (loops < 0 || loops > 64) Fail("--loops must be 0..64");
  options.loops = static_cast<int>(loops);
  const int64_t max_connections = absl::GetFlag(FLAGS_max_connections);
  const int64_t max_body = absl::GetFlag(FLAGS_max_body_bytes);
  const int64_t keep_alive_requests = absl::GetFlag(FLAGS_keep_alive_max_requests);
  const uint64_t descriptor_limit = parley::frontend::RaiseDescriptorLimit();
  const size_t room = parley::frontend::ConnectionsWithin(descriptor_limit);
  if (room == 0) {
    Fail(
        absl::StrFormat("the open-file limit (%d) leaves no room for connections: raise it "
                        "(ulimit -n)",
                        descriptor_limit));
  }
  if (max_connections < 0) Fail("--max_connections must be 0 (from the open-file limit) or more");
  if (static_cast<uint64_t>(max_connections) > room) {
    Fail(
        absl::StrFormat("--max_connections=%d needs %d open files, but the limit is %d: raise "
                        "it (ulimit -n) or lower the flag",
                        max_connections, max_connections + parley::frontend::kReservedDescriptors,
                        descriptor_limit));
  }
  if (max_body < 1 || max_body > 16 << 20) Fail("--max_body_bytes must be 1..16777216");
  const int64_t max_header = absl::GetFlag(FLAGS_max_header_bytes);
  if (max_header < 1024 || max_header > 1 << 20) Fail("--max_header_bytes must be 1024..1048576");
  options.max_header_bytes = static_cast<size_t>(max_header);
  const int64_t json_cache = absl::GetFlag(FLAGS_json_cache_messages);
  if (json_cache < 1 || json_cache > 1 << 20) Fail("--json_cache_messages must be 1..1048576");
  options.json_cache_messages = static_cast<size_t>(json_cache);
  if (keep_alive_requests < 1) Fail("--keep_alive_max_requests must be positive");
  options.max_connections = max_connections == 0 ? room : static_cast<size_t>(max_connections);
  options.max_body_bytes = static_cast<size_t>(max_body);
  options.keep_alive_max_requests = static_cast<size_t>(keep_alive_requests);
  options.default_wait = absl::GetFlag(FLAGS_default_wait);
  options.max_wait = absl::GetFlag(FLAGS_max_wait);
  options.seed_wait = absl::GetFlag(FLAGS_seed_wait);
  options.broker_timeout = absl::GetFlag(FLAGS_broker_timeout);
  options.poll_margin = absl::GetFlag(FLAGS_poll_margin);
  options.read_timeout = absl::GetFlag(FLAGS_read_timeout);
  options.write_timeout = absl::GetFlag(FLAGS_write_timeout);
  options.keep_alive_timeout = absl::GetFlag(FLAGS_keep_alive_timeout);
  options.session_lifetime = absl::GetFlag(FLAGS_session_lifetime);
  options.login_rate_per_minute = absl::GetFlag(FLAGS_login_rate_per_minute);
  options.login_burst = absl::GetFlag(FLAGS_login_burst);
  options.trust_forwarded_for = absl::GetFlag(FLAGS_trust_forwarded_for);
  if (!(options.login_rate_per_minute > 0)) Fail("--login_rate_per_minute must be positive");
  if (!(options.login_burst >= 1)) Fail("--login_burst must be at least 1");
  options.web_root = absl::GetFlag(FLAGS_web_root);
  AuthFromFlags(options);
  AdminFromFlags(options);
  if (const std::string metrics = absl::GetFlag(FLAGS_metrics_listen); !metrics.empty()) {
    options.metrics_listen = ListenAddress(metrics, "--metrics_listen", "0.0.0.0:9090");
  }
  for (absl::Duration d :
       {options.default_wait, options.max_wait, options.seed_wait, options.broker_timeout,
        options.poll_margin, options.read_timeout, options.write_timeout,
        options.keep_alive_timeout, options.session_lifetime}) {
    if (d <= absl::ZeroDuration()) Fail("every duration flag must be positive");
  }
  return options;
}

// The secret from --session_secret_file, else PARLEY_SESSION_SECRET, else a random one.
std::string SessionSecret() {
  auto checked = [](absl::string_view what, std::string secret) {
    if (secret.size() < 16) Fail(absl::StrCat(what, " must be at least 16 characters"));
    if (absl::Status real = parley::CheckNotPlaceholder(what, secret); !real.ok()) {
      Fail(std::string(real.message()));
    }
    return secret;
  };
  const std::string file = absl::GetFlag(FLAGS_session_secret_file);
  if (!file.empty()) {
    return checked("the session secret", ReadSecretFile("session_secret_file", file));
  }
  if (const char* env = std::getenv("PARLEY_SESSION_SECRET"); env != nullptr && *env != '\0') {
    return checked("PARLEY_SESSION_SECRET", env);
  }
  Log(LogLevel::kWarning, "random_session_secret",
      {{"detail",
        "no PARLEY_SESSION_SECRET or --session_secret_file: sessions will not survive a "
        "restart or work across replicas"}});
  return parley::frontend::SessionTokens::RandomSecret();
}

}  // namespace

int main(int argc, char** argv) {
  parley::ParseCommandLine(
      argc, argv,
      "Parley's HTTP frontend: serves the chat page and JSON API and turns long polls into "
      "broker Poll calls.\nUsage: parley-frontend [--flag=value ...] (flags may be spelled "
      "with - or _)",
      "frontend/main.cc");
  parley::InitLogging("parley-frontend");
  const parley::frontend::FrontendOptions options = OptionsFromFlags();
  std::string secret = SessionSecret();
  // SIGHUP re-reads the token keys (Reload logs what it did); without them it keeps its default.
  parley::StopSignals stop_signals(options.jwt_keys == nullptr
                                       ? std::function<void()>()
                                       : [keys = options.jwt_keys] { (void)keys->Reload(); });
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the process

  auto frontend = parley::frontend::FrontendServer::Start(options, std::move(secret));
  if (!frontend.ok()) {
    Log(LogLevel::kError, "start_failed", {{"error", frontend.status().message()}});
    return 1;
  }
  Log(LogLevel::kInfo, "listening",
      {{"addr", absl::GetFlag(FLAGS_listen)},
       {"port", (*frontend)->port()},
       {"broker", absl::GetFlag(FLAGS_broker)},
       {"max_connections", options.max_connections}});
  if (options.metrics_listen) {
    Log(LogLevel::kInfo, "metrics_listening",
        {{"addr", absl::GetFlag(FLAGS_metrics_listen)},
         {"metrics_port", (*frontend)->metrics_port()}});
  }

  Log(LogLevel::kInfo, "draining", {{"signal", stop_signals.Wait()}});
  (*frontend)->Shutdown();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}
