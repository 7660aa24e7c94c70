// parley-broker: parses flags, starts the BrokerServer and waits for SIGTERM/SIGINT to shut it
// down gracefully.

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "broker/core/clock.h"
#include "broker/server/broker_server.h"
#include "broker/store/redis/redis_address.h"
#include "common/grpc_tls.h"
#include "common/log.h"
#include "common/placeholder_secret.h"
#include "common/program.h"

// The defaults are the options structs' own, so a flag and the code it sets cannot disagree.
static const parley::broker::BrokerServerOptions kDefaults;
static const parley::broker::ChatOptions& kChat = kDefaults.chat;

ABSL_FLAG(std::string, listen, kDefaults.listen, "Address and port the gRPC server listens on.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port serving Prometheus metrics at GET /metrics over HTTP (empty: off).");
ABSL_FLAG(int, threads, kDefaults.threads,
          "Completion queues, each drained by one thread; 0 means one per CPU core.");
ABSL_FLAG(int64_t, queue_capacity, static_cast<int64_t>(kChat.queue_capacity),
          "Messages kept per user queue; older ones are dropped and readers told gap=true.");
ABSL_FLAG(int64_t, history, static_cast<int64_t>(kChat.history),
          "CHAT (and SYSTEM) messages kept per room, the scroll-back History pages through.");
ABSL_FLAG(int64_t, max_text_bytes, static_cast<int64_t>(kChat.max_text_bytes),
          "Longest message text accepted, in bytes.");
ABSL_FLAG(int64_t, max_text_chars, static_cast<int64_t>(kChat.max_text_chars),
          "Longest message text accepted, in characters (Unicode code points).");
ABSL_FLAG(absl::Duration, presence_window, kChat.presence_window,
          "A user is online while a Poll is parked or if they polled within this window.");
ABSL_FLAG(int64_t, presence_events_max_members,
          static_cast<int64_t>(kChat.presence_events_max_members),
          "Rooms with up to this many members send JOIN/LEAVE lines to every member; larger "
          "rooms only update their presence version and counts (back to lines at 3/4 of it).");
ABSL_FLAG(absl::Duration, presence_notify_interval, kChat.presence_notify_interval,
          "A presence change alone ends the parked polls of a room's members at most this often.");
ABSL_FLAG(absl::Duration, offline_dm_ttl, kChat.offline_dm_ttl,
          "How long direct messages kept for an app's user who is not connected wait for them "
          "(at most --queue_capacity of them).");
ABSL_FLAG(absl::Duration, user_idle_expiry, kChat.user_idle_expiry,
          "A user who has not polled for this long is removed (leaves every room).");
ABSL_FLAG(double, publish_rate, kChat.publish_rate,
          "Messages per second each user may publish, sustained.");
ABSL_FLAG(double, publish_burst, kChat.publish_burst,
          "Messages each user may publish at once (token bucket size).");
ABSL_FLAG(absl::Duration, ended_session_memory, kChat.ended_session_memory,
          "How long a logged-out session is refused (set it to the frontends' session lifetime).");
ABSL_FLAG(absl::Duration, idempotency_window, kChat.idempotency_window,
          "How long a Publish idempotency_key is remembered.");
ABSL_FLAG(absl::Duration, max_wait, kDefaults.max_wait, "Longest time a Poll may stay parked.");
ABSL_FLAG(absl::Duration, deadline_margin, kDefaults.deadline_margin,
          "A parked Poll answers OK this long before the caller's gRPC deadline.");
ABSL_FLAG(absl::Duration, sweep_interval, kDefaults.sweep_interval,
          "How often idle users are expired and users who stopped polling marked offline.");
ABSL_FLAG(absl::Duration, drain_delay, absl::Seconds(1),
          "On SIGTERM: time between health turning NOT_SERVING (parked polls answered) and "
          "the server stopping, so load balancers and clients notice.");
ABSL_FLAG(int64_t, max_stream_polls, static_cast<int64_t>(kDefaults.max_stream_polls),
          "Unanswered polls one PollStream (one frontend channel) may hold; a poll beyond is "
          "answered RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, max_connection_age, kDefaults.max_connection_age,
          "A client connection is asked to go (GOAWAY) after this long, so frontends spread "
          "over brokers added since; its calls get 3 more minutes (0: never).");
