// App tokens (frontend/auth/app_token_verifier) against fuzzed input: never crash, refuse with
// UNAUTHENTICATED and one of the documented codes, and accept only what holds up. The first
// byte picks the mode: even, the rest is a token as a client would send it (accepted only if
// its HMAC is right); odd, the rest is "header JSON\nclaims JSON", signed here with the secret,
// so the claim checks see every shape of claims a real signature can carry.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/error_code.h"
#include "common/names.h"
#include "frontend/auth/app_token_verifier.h"

namespace {

using parley::frontend::AppIdentity;
using parley::frontend::AppTokenPolicy;
using parley::frontend::AppTokenVerifier;
using parley::frontend::JwtKeyRing;

const std::string kSecret = "fuzzing-secret-of-thirty-two-bytes!!";

std::string Hmac(const std::string& signed_part) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
       &length);
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(mac), length));
}

const AppTokenVerifier& Verifier() {
  static const JwtKeyRing* ring =
      JwtKeyRing::Load(*parley::frontend::SecretKey(kSecret), "")->release();
  static const AppTokenVerifier verifier(ring, AppTokenPolicy{.issuer = "app", .audience = "parley"});
  return verifier;
}

const absl::flat_hash_set<std::string> kCodes = {
    "token_too_large", "invalid_token",    "alg_none",        "unsupported_algorithm",
    "unknown_key",     "wrong_algorithm",  "bad_signature",   "missing_expiry",
    "token_expired",   "token_not_yet_valid", "wrong_issuer", "wrong_audience",
    "invalid_subject", "invalid_claims"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool signed_here = data[0] % 2 == 1;
  std::string token = input;
  if (signed_here) {
    const size_t newline = input.find('\n');
    if (newline == std::string::npos) return 0;
    const std::string signed_part =
        absl::StrCat(absl::WebSafeBase64Escape(input.substr(0, newline)), ".",
                     absl::WebSafeBase64Escape(input.substr(newline + 1)));
    token = absl::StrCat(signed_part, ".", Hmac(signed_part));
  }
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  absl::StatusOr<AppIdentity> identity = Verifier().Verify(token, now);
  if (!identity.ok()) {
    if (identity.status().code() != absl::StatusCode::kUnauthenticated) std::abort();
    if (!kCodes.contains(parley::ErrorCodeOf(identity.status()).value_or(""))) std::abort();
    return 0;
  }
  if (!signed_here) {  // a forged token can only pass by carrying the right HMAC
    const size_t last_dot = token.rfind('.');
    if (last_dot == std::string::npos || Hmac(token.substr(0, last_dot)) != token.substr(last_dot + 1)) {
      std::abort();
    }
  }
  if (!parley::ValidateName("sub", identity->user).ok()) std::abort();
  if (identity->expires_at + absl::Seconds(30) < now) std::abort();
  if (identity->display_name.size() > 64 || identity->rooms.size() > 100) std::abort();
  for (const std::string& room : identity->rooms) {
    if (!parley::ValidateName("room", room).ok()) std::abort();
  }
  return 0;
}
