#include "frontend/auth/app_token_verifier.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/error_code.h"
#include "frontend/auth/jwt_key_ring.h"
#include "frontend/auth/jwt_keys.h"
#include "tests/testing/jwt_minter.h"

namespace parley::frontend {
namespace {

using nlohmann::json;
using testing::JwksOf;
using testing::JwtMinter;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const std::string kSecret = "a-secret-of-at-least-thirty-two-bytes!";

int64_t At(absl::Duration offset) { return absl::ToUnixSeconds(kNow + offset); }

json Claims(const std::string& sub = "alice") {
  return {{"sub", sub}, {"exp", At(absl::Hours(1))}, {"iat", At(-absl::Minutes(1))}};
}

std::string CodeOf(const absl::Status& status) { return ErrorCodeOf(status).value_or("(none)"); }

// A temporary --jwt_keys file.
class KeysFile {
 public:
  KeysFile() {
    char pattern[] = "/tmp/parley-jwt-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/keys";
  }
  ~KeysFile() { std::filesystem::remove_all(dir_); }
  // Replaces the file as operators should (write elsewhere, rename over), so a reader never
  // sees half of it.
  void Write(const std::string& contents) {
    const std::string temporary = path_ + ".new";
    std::ofstream(temporary) << contents;
    std::filesystem::rename(temporary, path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

class AppTokenVerifierTest : public ::testing::Test {
 protected:
  // A ring with the HS256 secret and, when given, a keys file.
  void UseKeys(bool with_secret, const std::string& file_contents, AppTokenPolicy policy = {}) {
    std::optional<JwtKey> secret;
    if (with_secret) secret = *SecretKey(kSecret);
    std::string path;
    if (!file_contents.empty()) {
      file_.Write(file_contents);
      path = file_.path();
    }
    absl::StatusOr<std::unique_ptr<JwtKeyRing>> ring = JwtKeyRing::Load(secret, path);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = *std::move(ring);
    verifier_ = std::make_unique<AppTokenVerifier>(ring_.get(), policy);
  }
  absl::StatusOr<AppIdentity> Verify(const std::string& token, absl::Time now = kNow) {
    return verifier_->Verify(token, now);
  }
  std::string Refusal(const std::string& token, absl::Time now = kNow) {
    absl::StatusOr<AppIdentity> identity = Verify(token, now);
    if (identity.ok()) return "accepted";
    EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated);
    return CodeOf(identity.status());
  }

  KeysFile file_;
  std::unique_ptr<JwtKeyRing> ring_;
  std::unique_ptr<AppTokenVerifier> verifier_;
  const JwtMinter rsa_{JwtMinter::KeyType::kRsa};
  const JwtMinter ec_{JwtMinter::KeyType::kEc};
};

const json kHs256 = {{"alg", "HS256"}, {"typ", "JWT"}};

TEST_F(AppTokenVerifierTest, AnHs256TokenGivesItsUserNameRoomsAndTimes) {
  UseKeys(true, "");
  json claims = Claims();
  claims["name"] = "Alice Ånström";
  claims["rooms"] = {"team-7", "support"};
  absl::StatusOr<AppIdentity> identity = Verify(JwtMinter::SignHs256(kSecret, kHs256, claims));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->user, "alice");
  EXPECT_EQ(identity->display_name, "Alice Ånström");
  EXPECT_EQ(identity->rooms, (std::vector<std::string>{"team-7", "support"}));
  EXPECT_EQ(identity->expires_at, kNow + absl::Hours(1));
  EXPECT_EQ(identity->issued_at, kNow - absl::Minutes(1));
}

TEST_F(AppTokenVerifierTest, Rs256FromPemAndEs256FromJwksAreAccepted) {
  UseKeys(false, rsa_.PublicPem());
  EXPECT_EQ(Refusal(rsa_.Sign({{"alg", "RS256"}}, Claims())), "accepted");
  UseKeys(false, JwksOf({rsa_.Jwk("r1"), ec_.Jwk("e1")}));
  EXPECT_EQ(Refusal(ec_.Sign({{"alg", "ES256"}, {"kid", "e1"}}, Claims())), "accepted");
  EXPECT_EQ(Refusal(rsa_.Sign({{"alg", "RS256"}, {"kid", "r1"}}, Claims())), "accepted");
}

TEST_F(AppTokenVerifierTest, UnsignedTokensAreRefusedWhateverTheSpelling) {
  UseKeys(true, rsa_.PublicPem());
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    EXPECT_EQ(Refusal(JwtMinter::Unsigned({{"alg", none}}, Claims())), "alg_none") << none;
  }
}

// The classic confusion: the RS256 public key (which anyone may have) used as an HS256 secret.
TEST_F(AppTokenVerifierTest, APublicKeyUsedAsAnHmacSecretIsRefused) {
  UseKeys(false, rsa_.PublicPem());
  const std::string forged = JwtMinter::SignHs256(rsa_.PublicPem(), kHs256, Claims());
  EXPECT_EQ(Refusal(forged), "wrong_algorithm");
  UseKeys(true, rsa_.PublicPem());  // a real secret beside it: checked with that, not the PEM
  EXPECT_EQ(Refusal(forged), "bad_signature");
  UseKeys(false, JwksOf({rsa_.Jwk("r1")}));
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(rsa_.PublicPem(), {{"alg", "HS256"}, {"kid", "r1"}},
                                         Claims())),
            "wrong_algorithm");
  // An ES256 token under an RSA key's kid.
  EXPECT_EQ(Refusal(ec_.Sign({{"alg", "ES256"}, {"kid", "r1"}}, Claims())), "wrong_algorithm");
}

