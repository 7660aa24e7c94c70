#include "broker/core/validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::broker {
namespace {

TEST(ValidateNameTest, AcceptsLettersDigitsAndPunctuation) {
  EXPECT_TRUE(ValidateName("user", "alice").ok());
  EXPECT_TRUE(ValidateName("user", "A_b.c-9").ok());
  EXPECT_TRUE(ValidateName("user", std::string(32, 'x')).ok());
}

TEST(ValidateNameTest, RejectsEmptyLongAndOtherCharacters) {
  for (const std::string& bad :
       std::vector<std::string>{"", std::string(33, 'x'), "a b", "a/b", "é", "a\nb", "<b>"}) {
    absl::Status status = ValidateName("room", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("room"), absl::string_view::npos) << status;
  }
}

TEST(ValidateTextTest, AcceptsUtf8WithNewlinesAndTabs) {
  EXPECT_TRUE(ValidateText("hello", 10, 1000).ok());
  EXPECT_TRUE(ValidateText("line\n\tnext", 100, 1000).ok());
  EXPECT_TRUE(ValidateText("\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80", 100, 1000).ok());  // 你好 😀
}

TEST(ValidateTextTest, RejectsEmptyTooLongInvalidUtf8AndControls) {
  EXPECT_EQ(ValidateText("", 10, 1000).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateText("12345678901", 10, 1000).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateText("\xE4\xBD", 10, 1000).code(), absl::StatusCode::kInvalidArgument);  // cut
  EXPECT_EQ(ValidateText("\xC0\xAF", 10, 1000).code(), absl::StatusCode::kInvalidArgument);  // overlong
  EXPECT_EQ(ValidateText("\xED\xA0\x80", 10, 1000).code(),
            absl::StatusCode::kInvalidArgument);  // surrogate
  EXPECT_EQ(ValidateText("\xFF", 10, 1000).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateText("bell\a", 10, 1000).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateText(std::string("nul\0x", 5), 10, 1000).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateTextTest, LimitInCodePointsToo) {
  EXPECT_TRUE(ValidateText("\xE4\xBD\xA0\xE5\xA5\xBD", 100, 2).ok());  // 6 bytes, 2 code points
  const absl::Status three = ValidateText("\xE4\xBD\xA0\xE5\xA5\xBDx", 100, 2);
  EXPECT_EQ(three.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(three.message(), "text must be at most 2 characters");
}

TEST(ValidateTextTest, LimitIsInBytes) {
  EXPECT_TRUE(ValidateText("\xE4\xBD\xA0\xE5\xA5\xBD", 6, 1000).ok());
  EXPECT_FALSE(ValidateText("\xE4\xBD\xA0\xE5\xA5\xBD", 5, 1000).ok());
}

TEST(ValidateTokenTest, PrintableAsciiUpTo128) {
  EXPECT_TRUE(ValidateToken("session", "abc-123_XYZ").ok());
  EXPECT_FALSE(ValidateToken("session", "").ok());
  EXPECT_FALSE(ValidateToken("session", "has space").ok());
  EXPECT_FALSE(ValidateToken("session", std::string(129, 'a')).ok());
}

}  // namespace
}  // namespace parley::broker
