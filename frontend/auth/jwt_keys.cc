#include "frontend/auth/jwt_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace parley::frontend {
namespace {

// OpenSSL's objects, freed with their own functions.
struct Free {
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
  void operator()(BIGNUM* number) const { BN_free(number); }
  void operator()(OSSL_PARAM_BLD* builder) const { OSSL_PARAM_BLD_free(builder); }
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

constexpr int kMinRsaBits = 2048;
constexpr absl::string_view kPemKeyBegin = "-----BEGIN PUBLIC KEY-----";

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

// The algorithm a public key allows: RS256 for RSA of 2048 bits or more, ES256 for P-256.
absl::StatusOr<JwtAlgorithm> AlgorithmOf(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
        return Invalid(absl::StrCat("an RSA key has ", EVP_PKEY_get_bits(key),
                                    " bits; at least 2048 are required"));
      }
      return JwtAlgorithm::kRs256;
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t length = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                         &length) != 1 ||
          absl::string_view(group, length) != "prime256v1") {
        return Invalid("an EC key is not on curve P-256 (ES256 is the only EC algorithm)");
      }
      return JwtAlgorithm::kEs256;
    }
    default:
      return Invalid("a key is neither RSA nor EC P-256");
  }
}

absl::StatusOr<std::string> ToPem(EVP_PKEY* key) {
  Owned<BIO> out(BIO_new(BIO_s_mem()));
  if (out == nullptr || PEM_write_bio_PUBKEY(out.get(), key) != 1) {
    return absl::InternalError("cannot write a public key as PEM");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

// A checked key: its algorithm, and the PEM the signature check reads.
absl::StatusOr<JwtKey> KeyOf(std::string kid, EVP_PKEY* key) {
  absl::StatusOr<JwtAlgorithm> algorithm = AlgorithmOf(key);
  if (!algorithm.ok()) return algorithm.status();
  Owned<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return Invalid("a public key fails OpenSSL's check (not a valid point or modulus)");
  }
  absl::StatusOr<std::string> pem = ToPem(key);
  if (!pem.ok()) return pem.status();
  return JwtKey{std::move(kid), *algorithm, *std::move(pem)};
}

absl::StatusOr<std::vector<JwtKey>> ParsePem(absl::string_view contents) {
  if (absl::StrContains(contents, "PRIVATE KEY")) {
    return Invalid("the keys file holds a private key: give the frontend only public keys");
  }
  std::vector<JwtKey> keys;
  Owned<BIO> in(BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size())));
  for (size_t begin = contents.find(kPemKeyBegin); begin != absl::string_view::npos;
       begin = contents.find(kPemKeyBegin, begin + 1)) {
    Owned<EVP_PKEY> key(PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr));
    if (key == nullptr) return Invalid("a PEM block is not a readable public key");
    absl::StatusOr<JwtKey> checked = KeyOf("", key.get());
    if (!checked.ok()) return checked.status();
    keys.push_back(*std::move(checked));
  }
  if (keys.empty()) return Invalid("no \"-----BEGIN PUBLIC KEY-----\" block and no JWKS");
  return keys;
}

absl::StatusOr<std::string> Base64UrlField(const nlohmann::json& jwk, const char* name) {
  auto field = jwk.find(name);
  std::string bytes;
  if (field == jwk.end() || !field->is_string() ||
      !absl::WebSafeBase64Unescape(field->get<std::string>(), &bytes) || bytes.empty()) {
    return Invalid(absl::StrCat("a JWK lacks \"", name, "\" as base64url"));
  }
  return bytes;
}