TEST_F(AppTokenVerifierTest, AnUnknownKidOrAnotherKeysSignatureIsRefused) {
  UseKeys(false, JwksOf({rsa_.Jwk("r1")}));
  const JwtMinter stranger(JwtMinter::KeyType::kRsa);
  EXPECT_EQ(Refusal(stranger.Sign({{"alg", "RS256"}, {"kid", "r2"}}, Claims())), "unknown_key");
  EXPECT_EQ(Refusal(stranger.Sign({{"alg", "RS256"}, {"kid", "r1"}}, Claims())), "bad_signature");
  EXPECT_EQ(Refusal(rsa_.Sign({{"alg", "RS256"}}, Claims())), "unknown_key");  // no kid
}

TEST_F(AppTokenVerifierTest, ATamperedTokenIsRefused) {
  UseKeys(true, "");
  const std::string token = JwtMinter::SignHs256(kSecret, kHs256, Claims("alice"));
  const std::string other = JwtMinter::SignHs256(kSecret, kHs256, Claims("mallory"));
  // Mallory's claims under Alice's signature.
  const std::string spliced = other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_EQ(Refusal(spliced), "bad_signature");
  EXPECT_EQ(Refusal(token.substr(0, token.rfind('.') + 1)), "bad_signature");
  EXPECT_EQ(Refusal(JwtMinter::SignHs256("another-secret-of-thirty-two-bytes!!", kHs256, Claims())),
            "bad_signature");
}

TEST_F(AppTokenVerifierTest, TimesAreCheckedWithTheLeeway) {
  UseKeys(true, "");
  auto with = [](const char* claim, int64_t value) {
    json claims = Claims();
    claims[claim] = value;
    return JwtMinter::SignHs256(kSecret, kHs256, claims);
  };
  EXPECT_EQ(Refusal(with("exp", At(-absl::Seconds(31)))), "token_expired");
  EXPECT_EQ(Refusal(with("exp", At(-absl::Seconds(29)))), "accepted");
  EXPECT_EQ(Refusal(with("nbf", At(absl::Seconds(31)))), "token_not_yet_valid");
  EXPECT_EQ(Refusal(with("nbf", At(absl::Seconds(29)))), "accepted");
  EXPECT_EQ(Refusal(with("iat", At(absl::Minutes(5)))), "token_not_yet_valid");
  json no_exp = Claims();
  no_exp.erase("exp");
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, kHs256, no_exp)), "missing_expiry");
  json text_exp = Claims();
  text_exp["exp"] = "tomorrow";
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, kHs256, text_exp)), "invalid_claims");
  // A token that was fine is refused once it expires.
  const std::string token = JwtMinter::SignHs256(kSecret, kHs256, Claims());
  EXPECT_EQ(Refusal(token), "accepted");
  EXPECT_EQ(Refusal(token, kNow + absl::Hours(2)), "token_expired");
}

