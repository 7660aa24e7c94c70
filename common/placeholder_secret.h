#ifndef PARLEY_COMMON_PLACEHOLDER_SECRET_H_
#define PARLEY_COMMON_PLACEHOLDER_SECRET_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace parley {

// Refuses a secret that is a placeholder of the kind example files ship ("replace-me...",
// "...change-me"): anyone who has read the repository could sign session tokens or log in to
// Redis with it. InvalidArgument naming `what` (e.g. "the session secret") and how to make a
// real one; OK otherwise. Pure; any thread.
absl::Status CheckNotPlaceholder(absl::string_view what, absl::string_view secret);

}  // namespace parley

#endif  // PARLEY_COMMON_PLACEHOLDER_SECRET_H_
