#include "frontend/auth/app_token_verifier.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <jwt/jwt.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/error_code.h"
#include "common/names.h"

namespace parley::frontend {
namespace {

using nlohmann::json;

constexpr size_t kMaxDisplayNameBytes = 64;
constexpr size_t kMaxRooms = 100;
// NumericDates beyond this (the year 5138) are not dates anyone means.
constexpr double kMaxNumericDate = 1e11;

absl::Status Refuse(absl::string_view code, absl::string_view why) {
  return WithErrorCode(absl::UnauthenticatedError(absl::StrCat("token refused: ", why)), code);
}

// A JSON object from one base64url part of the token.
std::optional<json> DecodeObject(absl::string_view part) {
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(part, &bytes)) return std::nullopt;
  json object = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) return std::nullopt;
  return object;
}

std::optional<JwtAlgorithm> AlgorithmNamed(absl::string_view name) {
  for (JwtAlgorithm algorithm :
       {JwtAlgorithm::kHs256, JwtAlgorithm::kRs256, JwtAlgorithm::kEs256}) {
    if (JwtAlgorithmName(algorithm) == name) return algorithm;
  }
  return std::nullopt;
}

bool HmacMatches(const std::string& secret, absl::string_view signed_part,
                 absl::string_view signature) {
  std::string given;
  if (!absl::WebSafeBase64Unescape(signature, &given)) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
           &mac_length) == nullptr) {
    return false;
  }
  // cpp-jwt compares HMACs with ==, whose time depends on the first differing byte.
  return given.size() == mac_length && CRYPTO_memcmp(given.data(), mac, mac_length) == 0;
}

bool SignatureMatches(const JwtKey& key, absl::string_view signed_part,
                      absl::string_view signature) {
  if (key.algorithm == JwtAlgorithm::kHs256) return HmacMatches(key.material, signed_part, signature);
  try {
    jwt::jwt_signature verifier(key.material);
    const jwt::jwt_header header(key.algorithm == JwtAlgorithm::kRs256 ? jwt::algorithm::RS256
                                                                       : jwt::algorithm::ES256);
    const auto [matches, error] =
        verifier.verify(header, jwt::string_view(signed_part.data(), signed_part.size()),
                        jwt::string_view(signature.data(), signature.size()));
    return matches && !error;
  } catch (const std::exception&) {  // cpp-jwt throws only when OpenSSL cannot allocate
    return false;
  }
}

// A NumericDate claim: nullopt when absent, an error when not a plausible number.
absl::StatusOr<std::optional<absl::Time>> DateClaim(const json& claims, const char* name) {
  auto claim = claims.find(name);
  if (claim == claims.end()) return std::nullopt;
  if (!claim->is_number()) {
    return Refuse("invalid_claims", absl::StrCat("\"", name, "\" is not a number of seconds"));
  }
  const double seconds = claim->get<double>();
  if (!std::isfinite(seconds) || std::fabs(seconds) > kMaxNumericDate) {
    return Refuse("invalid_claims", absl::StrCat("\"", name, "\" is not a plausible date"));
  }
  return absl::FromUnixSeconds(static_cast<int64_t>(std::floor(seconds)));
}

bool AudienceNames(const json& aud, const std::string& audience) {
  if (aud.is_string()) return aud == audience;
  if (!aud.is_array()) return false;
  for (const json& entry : aud) {
    if (entry.is_string() && entry == audience) return true;
  }
  return false;
}

absl::Status CheckDisplayName(const std::string& name) {
  if (name.size() > kMaxDisplayNameBytes) {
    return Refuse("invalid_claims", "\"name\" is longer than 64 bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7F) return Refuse("invalid_claims", "\"name\" has control characters");
  }
  return absl::OkStatus();  // valid UTF-8: the JSON parser already refused anything else
}

}  // namespace

