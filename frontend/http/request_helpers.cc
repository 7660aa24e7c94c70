#include "frontend/http/request_helpers.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/names.h"

namespace parley::frontend {

namespace {

// The first value of header `name` (as get_header_value, without copying it).
absl::string_view HeaderView(const httplib::Request& request, const std::string& name) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? absl::string_view() : absl::string_view(it->second);
}

}  // namespace

absl::string_view SessionTokenOf(const httplib::Request& request) {
  static const std::string kAuthorization = "Authorization";
  static const std::string kCookie = "Cookie";
  absl::string_view bearer = HeaderView(request, kAuthorization);
  if (absl::ConsumePrefix(&bearer, "Bearer ")) return absl::StripAsciiWhitespace(bearer);
  for (absl::string_view cookie : absl::StrSplit(HeaderView(request, kCookie), ';')) {
    cookie = absl::StripAsciiWhitespace(cookie);
    if (absl::ConsumePrefix(&cookie, kSessionCookie) && absl::ConsumePrefix(&cookie, "=")) {
      return cookie;
    }
  }
  return {};
}

std::string SessionCookie(absl::string_view token, absl::Duration max_age) {
  return absl::StrCat(kSessionCookie, "=", token, "; Path=/; HttpOnly; SameSite=Strict; Max-Age=",
                      absl::ToInt64Seconds(max_age));
}

std::string ClearedSessionCookie() {
  return absl::StrCat(kSessionCookie, "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

bool IsSameOriginOrUnstated(const httplib::Request& request) {
  if (!request.has_header("Origin")) return true;
  const std::string origin_header = request.get_header_value("Origin");
  absl::string_view origin = origin_header;
  if (!absl::ConsumePrefix(&origin, "http://") && !absl::ConsumePrefix(&origin, "https://")) {
    return false;  // "null" and other schemes are never this site
  }
  return absl::EqualsIgnoreCase(origin, request.get_header_value("Host"));
}

bool IsStateChanging(const httplib::Request& request) {
  return request.method != "GET" && request.method != "HEAD" && request.method != "OPTIONS";
}

absl::StatusOr<uint64_t> QueryNumber(const httplib::Request& request, const std::string& name,
                                     uint64_t fallback, uint64_t max) {
  if (!request.has_param(name)) return fallback;
  uint64_t value = 0;
  if (!absl::SimpleAtoi(request.get_param_value(name), &value) || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("query parameter '", name, "' must be a whole number from 0 to ", max));
  }
  return value;
}

absl::StatusOr<bool> QueryFlag(const httplib::Request& request, const std::string& name,
                               bool fallback) {
  if (!request.has_param(name)) return fallback;
  const std::string value = request.get_param_value(name);
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("query parameter '", name, "' must be true or false"));
}

absl::StatusOr<v1::MembersRequest> MembersRequestOf(const httplib::Request& request,
                                                    uint64_t max_limit) {
  absl::StatusOr<uint64_t> limit = QueryNumber(request, "limit", 0, max_limit);
  absl::StatusOr<bool> online = QueryFlag(request, "online", false);
  for (const absl::Status& status : {limit.status(), online.status()}) {
    if (!status.ok()) return status;
  }
  v1::MembersRequest members;
  members.set_room(request.matches[1]);
  members.set_limit(static_cast<uint32_t>(*limit));
  members.set_online_only(*online);
  // `after` and `prefix` are checked by the broker (INVALID_ARGUMENT: 400).
  members.set_after(request.get_param_value("after"));
  members.set_prefix(request.get_param_value("prefix"));
  return members;
}

absl::StatusOr<v1::HistoryRequest> HistoryRequestOf(const httplib::Request& request,
                                                    uint64_t max_limit) {
  absl::StatusOr<uint64_t> limit = QueryNumber(request, "limit", kDefaultHistoryPage, max_limit);
  if (!limit.ok()) return limit.status();
  v1::HistoryRequest history;
  history.set_room(request.matches[1]);
  history.set_limit(static_cast<uint32_t>(*limit));
  history.set_before(request.get_param_value("before"));
  return history;
}

absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> ParsePresenceVersions(
    absl::string_view value) {
  absl::flat_hash_map<std::string, uint64_t> versions;
  if (value.empty()) return versions;
  const auto invalid = [] {
    return absl::InvalidArgumentError(
        absl::StrCat("query parameter 'presence' must be room:version pairs separated by "
                     "commas, at most ",
                     kMaxPresenceRooms, " rooms"));
  };
  for (absl::string_view pair : absl::StrSplit(value, ',')) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(pair, absl::MaxSplits(':', 1));
    uint64_t version = 0;
    if (!ValidateName("room", parts.first).ok() || parts.second.empty() ||
        !std::all_of(parts.second.begin(), parts.second.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
        !absl::SimpleAtoi(parts.second, &version) || versions.size() == kMaxPresenceRooms) {
      return invalid();
    }
    versions[parts.first] = version;
  }
  return versions;
}

std::vector<std::pair<std::string, std::string>> SecurityHeaders() {
  return {{"Content-Security-Policy",
           "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "same-origin"},
          {"X-Frame-Options", "DENY"}};
}

}  // namespace parley::frontend
