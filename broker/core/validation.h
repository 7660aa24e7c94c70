#ifndef PARLEY_BROKER_CORE_VALIDATION_H_
#define PARLEY_BROKER_CORE_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/names.h"

namespace parley::broker {

// Input rules shared by every RPC. Each returns OK or INVALID_ARGUMENT with a message that
// names `field` and says what is wrong. Pure functions: any thread.

inline constexpr size_t kMaxTokenLength = 128;

// User and room names: parley::ValidateName (common/names.h), shared with the frontend.
using ::parley::ValidateName;

// Message text: 1..max_bytes bytes and 1..max_code_points code points of valid UTF-8 (no
// overlong forms, surrogates or values above U+10FFFF), without C0/C1 control characters
// other than newline and tab. Not normalised: the text is stored as sent.
absl::Status ValidateText(absl::string_view text, size_t max_bytes, size_t max_code_points);

// Opaque tokens (session ids, idempotency keys): 1-128 printable ASCII characters. Optional
// tokens are checked only when non-empty by the caller.
absl::Status ValidateToken(absl::string_view field, absl::string_view token);

// A history page's `before` (HistoryPage::older): empty, or 1-41 characters of digits with at
// most one '-' between them (a store's position: a count, or a Redis stream id).
absl::Status ValidateHistoryPosition(absl::string_view before);

// A HolderTag: 16 lowercase hex digits.
absl::Status ValidateHolderTag(absl::string_view tag);

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_VALIDATION_H_
