#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, log_level, "info",
          "Least important events logged: debug, info, warning or error.");

namespace parley {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::string* service_name = new std::string("parley");  // set once, before threads start

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendValue(absl::string_view value, std::string* out) {
  const bool plain = !value.empty() && value.find_first_of(" \"=\\\n\t") == absl::string_view::npos;
  if (plain) {
    out->append(value.data(), value.size());
    return;
  }
  out->push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

void InitLogging(absl::string_view service) {
  *service_name = std::string(service);
  const std::string level = absl::AsciiStrToLower(absl::GetFlag(FLAGS_log_level));
  for (LogLevel candidate :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (level == LevelName(candidate)) {
      min_level.store(static_cast<int>(candidate));
      return;
    }
  }
  Log(LogLevel::kWarning, "bad_log_level", {{"given", level}, {"using", "info"}});
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= min_level.load(); }

std::string FormatLogLine(LogLevel level, absl::string_view event,
                          std::initializer_list<LogField> fields) {
  std::string line = absl::StrCat(
      "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", LevelName(level), " service=", *service_name, " event=");
  AppendValue(event, &line);
  for (const LogField& field : fields) {
    absl::StrAppend(&line, " ", field.key, "=");
    AppendValue(field.value, &line);
  }
  return line;
}

void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line = FormatLogLine(level, event, fields);
  line.push_back('\n');
  // One write(2) per line: lines from different threads never interleave.
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace parley
