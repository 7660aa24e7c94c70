#ifndef PARLEY_BENCH_LOADGEN_SYSCALL_COUNTER_H_
#define PARLEY_BENCH_LOADGEN_SYSCALL_COUNTER_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace parley::bench {

// Counts the system calls each server process makes between Start() and Stop(), with one
// `perf stat -e raw_syscalls:sys_enter -p <pid>` per process (the kernel keeps no such count
// in /proc). Threads a process starts after Start() are not counted. Without perf, or where
// the tracepoint may not be read, every count is nullopt and the run goes on. The perf
// processes run where the load generator runs (its core). Used from one thread.
class SyscallCounter {
 public:
  explicit SyscallCounter(std::vector<pid_t> pids);
  ~SyscallCounter();
  SyscallCounter(const SyscallCounter&) = delete;
  SyscallCounter& operator=(const SyscallCounter&) = delete;

  void Start();
  // One count per pid given, in order.
  std::vector<std::optional<int64_t>> Stop();

 private:
  struct Perf {
    pid_t target = 0;
    pid_t perf = -1;     // the perf process, -1 when it could not start
    std::string output;  // where it writes its count
  };
  std::vector<Perf> perfs_;
  std::string dir_;
};

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_SYSCALL_COUNTER_H_
