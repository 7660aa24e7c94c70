#include "bench/loadgen/syscall_counter.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace parley::bench {
namespace {

constexpr char kEvent[] = "raw_syscalls:sys_enter";

// The count in perf's CSV output (`-x,`): "<count>,,raw_syscalls:sys_enter,...". "<not
// counted>" is a process that never ran while watched (nginx's master): 0. nullopt for "<not
// supported>" or no such line.
std::optional<int64_t> ParseCount(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(kEvent) == std::string::npos) continue;
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    int64_t count = 0;
    if (fields[0] == "<not counted>") return 0;
    if (absl::SimpleAtoi(fields[0], &count)) return count;
  }
  return std::nullopt;
}

}  // namespace

SyscallCounter::SyscallCounter(std::vector<pid_t> pids) {
  char pattern[] = "/tmp/parley-loadgen-perf-XXXXXX";
  if (mkdtemp(pattern) != nullptr) dir_ = pattern;
  for (pid_t pid : pids) perfs_.push_back({pid, -1, absl::StrCat(dir_, "/", pid, ".csv")});
}

SyscallCounter::~SyscallCounter() {
  for (Perf& perf : perfs_) {
    if (perf.perf > 0) {
      kill(perf.perf, SIGKILL);
      waitpid(perf.perf, nullptr, 0);
    }
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void SyscallCounter::Start() {
  if (dir_.empty()) return;
  for (Perf& perf : perfs_) {
    const std::string target = absl::StrCat(perf.target);
    std::vector<std::string> args = {"perf", "stat", "-x,", "-e",       kEvent,
                                     "-p",   target, "-o",  perf.output};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t child = -1;
    if (posix_spawnp(&child, "perf", nullptr, nullptr, argv.data(), environ) == 0) {
      perf.perf = child;
    }
  }
  // perf attaches to the threads after it starts: give it the moment it takes.
  absl::SleepFor(absl::Milliseconds(300));
}

std::vector<std::optional<int64_t>> SyscallCounter::Stop() {
  std::vector<std::optional<int64_t>> counts;
  for (Perf& perf : perfs_) {
    if (perf.perf > 0) {
      kill(perf.perf, SIGINT);  // perf stat prints its counts on SIGINT
      waitpid(perf.perf, nullptr, 0);
      perf.perf = -1;
      counts.push_back(ParseCount(perf.output));
    } else {
      counts.push_back(std::nullopt);
    }
  }
  return counts;
}

}  // namespace parley::bench
