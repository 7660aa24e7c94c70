#ifndef PARLEY_BROKER_CORE_CHAT_ERRORS_H_
#define PARLEY_BROKER_CORE_CHAT_ERRORS_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace parley::broker {

// The NOT_FOUND errors ChatState's files share, worded once.
inline absl::Status NotConnected(absl::string_view user) {
  return absl::NotFoundError(absl::StrCat("user '", user, "' is not connected"));
}

inline absl::Status NoSuchRoom(absl::string_view room) {
  return absl::NotFoundError(absl::StrCat("room '", room, "' does not exist"));
}

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CHAT_ERRORS_H_
