#ifndef PARLEY_COMMON_NAMES_H_
#define PARLEY_COMMON_NAMES_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace parley {

// The rule for user and room names, in one place for both services: the broker checks every
// RPC's names with it, and the frontend checks the name an app's token asserts before it asks
// the broker for anything. Pure functions: any thread.

inline constexpr size_t kMaxNameLength = 32;

// 1-32 characters of [A-Za-z0-9_.-]: OK, or INVALID_ARGUMENT with a message naming `field`.
absl::Status ValidateName(absl::string_view field, absl::string_view name);

}  // namespace parley

#endif  // PARLEY_COMMON_NAMES_H_
