// Name, text and token rules (broker/core/validation) against fuzzed bytes: never crash, and
// what they accept really has the promised shape.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "broker/core/validation.h"

namespace {

// Counts the code points of `text` if it is valid UTF-8 by an independent, table-free
// reading (continuation bytes are 10xxxxxx); only used on text the validator accepted.
size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  using parley::broker::ValidateName;
  using parley::broker::ValidateText;
  using parley::broker::ValidateToken;

  if (ValidateName("name", input).ok()) {
    Check(!input.empty() && input.size() <= parley::kMaxNameLength);
    for (char c : input) {
      Check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-');
    }
  }
  if (ValidateToken("token", input).ok()) {
    Check(!input.empty() && input.size() <= parley::broker::kMaxTokenLength);
    for (char c : input) Check(c > ' ' && c < 0x7F);
  }
  constexpr size_t kMaxBytes = 64;
  constexpr size_t kMaxCodePoints = 20;
  if (ValidateText(input, kMaxBytes, kMaxCodePoints).ok()) {
    Check(!input.empty() && input.size() <= kMaxBytes);
    Check(CountCodePoints(input) <= kMaxCodePoints);
    for (unsigned char c : input) {
      Check(c >= 0x20 || c == '\n' || c == '\t');
      Check(c != 0x7F && c != 0xC0 && c != 0xC1 && c < 0xF5);  // never in valid UTF-8 text
    }
  }
  return 0;
}
