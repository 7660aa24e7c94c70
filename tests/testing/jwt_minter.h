#ifndef PARLEY_TESTS_TESTING_JWT_MINTER_H_
#define PARLEY_TESTS_TESTING_JWT_MINTER_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/time/time.h"

namespace parley::testing {

// A test's stand-in for an app's backend: key pairs and JWTs signed with them, built here from
// OpenSSL so the frontend's verifier is checked against tokens it did not make. Any header and
// claims may be given, hostile ones included. Not thread-safe.
class JwtMinter {
 public:
  enum class KeyType { kRsa, kEc };

  // A fresh key pair: RSA 2048 or EC P-256.
  explicit JwtMinter(KeyType type);
  ~JwtMinter();

  // The public key as PEM, and as one JWK with `kid` (for a JWKS file).
  std::string PublicPem() const;
  nlohmann::json Jwk(const std::string& kid) const;

  // header.payload signed with this key: RS256 (RSA) or ES256 (EC, raw r||s).
  std::string Sign(const nlohmann::json& header, const nlohmann::json& claims) const;
  // header.payload signed with HMAC-SHA256 keyed by `secret`.
  static std::string SignHs256(const std::string& secret, const nlohmann::json& header,
                               const nlohmann::json& claims);
  // header.payload. with no signature (for alg none).
  static std::string Unsigned(const nlohmann::json& header, const nlohmann::json& claims);

 private:
  struct Key;
  const KeyType type_;
  std::unique_ptr<Key> key_;
};

// {"keys": [jwk...]}
std::string JwksOf(std::initializer_list<nlohmann::json> jwks);

// The secret the server tests' app shares with Parley (HS256), and a token of that app: `sub`
// the user, `exp` in an hour, `iat` `issued_ago` ago, then `extra` claims over those.
inline constexpr char kTestAppSecret[] = "the-app-and-parley-share-this-secret";
std::string TestAppToken(const std::string& user, const nlohmann::json& extra = {},
                         absl::Duration issued_ago = absl::Seconds(5));

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_JWT_MINTER_H_
