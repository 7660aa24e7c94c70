#include "frontend/session/session_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace parley::frontend {
namespace {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return absl::BytesToHexString(raw);
}

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("session token ", why));
}

// A token's fields, in order; the MAC follows them.
constexpr size_t kFields = 6;
constexpr size_t kMaxTokenBytes = 512;

}  // namespace

absl::string_view SessionSourceName(SessionSource source) {
  return source == SessionSource::kToken ? "token" : "name";
}

SessionTokens::SessionTokens(std::string secret, absl::Duration lifetime)
    : secret_(std::move(secret)), lifetime_(lifetime) {}

std::string SessionTokens::RandomSecret() { return RandomHex(32); }

Session SessionTokens::NewSession(absl::string_view user, absl::Time now) const {
  const absl::Time started = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  return Session{std::string(user),   RandomHex(16),        started,
                 started + lifetime_, SessionSource::kName, ""};
}

Session SessionTokens::NewTokenSession(absl::string_view user, absl::string_view display_name,
                                       absl::Time issued_at, absl::Time token_expires_at,
                                       absl::Time now) const {
  Session session = NewSession(user, now);
  session.source = SessionSource::kToken;
  session.session_id = AppUserSession(user);
  session.display_name = std::string(display_name);
  if (issued_at != absl::InfinitePast() && issued_at < session.started) {
    session.started = absl::FromUnixSeconds(absl::ToUnixSeconds(issued_at));
  }
  session.expires_at =
      std::min(session.expires_at, absl::FromUnixSeconds(absl::ToUnixSeconds(token_expires_at)));
  return session;
}

std::string SessionTokens::AppUserSession(absl::string_view user) const {
  return Mac(absl::StrCat("app-user~", user)).substr(0, 32);
}

std::string SessionTokens::Mac(absl::string_view signed_part) const {
  const std::string payload = absl::StrCat("v2~", signed_part);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &mac_length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_length));
}

std::string SessionTokens::Encode(const Session& session) const {
  const std::string signed_part =
      absl::StrCat(session.user, "~", session.session_id, "~", absl::ToUnixSeconds(session.started),
                   "~", absl::ToUnixSeconds(session.expires_at), "~",
                   session.source == SessionSource::kToken ? "t" : "n", "~",
                   absl::WebSafeBase64Escape(session.display_name));
  return absl::StrCat(signed_part, "~", Mac(signed_part));
}

bool SessionTokens::VerifiedBefore(absl::string_view signed_part, absl::string_view mac) const {
  absl::MutexLock lock(&verified_mu_);
  auto it = verified_.find(signed_part);
  return it != verified_.end() && it->second.size() == mac.size() &&
         CRYPTO_memcmp(it->second.data(), mac.data(), mac.size()) == 0;
}

void SessionTokens::Remember(absl::string_view signed_part, absl::string_view mac) const {
  absl::MutexLock lock(&verified_mu_);
  if (verified_.size() >= kMaxVerified) verified_.clear();
  verified_.insert_or_assign(std::string(signed_part), std::string(mac));
}

namespace {

// Only the canonical spelling: SimpleAtoi alone would also take " 17", "+17" and "017",
// and every spelling of one number would carry the same valid MAC (found by fuzzing).
bool ParseCanonical(absl::string_view text, int64_t* number) {
  return absl::SimpleAtoi(text, number) && absl::StrCat(*number) == text;
}

}  // namespace

absl::StatusOr<Session> SessionTokens::Verify(absl::string_view token, absl::Time now) const {
  if (token.empty()) return Unauthenticated("is missing");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("is too long");
  std::array<absl::string_view, kFields + 1> parts;
  size_t found = 0;
  for (absl::string_view part : absl::StrSplit(token, '~')) {
    if (found == parts.size()) return Unauthenticated("is malformed");
    parts[found++] = part;
  }
  if (found != parts.size()) return Unauthenticated("is malformed");
  int64_t started = 0;
  int64_t expiry = 0;
  std::string display_name;
  if (!ParseCanonical(parts[2], &started) || !ParseCanonical(parts[3], &expiry) ||
      (parts[4] != "n" && parts[4] != "t") ||
      !absl::WebSafeBase64Unescape(parts[5], &display_name) ||
      absl::WebSafeBase64Escape(display_name) != parts[5]) {
    return Unauthenticated("is malformed");
  }
  const absl::string_view mac = parts[kFields];
  const absl::string_view signed_part = token.substr(0, token.size() - mac.size() - 1);
  if (!VerifiedBefore(signed_part, mac)) {
    const std::string expected = Mac(signed_part);
    if (mac.size() != expected.size() ||
        CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
      return Unauthenticated("is not valid");
    }
    Remember(signed_part, mac);
  }
  const absl::Time expires_at = absl::FromUnixSeconds(expiry);
  if (expires_at <= now) return Unauthenticated("has expired");
  return Session{std::string(parts[0]),
                 std::string(parts[1]),
                 absl::FromUnixSeconds(started),
                 expires_at,
                 parts[4] == "t" ? SessionSource::kToken : SessionSource::kName,
                 std::move(display_name)};
}

}  // namespace parley::frontend
