#include "common/program.h"

#include <pthread.h>

#include <utility>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "common/flag_spelling.h"

namespace parley {

void ParseCommandLine(int argc, char** argv, absl::string_view usage, absl::string_view main_file) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [file = std::string(main_file)](absl::string_view path) {
    return absl::StrContains(path, file) || absl::StrContains(path, "common/log.cc") ||
           absl::StrContains(path, "common/grpc_tls.cc");
  };
  absl::SetFlagsUsageConfig(config);
  std::vector<std::string> args = NormalizeFlagSpelling(argc, argv);
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  // Debian's abseil checks every Mutex acquisition for lock-order cycles. The tests keep
  // that check (they build the servers in-process); the programs skip it: with 10,000
  // threads each waiting on its own Mutex it was 12 % of all CPU in bench hold10k.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

StopSignals::StopSignals(std::function<void()> on_hangup) : on_hangup_(std::move(on_hangup)) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  if (on_hangup_) sigaddset(&signals_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

const char* StopSignals::Wait() {
  for (;;) {
    int signal_number = 0;
    sigwait(&signals_, &signal_number);
    if (signal_number != SIGHUP) return signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
    on_hangup_();
  }
}

}  // namespace parley
