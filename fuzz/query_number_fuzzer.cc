// Cursor and other numeric query parameters (frontend/http/request_helpers' QueryNumber):
// after cpp-httplib decoded the query, any value either parses to exactly its decimal
// number within the bound or is refused with INVALID_ARGUMENT.

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "frontend/http/request_helpers.h"

namespace {

// The decimal value of `text`, if it is 1-20 digits (optionally led by '+', as
// absl::SimpleAtoi allows, and surrounded by ASCII whitespace) fitting in 64 bits.
bool Reference(std::string text, uint64_t* value) {
  const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!text.empty() && space(text.front())) text.erase(0, 1);
  while (!text.empty() && space(text.back())) text.pop_back();
  if (!text.empty() && text.front() == '+') text.erase(0, 1);
  if (text.empty()) return false;
  unsigned __int128 result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + static_cast<unsigned>(c - '0');
    if (result > std::numeric_limits<uint64_t>::max()) return false;
  }
  *value = static_cast<uint64_t>(result);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint64_t max = data[0] % 2 == 0 ? std::numeric_limits<uint64_t>::max() : 1000;
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
  httplib::Request request;
  request.params.emplace("cursor", value);
  const absl::StatusOr<uint64_t> parsed = parley::frontend::QueryNumber(request, "cursor", 7, max);
  uint64_t expected = 0;
  const bool valid = Reference(value, &expected) && expected <= max;
  if (parsed.ok() != valid) std::abort();
  if (parsed.ok() && *parsed != expected) std::abort();
  if (!parsed.ok() && parsed.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
  return 0;
}
