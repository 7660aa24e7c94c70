#include "frontend/session/session_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

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

}  // namespace

SessionTokens::SessionTokens(std::string secret, absl::Duration lifetime)
    : secret_(std::move(secret)), lifetime_(lifetime) {}

std::string SessionTokens::RandomSecret() { return RandomHex(32); }

Session SessionTokens::NewSession(absl::string_view user, absl::Time now) const {
  return Session{std::string(user), RandomHex(16), now + lifetime_};
}

std::string SessionTokens::Mac(absl::string_view user, absl::string_view session_id,
                               int64_t expiry) const {
  const std::string payload = absl::StrCat("v1~", user, "~", session_id, "~", expiry);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &mac_length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_length));
}

std::string SessionTokens::Encode(const Session& session) const {
  const int64_t expiry = absl::ToUnixSeconds(session.expires_at);
  return absl::StrCat(session.user, "~", session.session_id, "~", expiry, "~",
                      Mac(session.user, session.session_id, expiry));
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

absl::StatusOr<Session> SessionTokens::Verify(absl::string_view token, absl::Time now) const {
  if (token.empty()) return Unauthenticated("is missing");
  if (token.size() > 256) return Unauthenticated("is too long");
  // Four parts: three '~' apart.
  std::array<absl::string_view, 4> parts;
  size_t found = 0;
  for (absl::string_view part : absl::StrSplit(token, '~')) {
    if (found == parts.size()) return Unauthenticated("is malformed");
    parts[found++] = part;
  }
  if (found != parts.size()) return Unauthenticated("is malformed");
  int64_t expiry = 0;
  // Only the canonical spelling: SimpleAtoi alone would also take " 17", "+17" and "017",
  // and every spelling of one expiry would carry the same valid MAC (found by fuzzing).
  if (!absl::SimpleAtoi(parts[2], &expiry) || absl::StrCat(expiry) != parts[2]) {
    return Unauthenticated("is malformed");
  }
  const absl::string_view signed_part = token.substr(0, token.size() - parts[3].size() - 1);
  if (!VerifiedBefore(signed_part, parts[3])) {
    const std::string expected = Mac(parts[0], parts[1], expiry);
    if (parts[3].size() != expected.size() ||
        CRYPTO_memcmp(parts[3].data(), expected.data(), expected.size()) != 0) {
      return Unauthenticated("is not valid");
    }
    Remember(signed_part, parts[3]);
  }
  const absl::Time expires_at = absl::FromUnixSeconds(expiry);
  if (expires_at <= now) return Unauthenticated("has expired");
  return Session{std::string(parts[0]), std::string(parts[1]), expires_at};
}

}  // namespace parley::frontend
