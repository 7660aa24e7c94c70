#ifndef PARLEY_COMMON_LOG_H_
#define PARLEY_COMMON_LOG_H_

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace parley {

// One line to stderr, prefixed with the UTC time: Parley's services log for operators (and
// container runtimes) to read, not for machines. Any thread; stdio serializes the writes.
template <typename... Args>
void LogLine(const absl::FormatSpec<Args...>& format, const Args&... args) {
  const std::string text = absl::StrFormat(format, args...);
  absl::FPrintF(stderr, "%s %s\n",
                absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), text);
}

}  // namespace parley

#endif  // PARLEY_COMMON_LOG_H_
