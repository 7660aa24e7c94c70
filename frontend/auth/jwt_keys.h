#ifndef PARLEY_FRONTEND_AUTH_JWT_KEYS_H_
#define PARLEY_FRONTEND_AUTH_JWT_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley::frontend {

// The signature algorithms an app's tokens may use. Each key allows exactly one, so a token
// can never choose how its own signature is checked (algorithm confusion).
enum class JwtAlgorithm { kHs256, kRs256, kEs256 };

// "HS256", "RS256", "ES256".
absl::string_view JwtAlgorithmName(JwtAlgorithm algorithm);

// One key a token may be signed with.
struct JwtKey {
  std::string kid;  // empty: the token must carry no kid (the secret, a PEM key)
  JwtAlgorithm algorithm;
  std::string material;  // HS256: the secret; else the public key as PEM (SubjectPublicKeyInfo)
};

// The HS256 secret as a key: at least 32 bytes (RFC 7518: no shorter than the hash).
absl::StatusOr<JwtKey> SecretKey(std::string secret);

// The public keys in a --jwt_keys file: PEM ("-----BEGIN PUBLIC KEY-----" blocks, no kid) or
// a JWKS document ({"keys": [...]}, every key with a distinct kid; kty RSA or EC P-256; "use"
// and "alg" checked when present). RSA keys must have at least 2048 bits. INVALID_ARGUMENT
// saying what is wrong. Pure: any thread.
absl::StatusOr<std::vector<JwtKey>> ParseJwtKeys(absl::string_view contents);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_AUTH_JWT_KEYS_H_