// The EVP_PKEY a JWK describes, built with OpenSSL 3's parameter API.
absl::StatusOr<Owned<EVP_PKEY>> JwkToKey(const nlohmann::json& jwk, const std::string& kty) {
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  Owned<BIGNUM> n, e;
  std::string point;
  const char* type = nullptr;
  if (kty == "RSA") {
    absl::StatusOr<std::string> modulus = Base64UrlField(jwk, "n");
    absl::StatusOr<std::string> exponent = Base64UrlField(jwk, "e");
    if (!modulus.ok()) return modulus.status();
    if (!exponent.ok()) return exponent.status();
    n.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()),
                      static_cast<int>(modulus->size()), nullptr));
    e.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent->data()),
                      static_cast<int>(exponent->size()), nullptr));
    OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
    OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
    type = "RSA";
  } else if (kty == "EC") {
    auto crv = jwk.find("crv");
    if (crv == jwk.end() || *crv != "P-256") return Invalid("an EC JWK's crv must be P-256");
    absl::StatusOr<std::string> x = Base64UrlField(jwk, "x");
    absl::StatusOr<std::string> y = Base64UrlField(jwk, "y");
    if (!x.ok()) return x.status();
    if (!y.ok()) return y.status();
    if (x->size() != 32 || y->size() != 32) return Invalid("a P-256 JWK's x and y are 32 bytes");
    point = absl::StrCat("\x04", *x, *y);  // an uncompressed point
    OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                     point.size());
    type = "EC";
  } else {
    return Invalid(absl::StrCat("JWK kty \"", kty,
                                "\" is not supported (RSA or EC; an HS256 secret goes in "
                                "--jwt_secret_file)"));
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  Owned<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (params == nullptr || context == nullptr || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Invalid(absl::StrCat("a ", kty, " JWK is not a valid public key"));
  }
  return Owned<EVP_PKEY>(key);
}

absl::StatusOr<std::vector<JwtKey>> ParseJwks(absl::string_view contents) {
  const nlohmann::json jwks = nlohmann::json::parse(contents, nullptr, /*allow_exceptions=*/false);
  if (jwks.is_discarded() || !jwks.is_object() || !jwks.contains("keys") ||
      !jwks["keys"].is_array()) {
    return Invalid("the keys file is not a JWKS document ({\"keys\": [...]})");
  }
  std::vector<JwtKey> keys;
  absl::flat_hash_set<std::string> kids;
  for (const nlohmann::json& jwk : jwks["keys"]) {
    if (!jwk.is_object()) return Invalid("a JWKS entry is not an object");
    auto kid = jwk.find("kid");
    auto kty = jwk.find("kty");
    if (kid == jwk.end() || !kid->is_string() || kid->get<std::string>().empty()) {
      return Invalid("every JWK needs a kid (tokens choose their key by it)");
    }
    const std::string id = kid->get<std::string>();
    if (!kids.insert(id).second) return Invalid(absl::StrCat("kid \"", id, "\" appears twice"));
    if (kty == jwk.end() || !kty->is_string()) return Invalid("a JWK lacks kty");
    if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig") {
      return Invalid(absl::StrCat("JWK \"", id, "\" is not for signatures (use)"));
    }
    absl::StatusOr<Owned<EVP_PKEY>> key = JwkToKey(jwk, kty->get<std::string>());
    if (!key.ok()) return key.status();
    absl::StatusOr<JwtKey> checked = KeyOf(id, key->get());
    if (!checked.ok()) return checked.status();
    if (auto alg = jwk.find("alg");
        alg != jwk.end() && *alg != std::string(JwtAlgorithmName(checked->algorithm))) {
      return Invalid(absl::StrCat("JWK \"", id, "\" names an alg its key cannot use"));
    }
    keys.push_back(*std::move(checked));
  }
  if (keys.empty()) return Invalid("the JWKS document has no keys");
  return keys;
}

}  // namespace

absl::string_view JwtAlgorithmName(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHs256:
      return "HS256";
    case JwtAlgorithm::kRs256:
      return "RS256";
    case JwtAlgorithm::kEs256:
      return "ES256";
  }
  return "";
}

absl::StatusOr<JwtKey> SecretKey(std::string secret) {
  if (secret.size() < 32) return Invalid("the HS256 secret must be at least 32 bytes");
  return JwtKey{"", JwtAlgorithm::kHs256, std::move(secret)};
}

absl::StatusOr<std::vector<JwtKey>> ParseJwtKeys(absl::string_view contents) {
  contents = absl::StripAsciiWhitespace(contents);
  if (absl::StartsWith(contents, "{")) return ParseJwks(contents);
  return ParsePem(contents);
}

}  // namespace parley::frontend
