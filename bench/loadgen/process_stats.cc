#include "bench/loadgen/process_stats.h"

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

int64_t StatusKib(const std::string& status, const std::string& key) {
  const size_t at = status.find(key + ":");
  if (at == std::string::npos) return 0;
  int64_t value = 0;
  std::string rest = status.substr(at + key.size() + 1, 32);
  std::vector<std::string> words = absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (!words.empty()) (void)absl::SimpleAtoi(words[0], &value);
  return value;
}

}  // namespace

ProcessSample SampleProcesses(const std::vector<pid_t>& pids) {
  ProcessSample sample;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (pid_t pid : pids) {
    const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos) {
      // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
      std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
      int64_t utime = 0, stime = 0;
      if (fields.size() > 13 && absl::SimpleAtoi(fields[11], &utime) &&
          absl::SimpleAtoi(fields[12], &stime)) {
        sample.cpu_seconds += static_cast<double>(utime + stime) / ticks;
      }
    }
    const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
    sample.rss_kib += StatusKib(status, "VmRSS");
    sample.peak_rss_kib += StatusKib(status, "VmHWM");
    sample.threads += StatusKib(status, "Threads");
  }
  return sample;
}

}  // namespace parley::bench
