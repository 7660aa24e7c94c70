#ifndef PARLEY_COMMON_PROGRAM_H_
#define PARLEY_COMMON_PROGRAM_H_

#include <signal.h>

#include <functional>

#include "absl/strings/string_view.h"

namespace parley {

// Parses the command line with abseil flags: `usage` is the --help text, and --help lists the
// flags defined in files whose path contains `main_file` (e.g. "broker/main.cc"). Flags may
// be spelled with dashes or underscores. Exits on --help or a bad flag, as abseil does.
void ParseCommandLine(int argc, char** argv, absl::string_view usage, absl::string_view main_file);

// SIGTERM and SIGINT (and SIGHUP, when asked for), taken by sigwait and never by a handler.
// Construct it in main before any thread starts, so that every thread inherits the blocked
// mask; then Wait() on main's thread.
class StopSignals {
 public:
  // `on_hangup`: run on main's thread for each SIGHUP (null: SIGHUP keeps its default).
  explicit StopSignals(std::function<void()> on_hangup = nullptr);
  // Blocks until SIGTERM or SIGINT arrives; returns its name.
  const char* Wait();

 private:
  sigset_t signals_;
  std::function<void()> on_hangup_;
};

}  // namespace parley

#endif  // PARLEY_COMMON_PROGRAM_H_
