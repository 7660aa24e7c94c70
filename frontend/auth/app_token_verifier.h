#ifndef PARLEY_FRONTEND_AUTH_APP_TOKEN_VERIFIER_H_
#define PARLEY_FRONTEND_AUTH_APP_TOKEN_VERIFIER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "frontend/auth/jwt_key_ring.h"

namespace parley::frontend {

// What the frontend requires of an app's tokens beyond a good signature.
struct AppTokenPolicy {
  std::string issuer;    // empty: iss is not checked
  std::string audience;  // empty: aud is not checked
  // Clock skew allowed between the app's backend and the frontend, for exp, nbf and iat.
  absl::Duration leeway = absl::Seconds(30);
  size_t max_bytes = 8 * 1024;
};

// Who an app's token says the user is.
struct AppIdentity {
  std::string user;          // sub: a valid Parley name
  std::string display_name;  // the optional "name" claim ("" when absent)
  std::vector<std::string> rooms;  // the optional "rooms" claim: rooms the user may join
  absl::Time issued_at = absl::InfinitePast();  // iat, when given
  absl::Time expires_at;                        // exp (required)
};

// Checks an app's JWT (JWS compact form) against the key ring and the policy: the signature
// first (cpp-jwt for RS256 and ES256, OpenSSL's HMAC compared in constant time for HS256),
// then the claims. The key is chosen by the token's kid (else the keys without one) and fixes
// the algorithm, so "alg" can only name the algorithm the key already has.
//
// Every refusal is UNAUTHENTICATED with an error code (common/error_code.h) saying which:
// token_too_large, invalid_token (not a JWS), alg_none, unsupported_algorithm, unknown_key,
// wrong_algorithm, bad_signature, missing_expiry, token_expired, token_not_yet_valid,
// wrong_issuer, wrong_audience, invalid_subject, invalid_claims.
// Thread-safe (the key ring is).
class AppTokenVerifier {
 public:
  AppTokenVerifier(const JwtKeyRing* keys, AppTokenPolicy policy)
      : keys_(keys), policy_(std::move(policy)) {}

  absl::StatusOr<AppIdentity> Verify(absl::string_view token, absl::Time now) const;

 private:
  const JwtKeyRing* const keys_;
  const AppTokenPolicy policy_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_AUTH_APP_TOKEN_VERIFIER_H_
