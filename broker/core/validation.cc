#include "broker/core/validation.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace parley::broker {
namespace {

// Decodes one UTF-8 code point at text[*pos], advancing *pos. Returns false for malformed,
// overlong or surrogate sequences and code points above U+10FFFF.
bool DecodeUtf8(absl::string_view text, size_t* pos, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(*pos);
  size_t length;
  uint32_t value;
  uint32_t minimum;
  if (lead < 0x80) {
    *code_point = lead;
    *pos += 1;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return false;
  }
  if (*pos + length > text.size()) return false;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t continuation = byte(*pos + i);
    if ((continuation & 0xC0) != 0x80) return false;
    value = (value << 6) | (continuation & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return false;
  }
  *code_point = value;
  *pos += length;
  return true;
}

bool IsForbiddenControl(uint32_t code_point) {
  if (code_point == '\n' || code_point == '\t') return false;
  return code_point < 0x20 || (code_point >= 0x7F && code_point < 0xA0);
}

}  // namespace

absl::Status ValidateText(absl::string_view text, size_t max_bytes, size_t max_code_points) {
  if (text.empty()) return absl::InvalidArgumentError("text is required");
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("text must be at most ", max_bytes, " bytes, got ", text.size()));
  }
  size_t pos = 0;
  size_t code_points = 0;
  while (pos < text.size()) {
    const size_t at = pos;
    uint32_t code_point;
    if (!DecodeUtf8(text, &pos, &code_point)) {
      return absl::InvalidArgumentError(absl::StrCat("text is not valid UTF-8 at byte ", at));
    }
    if (IsForbiddenControl(code_point)) {
      return absl::InvalidArgumentError(
          absl::StrCat("text contains a control character at byte ", at));
    }
    if (++code_points > max_code_points) {
      return absl::InvalidArgumentError(
          absl::StrCat("text must be at most ", max_code_points, " characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateToken(absl::string_view field, absl::string_view token) {
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (token.size() > kMaxTokenLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be at most ", kMaxTokenLength, " characters"));
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7E) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " may contain only printable ASCII characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateHistoryPosition(absl::string_view before) {
  if (before.empty()) return absl::OkStatus();
  const size_t dash = before.find('-');
  const bool digits_around_dash =
      dash == absl::string_view::npos || (dash > 0 && dash + 1 < before.size() &&
                                          before.find('-', dash + 1) == absl::string_view::npos);
  const bool only_digits_and_dash =
      before.find_first_not_of("0123456789-") == absl::string_view::npos;
  if (before.size() > 41 || !digits_around_dash || !only_digits_and_dash) {
    return absl::InvalidArgumentError(
        "before must be a history position (the `older` of an earlier answer)");
  }
  return absl::OkStatus();
}

absl::Status ValidateHolderTag(absl::string_view tag) {
  if (tag.size() != 16 || tag.find_first_not_of("0123456789abcdef") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "to_holder must be 16 lowercase hex digits (a message's from_holder)");
  }
  return absl::OkStatus();
}

}  // namespace parley::broker
