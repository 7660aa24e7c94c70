#ifndef PARLEY_BENCH_LOADGEN_PROCESS_STATS_H_
#define PARLEY_BENCH_LOADGEN_PROCESS_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace parley::bench {

// One reading of the servers under test from /proc.
struct ProcessSample {
  double cpu_seconds = 0;    // user + system, summed over the processes
  int64_t rss_kib = 0;       // VmRSS, summed
  int64_t peak_rss_kib = 0;  // VmHWM, summed
  int64_t threads = 0;       // summed
};

// Reads /proc/<pid>/stat and /proc/<pid>/status of each pid (missing ones count zero).
ProcessSample SampleProcesses(const std::vector<pid_t>& pids);

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_PROCESS_STATS_H_
