#include "common/placeholder_secret.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley {

absl::Status CheckNotPlaceholder(absl::string_view what, absl::string_view secret) {
  const std::string lower = absl::AsciiStrToLower(secret);
  for (absl::string_view marker : {"replace-me", "replaceme", "change-me", "changeme"}) {
    if (absl::StrContains(lower, marker)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is a placeholder from an example file: make a real one (",
                       "openssl rand -hex 32)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace parley