TEST_F(AppTokenVerifierTest, IssuerAndAudienceAreCheckedWhenConfigured) {
  UseKeys(true, "", AppTokenPolicy{.issuer = "https://app.example", .audience = "parley"});
  auto with = [](json iss, json aud) {
    json claims = Claims();
    if (!iss.is_null()) claims["iss"] = iss;
    if (!aud.is_null()) claims["aud"] = aud;
    return JwtMinter::SignHs256(kSecret, kHs256, claims);
  };
  EXPECT_EQ(Refusal(with("https://app.example", "parley")), "accepted");
  EXPECT_EQ(Refusal(with("https://app.example", json{"other", "parley"})), "accepted");
  EXPECT_EQ(Refusal(with("https://evil.example", "parley")), "wrong_issuer");
  EXPECT_EQ(Refusal(with(nullptr, "parley")), "wrong_issuer");
  EXPECT_EQ(Refusal(with("https://app.example", "other")), "wrong_audience");
  EXPECT_EQ(Refusal(with("https://app.example", nullptr)), "wrong_audience");
  EXPECT_EQ(Refusal(with("https://app.example", 7)), "wrong_audience");
}

TEST_F(AppTokenVerifierTest, ASubjectThatIsNotANameIsRefused) {
  UseKeys(true, "");
  for (const json& sub : {json("has space"), json(std::string(33, 'a')), json(""), json(42),
                          json("<script>")}) {
    json claims = Claims();
    claims["sub"] = sub;
    EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, kHs256, claims)), "invalid_subject") << sub;
  }
  json no_sub = Claims();
  no_sub.erase("sub");
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, kHs256, no_sub)), "invalid_subject");
}

TEST_F(AppTokenVerifierTest, BadOptionalClaimsAreRefused) {
  UseKeys(true, "");
  for (const auto& [claim, value] : std::vector<std::pair<std::string, json>>{
           {"name", json(std::string(65, 'n'))},
           {"name", json("line\nbreak")},
           {"name", json(7)},
           {"rooms", json("lobby")},
           {"rooms", json{"ok", "not ok"}},
           {"rooms", json(std::vector<std::string>(101, "r"))}}) {
    json claims = Claims();
    claims[claim] = value;
    EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, kHs256, claims)), "invalid_claims") << value;
  }
}

TEST_F(AppTokenVerifierTest, MalformedAndOversizedTokensAreRefused) {
  UseKeys(true, "");
  const std::string good = JwtMinter::SignHs256(kSecret, kHs256, Claims());
  json padded = Claims();
  padded["pad"] = std::string(10 * 1024, 'x');
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, kHs256, padded)), "token_too_large");
  EXPECT_EQ(Refusal(std::string(10 * 1024, 'a')), "token_too_large");
  for (const std::string& bad :
       {std::string(""), std::string("abc"), std::string("a.b"), good + ".extra",
        std::string("!!!.eyJ9.sig"), std::string(".") + good, std::string("e30.e30.sig")}) {
    EXPECT_EQ(Refusal(bad), "invalid_token") << bad;
  }
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, {{"alg", 256}}, Claims())), "invalid_token");
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, {{"alg", "HS512"}}, Claims())),
            "unsupported_algorithm");
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, {{"alg", "HS256"}, {"kid", 3}}, Claims())),
            "invalid_token");
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, {{"alg", "HS256"}, {"crit", {"exp"}}}, Claims())),
            "invalid_token");
  EXPECT_EQ(Refusal(JwtMinter::SignHs256(kSecret, kHs256, json::array())), "invalid_token");
}

