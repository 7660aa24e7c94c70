// parley-loadgen: runs one load scenario against Parley or Nchan and reports it as JSON (to
// --out) and one human line (stdout). See bench/README.md.

#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/loadgen/idle_run.h"
#include "bench/loadgen/load_run.h"
#include "common/program.h"

ABSL_FLAG(std::string, target, "127.0.0.1:8080", "host:port of the HTTP server under test.");
ABSL_FLAG(std::string, protocol, "parley-api", "parley-api, parley-seed or nchan.");
ABSL_FLAG(std::string, scenario, "custom", "Name written into the report.");
ABSL_FLAG(int, subscribers, 10, "Long-polling subscribers.");
ABSL_FLAG(double, rate, 1, "Messages per second (open loop); 0 publishes as fast as accepted.");
ABSL_FLAG(double, duration, 20, "Seconds of publishing.");
ABSL_FLAG(double, drain, 10, "Seconds to wait for outstanding deliveries afterwards.");
ABSL_FLAG(int, burst_concurrency, 4, "Publisher connections in burst mode (--rate=0).");
ABSL_FLAG(std::string, pids, "", "Comma-separated pids of the server processes to measure.");
ABSL_FLAG(int, store_pid, 0,
          "One of --pids that is the shared store (redis-server): its CPU and memory per "
          "subscriber are also reported on their own.");
ABSL_FLAG(std::string, out, "", "Where to write the JSON report (default: stdout only).");
ABSL_FLAG(bool, storm, false,
          "parley-api only: a login storm (logins --setup_window at a time, each polling with "
          "presence as soon as it is in, then every page reconnects) instead of publishing. "
          "The first of --pids must be the broker.");
ABSL_FLAG(int, setup_window, 256, "Setup requests (logins) in flight at once.");
ABSL_FLAG(std::string, login_token_secret, "",
          "parley-api: log in with an app's HS256 token signed with this secret (the frontend "
          "runs with --auth=tokens) instead of a name.");
ABSL_FLAG(bool, idle, false,
          "Idle keep-alive connections instead of polls: --subscribers connections each served "
          "one GET /healthz, then held for --duration seconds while the servers' CPU is read.");

int main(int argc, char** argv) {
  parley::ParseCommandLine(argc, argv,
                           "Load generator for Parley and Nchan long polling.\nUsage: "
                           "parley-loadgen --protocol=parley-api --subscribers=1000 --rate=10",
                           "bench/loadgen/main.cc");
  parley::bench::LoadOptions options;
  const std::string target = absl::GetFlag(FLAGS_target);
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &options.port)) {
    std::cerr << "--target must be host:port\n";
    return 2;
  }
  options.host = target.substr(0, colon);
  options.scenario = absl::GetFlag(FLAGS_scenario);
  options.subscribers = absl::GetFlag(FLAGS_subscribers);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.duration_s = absl::GetFlag(FLAGS_duration);
  options.drain_s = absl::GetFlag(FLAGS_drain);
  options.burst_concurrency = absl::GetFlag(FLAGS_burst_concurrency);
  options.storm = absl::GetFlag(FLAGS_storm);
  options.setup_window = absl::GetFlag(FLAGS_setup_window);
  for (absl::string_view pid : absl::StrSplit(absl::GetFlag(FLAGS_pids), ',', absl::SkipEmpty())) {
    int value = 0;
    if (absl::SimpleAtoi(pid, &value)) options.server_pids.push_back(value);
  }
  options.store_pid = absl::GetFlag(FLAGS_store_pid);
  if (absl::GetFlag(FLAGS_idle)) {
    parley::bench::IdleOptions idle;
    idle.host = options.host;
    idle.port = options.port;
    idle.scenario = options.scenario;
    idle.system = absl::GetFlag(FLAGS_protocol);
    idle.connections = options.subscribers;
    idle.hold_s = options.duration_s;
    idle.server_pids = options.server_pids;
    std::string summary;
    const std::string report = parley::bench::RunIdle(idle, &summary);
    if (const std::string out = absl::GetFlag(FLAGS_out); !out.empty()) {
      std::ofstream(out) << report;
    } else {
      std::cout << report;
    }
    std::cout << summary << "\n";
    return 0;
  }
  std::random_device random;
  const std::string prefix = absl::StrFormat("b%04x_", random() & 0xffff);
  auto protocol = parley::bench::MakeProtocol(absl::GetFlag(FLAGS_protocol), prefix, options.storm,
                                              absl::GetFlag(FLAGS_login_token_secret));
  if (protocol == nullptr || options.subscribers < 1 || options.setup_window < 1 ||
      (options.storm && (options.server_pids.empty() || protocol->name() != "parley-api"))) {
    std::cerr << "--protocol must be parley-api, parley-seed or nchan; --subscribers >= 1; "
                 "--setup_window >= 1; --storm needs parley-api and --pids\n";
    return 2;
  }
  parley::bench::LoadRun run(options, std::move(protocol));
  const std::string report = options.storm ? run.RunStorm() : run.Run();
  if (const std::string out = absl::GetFlag(FLAGS_out); !out.empty()) {
    std::ofstream(out) << report;
  } else {
    std::cout << report;
  }
  std::cout << run.Summary() << "\n";
  return 0;
}
