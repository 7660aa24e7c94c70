#ifndef PARLEY_COMMON_ERROR_CODE_H_
#define PARLEY_COMMON_ERROR_CODE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace parley {

// A stable machine-readable code ("token_expired") carried by an absl::Status, for the cases
// where the status code alone does not say which of several refusals it was. The module that
// refuses sets it; the boundary that answers (the HTTP API's error.code) reads it. Pure
// functions: any thread.

inline constexpr absl::string_view kErrorCodePayload = "type.parley.dev/error_code";

inline absl::Status WithErrorCode(absl::Status status, absl::string_view code) {
  status.SetPayload(kErrorCodePayload, absl::Cord(code));
  return status;
}

inline std::optional<std::string> ErrorCodeOf(const absl::Status& status) {
  auto code = status.GetPayload(kErrorCodePayload);  // absl::optional
  if (!code) return std::nullopt;
  return std::string(*code);
}

}  // namespace parley

#endif  // PARLEY_COMMON_ERROR_CODE_H_
