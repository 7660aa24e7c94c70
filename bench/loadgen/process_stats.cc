#include "bench/loadgen/process_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace parley::bench {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

int64_t StatusNumber(const std::string& status, const std::string& key) {
  const size_t at = status.find(key + ":");
  if (at == std::string::npos) return 0;
  int64_t value = 0;
  std::string rest = status.substr(at + key.size() + 1, 32);
  std::vector<std::string> words = absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (!words.empty()) (void)absl::SimpleAtoi(words[0], &value);
  return value;
}

// Context switches of every thread of the process (each task's status counts its own).
int64_t ContextSwitches(pid_t pid) {
  const std::string tasks = absl::StrCat("/proc/", pid, "/task");
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return 0;
  int64_t switches = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string status = ReadFile(absl::StrCat(tasks, "/", entry->d_name, "/status"));
    switches += StatusNumber(status, "voluntary_ctxt_switches") +
                StatusNumber(status, "nonvoluntary_ctxt_switches");
  }
  closedir(dir);
  return switches;
}

}  // namespace

ProcessSample SampleProcesses(const std::vector<pid_t>& pids) {
  ProcessSample sample;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (pid_t pid : pids) {
    ProcessCounters& process = sample.processes.emplace_back();
    process.pid = pid;
    process.name = ReadFile(absl::StrCat("/proc/", pid, "/comm"));
    while (!process.name.empty() && process.name.back() == '\n') process.name.pop_back();
    const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos) {
      // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
      std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
      int64_t utime = 0, stime = 0;
      if (fields.size() > 13 && absl::SimpleAtoi(fields[11], &utime) &&
          absl::SimpleAtoi(fields[12], &stime)) {
        process.cpu_seconds = static_cast<double>(utime + stime) / ticks;
        sample.cpu_seconds += process.cpu_seconds;
      }
    }
    process.context_switches = ContextSwitches(pid);
    const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
    sample.rss_kib += StatusNumber(status, "VmRSS");
    sample.peak_rss_kib += StatusNumber(status, "VmHWM");
    sample.threads += StatusNumber(status, "Threads");
  }
  return sample;
}

}  // namespace parley::bench
