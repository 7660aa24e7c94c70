#ifndef PARLEY_BENCH_LOADGEN_IDLE_RUN_H_
#define PARLEY_BENCH_LOADGEN_IDLE_RUN_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace parley::bench {

struct IdleOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string scenario = "idle10k";
  std::string system;  // the name written into the report
  int connections = 10'000;
  double hold_s = 30;
  std::vector<pid_t> server_pids;
};

// The cost of idle keep-alive connections: opens `connections`, sends one GET /healthz on each
// and reads its answer (so each is a kept-alive connection between requests, as a browser
// leaves it), then holds them all for `hold_s` seconds and measures the servers' CPU over the
// hold, and how many connections the server closed meanwhile. Blocking sockets, one thread.
// Returns the report as JSON; `summary` gets one line for people.
std::string RunIdle(const IdleOptions& options, std::string* summary);

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_IDLE_RUN_H_
