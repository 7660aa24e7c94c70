#ifndef PARLEY_BROKER_CORE_CHAT_ERRORS_H_
#define PARLEY_BROKER_CORE_CHAT_ERRORS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace parley::broker {

// The errors of the chat rules, worded once for ChatState and every store.

// Reasons for the errors whose code has more than one meaning (broker.proto, ErrorInfo). The
// reason travels as the status's payload under kErrorReasonUrl; status_mapping puts it on the
// wire.
inline constexpr char kErrorReasonUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kReasonRateLimited[] = "RATE_LIMITED";
inline constexpr char kReasonStoreFull[] = "STORE_FULL";
inline constexpr char kReasonTooManyPolls[] = "TOO_MANY_POLLS";
inline constexpr char kReasonRevoked[] = "REVOKED";
inline constexpr char kReasonHolderChanged[] = "HOLDER_CHANGED";

inline absl::Status WithReason(absl::Status status, absl::string_view reason) {
  status.SetPayload(kErrorReasonUrl, absl::Cord(reason));
  return status;
}

// The reason WithReason gave, or "".
inline std::string ErrorReason(const absl::Status& status) {
  const auto reason = status.GetPayload(kErrorReasonUrl);  // absl::optional
  return reason.has_value() ? std::string(*reason) : std::string();
}

inline absl::Status RateLimited(absl::string_view message) {
  return WithReason(absl::ResourceExhaustedError(message), kReasonRateLimited);
}

// The store refuses writes until something is freed (Redis maxmemory with noeviction).
inline absl::Status StoreFull(absl::string_view detail) {
  return WithReason(absl::ResourceExhaustedError(
                        absl::StrCat("the store is full; try again later (", detail, ")")),
                    kReasonStoreFull);
}

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

inline absl::Status SessionMayBeLoggedOut() {
  return absl::UnauthenticatedError(
      "the store lost writes since this session began (its logout may have been among them); "
      "log in again");
}

// A direct message meant for the person who held `user` before: the name changed hands (or
// its holder logged out and came back as someone new).
inline absl::Status HolderChanged(absl::string_view user) {
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "'", user, "' is now someone else: the person you wrote to logged out")),
                    kReasonHolderChanged);
}

// A publish from a session that no longer holds the sender's name.
inline absl::Status NotTheHolder(absl::string_view user) {
  return absl::UnauthenticatedError(
      absl::StrCat("this session no longer holds the name '", user, "'; log in again"));
}

inline absl::Status SessionRevoked() {
  return WithReason(absl::UnauthenticatedError(
                        "the app ended this user's sessions after this one began; log in again"),
                    kReasonRevoked);
}

// A private room to someone not on its access list: the same answer as no room at all.
inline absl::Status NoRoomToJoin(absl::string_view room) {
  return absl::NotFoundError(absl::StrCat("there is no room '", room, "' you may join"));
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
