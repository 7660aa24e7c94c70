#include "common/log.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace parley {
namespace {

TEST(LogTest, OneKeyValueLinePerEventWithQuotedValuesWhenNeeded) {
  InitLogging("parley-test");
  const std::string line = FormatLogLine(
      LogLevel::kWarning, "start_failed",
      {{"error", "cannot listen on \"x\" = bad"}, {"port", 8080}, {"ok", false}, {"empty", ""}});
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=warning )"
                       R"(service=parley-test event=start_failed )"
                       R"(error="cannot listen on \\"x\\" = bad" port=8080 ok=false empty="")")))
      << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(
      FormatLogLine(LogLevel::kInfo, "e", {{"text", "two\nlines"}}).find(R"(text="two\nlines")"),
      std::string::npos);
}

TEST(LogTest, LevelsBelowTheChosenOneAreOff) {
  InitLogging("parley-test");  // --log_level defaults to info
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
}

}  // namespace
}  // namespace parley
