#ifndef PARLEY_FRONTEND_HTTP_REQUEST_HELPERS_H_
#define PARLEY_FRONTEND_HTTP_REQUEST_HELPERS_H_

#include <httplib.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "parley/v1/broker.pb.h"

namespace parley::frontend {

inline constexpr absl::string_view kSessionCookie = "parley_session";

// The session token of a request: "Authorization: Bearer <token>", else cookie
// parley_session; empty if neither. A view into the request's headers.
absl::string_view SessionTokenOf(const httplib::Request& request);

// Set-Cookie values for the session cookie (HttpOnly, SameSite=Strict, Path=/).
std::string SessionCookie(absl::string_view token, absl::Duration max_age);
std::string ClearedSessionCookie();

// True unless the request carries an Origin header naming another host than its Host header.
bool IsSameOriginOrUnstated(const httplib::Request& request);

bool IsStateChanging(const httplib::Request& request);

// A query parameter as an unsigned number in [0, max]; `fallback` when absent.
absl::StatusOr<uint64_t> QueryNumber(const httplib::Request& request, const std::string& name,
                                     uint64_t fallback, uint64_t max);

// A query parameter as a boolean ("true"/"1" or "false"/"0"); `fallback` when absent.
absl::StatusOr<bool> QueryFlag(const httplib::Request& request, const std::string& name,
                               bool fallback);

// A Members call from /rooms/<room>/members?limit&online&after&prefix (the room is the
// route's first match): INVALID_ARGUMENT for a bad limit (over `max_limit`) or flag.
absl::StatusOr<v1::MembersRequest> MembersRequestOf(const httplib::Request& request,
                                                    uint64_t max_limit);

// A History call from /rooms/<room>/history?limit&before (the room is the route's first
// match): `limit` defaults to kDefaultHistoryPage, at most `max_limit`; INVALID_ARGUMENT for
// a bad limit. `before` is checked by the broker.
inline constexpr uint64_t kDefaultHistoryPage = 100;
absl::StatusOr<v1::HistoryRequest> HistoryRequestOf(const httplib::Request& request,
                                                    uint64_t max_limit);

// The presence versions a poll knows: "room:version,room:version" (at most
// kMaxPresenceRooms rooms; an empty value is no room).
inline constexpr size_t kMaxPresenceRooms = 200;
absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> ParsePresenceVersions(
    absl::string_view value);

// The security headers every response carries (CSP, nosniff, referrer policy, framing).
std::vector<std::pair<std::string, std::string>> SecurityHeaders();

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_HTTP_REQUEST_HELPERS_H_