ABSL_FLAG(absl::Duration, shutdown_timeout, kDefaults.shutdown_timeout,
          "On SIGTERM: how long in-flight calls may take before they are cancelled.");
ABSL_FLAG(std::string, redis, "",
          "Keep the chat state in Redis: HOST:PORT[,HOST:PORT...], each an independent primary "
          "(a shard), in the same order on every broker. Empty: in this process's memory.");
ABSL_FLAG(std::string, redis_password_file, "",
          "File holding the Redis password (else $PARLEY_REDIS_PASSWORD; else none).");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(2),
          "Longest a Redis round trip may take before the call fails (and the connection, if "
          "nothing came back, is made again).");

namespace {

using parley::Log;
using parley::LogLevel;

bool Positive(absl::Duration d) { return d > absl::ZeroDuration(); }

// --redis and its password, which comes from a file or the environment, never a flag's value
// (a command line is visible to every local user), and is never logged.
void RedisFromFlags(parley::broker::redis::RedisChatStoreOptions* redis,
                    std::vector<std::string>* errors) {
  const std::string shards = absl::GetFlag(FLAGS_redis);
  redis->timeout = absl::GetFlag(FLAGS_redis_timeout);
  if (!Positive(redis->timeout)) errors->push_back("--redis_timeout must be positive");
  if (shards.empty()) return;
  absl::StatusOr<std::vector<parley::broker::redis::RedisAddress>> addresses =
      parley::broker::redis::ParseRedisAddresses(shards);
  if (!addresses.ok()) {
    errors->push_back(std::string(addresses.status().message()));
    return;
  }
  redis->shards = *std::move(addresses);
  const std::string password_file = absl::GetFlag(FLAGS_redis_password_file);
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in) {
      errors->push_back(absl::StrCat("--redis_password_file: cannot read ", password_file));
      return;
    }
    std::getline(in, redis->password);  // the first line; a trailing newline is not part of it
  } else if (const char* password = std::getenv("PARLEY_REDIS_PASSWORD")) {
    redis->password = password;
  }
  if (absl::Status real = parley::CheckNotPlaceholder("the Redis password", redis->password);
      !real.ok()) {
    errors->push_back(std::string(real.message()));
  }
}

