#ifndef PARLEY_BROKER_CORE_CHAT_ERRORS_H_
#define PARLEY_BROKER_CORE_CHAT_ERRORS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace parley::broker {

// The errors of the chat rules, worded once for ChatState and every store.

inline absl::Status NotConnected(absl::string_view user) {
  return absl::NotFoundError(absl::StrCat("user '", user, "' is not connected"));
}

inline absl::Status NoSuchRoom(absl::string_view room) {
  return absl::NotFoundError(absl::StrCat("room '", room, "' does not exist"));
}

inline absl::Status NotAMember(absl::string_view user, absl::string_view room) {
  return absl::FailedPreconditionError(
      absl::StrCat("user '", user, "' is not a member of room '", room, "'"));
}

inline absl::Status SessionLoggedOut() {
  return absl::UnauthenticatedError("this session was logged out; log in again");
}

inline absl::Status NameHeld(absl::string_view user) {
  return absl::AlreadyExistsError(
      absl::StrCat("user name '", user, "' is held by another session"));
}

inline absl::Status SessionDoesNotHold(absl::string_view user) {
  return absl::PermissionDeniedError(absl::StrCat("session does not hold user '", user, "'"));
}

inline absl::Status BrokerDraining() {
  return absl::UnavailableError("the broker is shutting down");
}

inline absl::Status CursorBeyondNewest(uint64_t cursor, uint64_t last_seq, uint64_t epoch) {
  return absl::OutOfRangeError(
      absl::StrCat("cursor ", cursor, " is beyond the newest message (seq ", last_seq,
                   ") of this queue (epoch ", epoch, "); start again from cursor 0"));
}

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CHAT_ERRORS_H_