absl::StatusOr<AppIdentity> AppTokenVerifier::Verify(absl::string_view token,
                                                     absl::Time now) const {
  if (token.size() > policy_.max_bytes) {
    return Refuse("token_too_large", absl::StrCat("longer than ", policy_.max_bytes, " bytes"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return Refuse("invalid_token", "not a JWT (header.payload.signature)");
  }
  std::optional<json> header = DecodeObject(parts[0]);
  if (!header) return Refuse("invalid_token", "the header is not base64url JSON");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return Refuse("invalid_token", "no \"alg\"");
  const std::string alg_name = alg->get<std::string>();
  if (absl::AsciiStrToLower(alg_name) == "none") {
    return Refuse("alg_none", "unsigned tokens (alg none) are never accepted");
  }
  std::optional<JwtAlgorithm> algorithm = AlgorithmNamed(alg_name);
  if (!algorithm) {
    return Refuse("unsupported_algorithm", "alg must be HS256, RS256 or ES256");
  }
  if (header->contains("crit")) {
    return Refuse("invalid_token", "critical header extensions are not supported");
  }
  std::string kid;
  if (auto found = header->find("kid"); found != header->end()) {
    if (!found->is_string()) return Refuse("invalid_token", "\"kid\" is not a string");
    kid = found->get<std::string>();
  }

  // The keys this token may be checked with: the kid's, or those without a kid.
  std::shared_ptr<const std::vector<JwtKey>> keys = keys_->keys(now);
  std::vector<const JwtKey*> candidates;
  bool other_algorithm = false;
  for (const JwtKey& key : *keys) {
    if (key.kid != kid) continue;
    if (key.algorithm == *algorithm) {
      candidates.push_back(&key);
    } else {
      other_algorithm = true;
    }
  }
  if (candidates.empty()) {
    if (other_algorithm) {
      return Refuse("wrong_algorithm",
                    absl::StrCat("the key for this token does not sign with ", alg_name));
    }
    return Refuse("unknown_key", kid.empty() ? "no key without a kid is configured"
                                             : "no key has this kid");
  }
  const absl::string_view signed_part = token.substr(0, parts[0].size() + 1 + parts[1].size());
  bool signed_by_key = false;
  for (const JwtKey* key : candidates) {
    if (!parts[2].empty() && SignatureMatches(*key, signed_part, parts[2])) {
      signed_by_key = true;
      break;
    }
  }
  if (!signed_by_key) return Refuse("bad_signature", "the signature does not match");

  // Signed: now the claims.
  std::optional<json> claims = DecodeObject(parts[1]);
  if (!claims) return Refuse("invalid_token", "the payload is not base64url JSON");
  absl::StatusOr<std::optional<absl::Time>> exp = DateClaim(*claims, "exp");
  absl::StatusOr<std::optional<absl::Time>> nbf = DateClaim(*claims, "nbf");
  absl::StatusOr<std::optional<absl::Time>> iat = DateClaim(*claims, "iat");
  for (const auto* date : {&exp, &nbf, &iat}) {
    if (!date->ok()) return date->status();
  }
  if (!exp->has_value()) return Refuse("missing_expiry", "\"exp\" is required");
  if (now > **exp + policy_.leeway) return Refuse("token_expired", "the token has expired");
  if (nbf->has_value() && now + policy_.leeway < **nbf) {
    return Refuse("token_not_yet_valid", "the token is not valid yet (nbf)");
  }
  if (iat->has_value() && now + policy_.leeway < **iat) {
    return Refuse("token_not_yet_valid", "the token was issued in the future (iat)");
  }
  if (!policy_.issuer.empty()) {
    auto iss = claims->find("iss");
    if (iss == claims->end() || *iss != policy_.issuer) {
      return Refuse("wrong_issuer", "\"iss\" is not the configured issuer");
    }
  }
  if (!policy_.audience.empty()) {
    auto aud = claims->find("aud");
    if (aud == claims->end() || !AudienceNames(*aud, policy_.audience)) {
      return Refuse("wrong_audience", "\"aud\" does not name this chat");
    }
  }
  AppIdentity identity;
  auto sub = claims->find("sub");
  if (sub == claims->end() || !sub->is_string() ||
      !ValidateName("sub", sub->get<std::string>()).ok()) {
    return Refuse("invalid_subject",
                  "\"sub\" must be a user name: 1-32 letters, digits, '_', '.' or '-'");
  }
  identity.user = sub->get<std::string>();
  if (auto name = claims->find("name"); name != claims->end()) {
    if (!name->is_string()) return Refuse("invalid_claims", "\"name\" is not a string");
    identity.display_name = name->get<std::string>();
    if (absl::Status checked = CheckDisplayName(identity.display_name); !checked.ok()) {
      return checked;
    }
  }
  if (auto rooms = claims->find("rooms"); rooms != claims->end()) {
    if (!rooms->is_array() || rooms->size() > kMaxRooms) {
      return Refuse("invalid_claims", "\"rooms\" must be a list of at most 100 room names");
    }
    for (const json& room : *rooms) {
      if (!room.is_string() || !ValidateName("room", room.get<std::string>()).ok()) {
        return Refuse("invalid_claims", "\"rooms\" holds something that is not a room name");
      }
      identity.rooms.push_back(room.get<std::string>());
    }
  }
  identity.expires_at = **exp;
  if (iat->has_value()) identity.issued_at = **iat;
  return identity;
}

}  // namespace parley::frontend