// Keys rotate by rewriting the file: the new kid is accepted and the removed one refused once
// the ring looks again (a second later), without anything restarting.
TEST_F(AppTokenVerifierTest, KeysRotateWhenTheFileChanges) {
  const JwtMinter next(JwtMinter::KeyType::kEc);
  UseKeys(false, JwksOf({rsa_.Jwk("2026-11")}));
  const std::string old_token = rsa_.Sign({{"alg", "RS256"}, {"kid", "2026-11"}}, Claims());
  const std::string new_token = next.Sign({{"alg", "ES256"}, {"kid", "2026-12"}}, Claims());
  EXPECT_EQ(Refusal(old_token), "accepted");
  EXPECT_EQ(Refusal(new_token), "unknown_key");

  file_.Write(JwksOf({rsa_.Jwk("2026-11"), next.Jwk("2026-12")}));  // both, while tokens drain
  EXPECT_EQ(Refusal(new_token, kNow + absl::Seconds(2)), "accepted");
  EXPECT_EQ(Refusal(old_token, kNow + absl::Seconds(2)), "accepted");

  file_.Write(JwksOf({next.Jwk("2026-12")}));
  EXPECT_EQ(Refusal(old_token, kNow + absl::Seconds(4)), "unknown_key");
  EXPECT_EQ(Refusal(new_token, kNow + absl::Seconds(4)), "accepted");

  // A broken file is logged and the keys before it stay.
  file_.Write("{\"keys\": [");
  EXPECT_EQ(Refusal(new_token, kNow + absl::Seconds(6)), "accepted");
  EXPECT_FALSE(ring_->Reload().ok());
  EXPECT_EQ(Refusal(new_token, kNow + absl::Seconds(6)), "accepted");
}

TEST_F(AppTokenVerifierTest, ReloadReadsTheFileAtOnce) {
  const JwtMinter next(JwtMinter::KeyType::kRsa);
  UseKeys(false, JwksOf({rsa_.Jwk("a")}));
  const std::string token = next.Sign({{"alg", "RS256"}, {"kid", "b"}}, Claims());
  EXPECT_EQ(Refusal(token), "unknown_key");
  file_.Write(JwksOf({next.Jwk("b")}));
  // Within the second since the last look: only Reload (SIGHUP) reads it.
  ASSERT_TRUE(ring_->Reload().ok());
  EXPECT_EQ(Refusal(token), "accepted");
}

TEST(JwtKeysTest, KeyFilesThatCannotBeTrustedAreRefusedWithAReason) {
  const JwtMinter rsa(JwtMinter::KeyType::kRsa);
  EVP_PKEY* small = EVP_RSA_gen(1024);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, small);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out, &data);
  const std::string small_key(data, static_cast<size_t>(length));
  BIO_free(out);
  EVP_PKEY_free(small);
  json no_kid = rsa.Jwk("x");
  no_kid.erase("kid");
  json wrong_alg = rsa.Jwk("x");
  wrong_alg["alg"] = "ES256";
  for (const auto& [contents, reason] : std::vector<std::pair<std::string, std::string>>{
           {"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "private key"},
           {small_key, "2048"},
           {JwksOf({no_kid}), "kid"},
           {JwksOf({rsa.Jwk("x"), rsa.Jwk("x")}), "twice"},
           {JwksOf({json{{"kty", "oct"}, {"kid", "s"}, {"k", "c2VjcmV0"}}}), "oct"},
           {JwksOf({wrong_alg}), "alg"},
           {"{\"keys\": []}", "no keys"},
           {"not a key", "no \"-----BEGIN PUBLIC KEY-----\""}}) {
    absl::StatusOr<std::vector<JwtKey>> keys = ParseJwtKeys(contents);
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument) << contents;
    EXPECT_NE(keys.status().message().find(reason), absl::string_view::npos)
        << keys.status().message();
  }
  EXPECT_EQ(SecretKey("too-short").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::frontend
