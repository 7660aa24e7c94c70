#ifndef PARLEY_COMMON_LOG_H_
#define PARLEY_COMMON_LOG_H_

#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace parley {

// Parley's logs: one line per event on stderr, key=value, for people and log shippers alike:
//   ts=2026-11-22T21:00:00.123Z level=info service=parley-broker event=listening port=50051
// Values with spaces, quotes or '=' are quoted. Events at info and above say what happened to
// the service (start, stop, failures), never what users wrote; debug adds one line per
// request or RPC (still without message text). Any thread: each line is one write.

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

struct LogField {
  LogField(absl::string_view key, absl::string_view value) : key(key), value(value) {}
  LogField(absl::string_view key, const char* value) : key(key), value(value) {}
  LogField(absl::string_view key, const std::string& value) : key(key), value(value) {}
  template <typename Number, typename = std::enable_if_t<std::is_arithmetic_v<Number> &&
                                                         !std::is_same_v<Number, bool>>>
  LogField(absl::string_view key, Number value) : key(key), value(absl::StrCat(value)) {}
  LogField(absl::string_view key, bool value) : key(key), value(value ? "true" : "false") {}

  absl::string_view key;
  std::string value;
};

// Names the service in every line and applies --log_level (call after parsing flags).
void InitLogging(absl::string_view service);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields = {});

// The line Log would write (without the trailing newline), for tests.
std::string FormatLogLine(LogLevel level, absl::string_view event,
                          std::initializer_list<LogField> fields);

}  // namespace parley

#endif  // PARLEY_COMMON_LOG_H_