// Reads and checks the flags; exits with status 2 and a message on a bad value.
parley::broker::BrokerServerOptions OptionsFromFlags() {
  parley::broker::BrokerServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      parley::BrokerServerCredentials(parley::TlsFilesFromFlags());
  if (!credentials.ok()) {
    absl::FPrintF(stderr, "parley-broker: %s\n", credentials.status().message());
    std::exit(2);
  }
  options.credentials = *credentials;
  options.max_wait = absl::GetFlag(FLAGS_max_wait);
  options.deadline_margin = absl::GetFlag(FLAGS_deadline_margin);
  options.sweep_interval = absl::GetFlag(FLAGS_sweep_interval);
  options.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  const int64_t max_stream_polls = absl::GetFlag(FLAGS_max_stream_polls);
  parley::broker::ChatOptions& chat = options.chat;
  const int64_t queue_capacity = absl::GetFlag(FLAGS_queue_capacity);
  const int64_t history = absl::GetFlag(FLAGS_history);
  const int64_t max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  const int64_t max_text_chars = absl::GetFlag(FLAGS_max_text_chars);
  chat.presence_window = absl::GetFlag(FLAGS_presence_window);
  chat.presence_notify_interval = absl::GetFlag(FLAGS_presence_notify_interval);
  const int64_t presence_events_max_members = absl::GetFlag(FLAGS_presence_events_max_members);
  chat.user_idle_expiry = absl::GetFlag(FLAGS_user_idle_expiry);
  chat.offline_dm_ttl = absl::GetFlag(FLAGS_offline_dm_ttl);
  chat.idempotency_window = absl::GetFlag(FLAGS_idempotency_window);
  chat.ended_session_memory = absl::GetFlag(FLAGS_ended_session_memory);
  chat.publish_rate = absl::GetFlag(FLAGS_publish_rate);
  chat.publish_burst = absl::GetFlag(FLAGS_publish_burst);

  std::vector<std::string> errors;
  if (options.threads < 0 || options.threads > 256) errors.push_back("--threads must be 0..256");
  if (queue_capacity < 1 || queue_capacity > 1'000'000) {
    errors.push_back("--queue_capacity must be 1..1000000");
  }
  if (history < 0 || history > 100'000) errors.push_back("--history must be 0..100000");
  if (max_text_bytes < 1 || max_text_bytes > 1'048'576) {
    errors.push_back("--max_text_bytes must be 1..1048576");
  }
  if (max_text_chars < 1 || max_text_chars > 1'048'576) {
    errors.push_back("--max_text_chars must be 1..1048576");
  }
  if (!Positive(options.max_wait)) errors.push_back("--max_wait must be positive");
  if (max_stream_polls < 1 || max_stream_polls > 10'000'000) {
    errors.push_back("--max_stream_polls must be 1..10000000");
  } else {
    options.max_stream_polls = static_cast<size_t>(max_stream_polls);
  }
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  if (options.max_connection_age < absl::ZeroDuration()) {
    errors.push_back("--max_connection_age must not be negative");
  }
  if (options.deadline_margin < absl::ZeroDuration()) {
    errors.push_back("--deadline_margin must not be negative");
  }
  if (!Positive(options.sweep_interval)) errors.push_back("--sweep_interval must be positive");
  if (!Positive(chat.presence_window)) errors.push_back("--presence_window must be positive");
  if (!Positive(chat.presence_notify_interval)) {
    errors.push_back("--presence_notify_interval must be positive");
  }
  if (presence_events_max_members < 0 || presence_events_max_members > 1'000'000) {
    errors.push_back("--presence_events_max_members must be 0..1000000");
  }
  if (!Positive(chat.user_idle_expiry)) errors.push_back("--user_idle_expiry must be positive");
  if (!Positive(chat.offline_dm_ttl)) errors.push_back("--offline_dm_ttl must be positive");
  if (!(chat.publish_rate > 0)) errors.push_back("--publish_rate must be positive");
  if (!(chat.publish_burst >= 1)) errors.push_back("--publish_burst must be at least 1");
  if (!Positive(chat.ended_session_memory)) {
    errors.push_back("--ended_session_memory must be positive");
  }
  if (!Positive(chat.idempotency_window)) {
    errors.push_back("--idempotency_window must be positive");
  }
  RedisFromFlags(&options.redis, &errors);
  if (!errors.empty()) {
    for (const std::string& error : errors) absl::FPrintF(stderr, "parley-broker: %s\n", error);
    std::exit(2);
  }
  chat.queue_capacity = static_cast<size_t>(queue_capacity);
  chat.history = static_cast<size_t>(history);
  chat.presence_events_max_members = static_cast<size_t>(presence_events_max_members);
  chat.max_text_bytes = static_cast<size_t>(max_text_bytes);
  chat.max_text_chars = static_cast<size_t>(max_text_chars);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  parley::ParseCommandLine(
      argc, argv,
      "Parley's broker: keeps every user's message queue and serves the parley.v1.Broker "
      "gRPC service.\nUsage: parley-broker [--flag=value ...] (flags may be spelled with - or "
      "_)",
      "broker/main.cc");
  parley::InitLogging("parley-broker");
  const parley::broker::BrokerServerOptions options = OptionsFromFlags();
  parley::StopSignals stop_signals;

  parley::broker::SystemClock clock;
  auto broker = parley::broker::BrokerServer::Start(options, &clock);
  if (!broker.ok()) {
    Log(LogLevel::kError, "start_failed", {{"error", broker.status().message()}});
    return 1;
  }
  Log(LogLevel::kInfo, "listening", {{"addr", options.listen}, {"port", (*broker)->port()}});
  std::string shards;
  for (const auto& shard : options.redis.shards) {
    absl::StrAppend(&shards, shards.empty() ? "" : ",", shard.ToString());
  }
  Log(LogLevel::kInfo, "store",
      {{"store", shards.empty() ? "memory" : "redis"}, {"redis", shards.empty() ? "-" : shards}});
  if ((*broker)->metrics_port() != 0) {
    Log(LogLevel::kInfo, "metrics_listening",
        {{"addr", options.metrics_listen}, {"metrics_port", (*broker)->metrics_port()}});
  }

  Log(LogLevel::kInfo, "draining",
      {{"signal", stop_signals.Wait()}, {"health", "NOT_SERVING"}, {"parked_polls", "answered"}});
  (*broker)->BeginShutdown();
  absl::SleepFor(absl::GetFlag(FLAGS_drain_delay));
  (*broker)->Shutdown();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}
