#ifndef PARLEY_BENCH_LOADGEN_PROCESS_STATS_H_
#define PARLEY_BENCH_LOADGEN_PROCESS_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace parley::bench {

// One process's share of a ProcessSample.
struct ProcessCounters {
  pid_t pid = 0;
  std::string name;  // /proc/<pid>/comm: parley-frontend, parley-broker, nginx, redis-server
  double cpu_seconds = 0;
  // Voluntary and involuntary, summed over the process's threads now alive.
  int64_t context_switches = 0;
};

// One reading of the servers under test from /proc.
struct ProcessSample {
  double cpu_seconds = 0;                  // user + system, summed over the processes
  int64_t rss_kib = 0;                     // VmRSS, summed
  int64_t peak_rss_kib = 0;                // VmHWM, summed
  int64_t threads = 0;                     // summed
  std::vector<ProcessCounters> processes;  // one per pid, in the order given
};

// Reads /proc/<pid>/stat, /proc/<pid>/status and each /proc/<pid>/task/*/status of each pid
// (missing ones count zero).
ProcessSample SampleProcesses(const std::vector<pid_t>& pids);

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_PROCESS_STATS_H_
