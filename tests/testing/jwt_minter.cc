#include "tests/testing/jwt_minter.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace parley::testing {
namespace {

std::string Part(const nlohmann::json& object) { return absl::WebSafeBase64Escape(object.dump()); }

std::string Base64Url(const unsigned char* bytes, size_t size) {
  return absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(bytes), size));
}

std::string BignumParam(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* number = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &number) != 1) std::abort();
  std::vector<unsigned char> bytes(pad > 0 ? pad : BN_num_bytes(number));
  BN_bn2binpad(number, bytes.data(), static_cast<int>(bytes.size()));
  BN_free(number);
  return Base64Url(bytes.data(), bytes.size());
}

}  // namespace

struct JwtMinter::Key {
  EVP_PKEY* pkey = nullptr;
};

JwtMinter::JwtMinter(KeyType type) : type_(type), key_(std::make_unique<Key>()) {
  key_->pkey = type == KeyType::kRsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  if (key_->pkey == nullptr) std::abort();
}

JwtMinter::~JwtMinter() { EVP_PKEY_free(key_->pkey); }

std::string JwtMinter::PublicPem() const {
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, key_->pkey);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<size_t>(length));
  BIO_free(out);
  return pem;
}

nlohmann::json JwtMinter::Jwk(const std::string& kid) const {
  if (type_ == KeyType::kRsa) {
    return {{"kty", "RSA"},
            {"kid", kid},
            {"use", "sig"},
            {"alg", "RS256"},
            {"n", BignumParam(key_->pkey, OSSL_PKEY_PARAM_RSA_N)},
            {"e", BignumParam(key_->pkey, OSSL_PKEY_PARAM_RSA_E)}};
  }
  return {{"kty", "EC"},
          {"kid", kid},
          {"crv", "P-256"},
          {"alg", "ES256"},
          {"x", BignumParam(key_->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32)},
          {"y", BignumParam(key_->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
}

std::string JwtMinter::Sign(const nlohmann::json& header, const nlohmann::json& claims) const {
  const std::string signed_part = absl::StrCat(Part(header), ".", Part(claims));
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  size_t length = 0;
  if (EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key_->pkey) != 1 ||
      EVP_DigestSign(context, nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signed_part.data()),
                     signed_part.size()) != 1) {
    std::abort();
  }
  std::vector<unsigned char> signature(length);
  if (EVP_DigestSign(context, signature.data(), &length,
                     reinterpret_cast<const unsigned char*>(signed_part.data()),
                     signed_part.size()) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(context);
  signature.resize(length);
  if (type_ == KeyType::kEc) {  // DER → JOSE's fixed-size r||s
    const unsigned char* der = signature.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
    ECDSA_SIG_free(sig);
    return absl::StrCat(signed_part, ".", Base64Url(raw, sizeof(raw)));
  }
  return absl::StrCat(signed_part, ".", Base64Url(signature.data(), signature.size()));
}

std::string JwtMinter::SignHs256(const std::string& secret, const nlohmann::json& header,
                                 const nlohmann::json& claims) {
  const std::string signed_part = absl::StrCat(Part(header), ".", Part(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
       &length);
  return absl::StrCat(signed_part, ".", Base64Url(mac, length));
}

std::string JwtMinter::Unsigned(const nlohmann::json& header, const nlohmann::json& claims) {
  return absl::StrCat(Part(header), ".", Part(claims), ".");
}

std::string TestAppToken(const std::string& user, const nlohmann::json& extra,
                         absl::Duration issued_ago) {
  const absl::Time now = absl::Now();
  nlohmann::json claims = {{"sub", user},
                           {"exp", absl::ToUnixSeconds(now + absl::Hours(1))},
                           {"iat", absl::ToUnixSeconds(now - issued_ago)}};
  if (extra.is_object()) claims.update(extra);
  return JwtMinter::SignHs256(kTestAppSecret, {{"alg", "HS256"}, {"typ", "JWT"}}, claims);
}

std::string JwksOf(std::initializer_list<nlohmann::json> jwks) {
  nlohmann::json keys = nlohmann::json::array();
  for (const nlohmann::json& jwk : jwks) keys.push_back(jwk);
  nlohmann::json document = nlohmann::json::object();
  document["keys"] = keys;
  return document.dump();
}

}  // namespace parley::testing
