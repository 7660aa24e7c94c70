#include "frontend/session/session_tokens.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace parley::frontend {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(SessionTokensTest, IssuedTokenVerifies) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  const Session session = tokens.NewSession("alice", kNow);
  EXPECT_EQ(session.session_id.size(), 32u);
  absl::StatusOr<Session> verified = tokens.Verify(tokens.Encode(session), kNow);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->user, "alice");
  EXPECT_EQ(verified->session_id, session.session_id);
  EXPECT_EQ(verified->expires_at, kNow + absl::Hours(1));
}

// A verified token is remembered (its MAC is not computed again); what is remembered must
// not let anything else through: another MAC on the same payload, or the token once expired.
TEST(SessionTokensTest, ARememberedTokenIsCheckedAsStrictlyAsANewOne) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  const Session session = tokens.NewSession("alice", kNow);
  const std::string token = tokens.Encode(session);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Session> verified = tokens.Verify(token, kNow);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->user, "alice");
    EXPECT_EQ(verified->session_id, session.session_id);
  }
  std::string flipped = token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(tokens.Verify(flipped, kNow).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens.Verify(token.substr(0, token.size() - 1), kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens.Verify(token, kNow + absl::Hours(1)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(tokens.Verify(token, kNow).ok());  // the refusals did not replace it
}

TEST(SessionTokensTest, EachSessionGetsItsOwnId) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  EXPECT_NE(tokens.NewSession("alice", kNow).session_id,
            tokens.NewSession("alice", kNow).session_id);
}

TEST(SessionTokensTest, ExpiredTokenIsRefused) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  const std::string token = tokens.Encode(tokens.NewSession("alice", kNow));
  absl::StatusOr<Session> later = tokens.Verify(token, kNow + absl::Hours(1));
  EXPECT_EQ(later.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(later.status().message().find("expired"), absl::string_view::npos);
}

TEST(SessionTokensTest, ForgedTruncatedAndMalformedTokensAreRefused) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  const Session session = tokens.NewSession("alice", kNow);
  const std::string token = tokens.Encode(session);
  std::string other_user = token;
  other_user.replace(0, 5, "mallo");  // same length, other name, old mac
  std::string flipped = token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  Session longer = session;
  longer.expires_at += absl::Hours(100);
  std::string extended = tokens.Encode(longer);
  extended = extended.substr(0, extended.rfind('~')) + token.substr(token.rfind('~'));
  for (const std::string& bad :
       {other_user, flipped, extended, token.substr(0, token.size() - 1), std::string(""),
        std::string("a~b~c"), std::string("a~b~notanumber~d"), std::string(300, 'x')}) {
    EXPECT_EQ(tokens.Verify(bad, kNow).status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
}

// Found by fuzz/session_token_fuzzer: the MAC covers the expiry's value, so other spellings of
// the same number carried a valid MAC too. Only the spelling the frontend issues verifies.
TEST(SessionTokensTest, OtherSpellingsOfTheExpiryAreRefused) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  const Session session = tokens.NewSession("alice", kNow);
  const std::string token = tokens.Encode(session);
  const std::string expiry = absl::StrCat(absl::ToUnixSeconds(session.expires_at));
  for (const std::string& spelling : {expiry + " ", " " + expiry, "+" + expiry, "0" + expiry}) {
    std::string respelled = token;
    respelled.replace(respelled.find(expiry), expiry.size(), spelling);
    EXPECT_EQ(tokens.Verify(respelled, kNow).status().code(), absl::StatusCode::kUnauthenticated)
        << respelled;
  }
}

// A session an app's token vouched for keeps its source and display name, started when the
// token was issued, and ends when the token does if that is before the session's lifetime.
TEST(SessionTokensTest, ATokenSessionCarriesItsSourceNameAndTimes) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  const Session session = tokens.NewTokenSession("alice", "Alice ~ Å", kNow - absl::Minutes(5),
                                                 kNow + absl::Minutes(10), kNow);
  absl::StatusOr<Session> verified = tokens.Verify(tokens.Encode(session), kNow);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->source, SessionSource::kToken);
  EXPECT_EQ(verified->display_name, "Alice ~ Å");
  EXPECT_EQ(verified->started, kNow - absl::Minutes(5));
  EXPECT_EQ(verified->expires_at, kNow + absl::Minutes(10));
  EXPECT_EQ(tokens.Verify(tokens.Encode(session), kNow + absl::Minutes(10)).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A long-lived token still ends with the session's lifetime; an unknown iat starts now.
  const Session capped =
      tokens.NewTokenSession("alice", "", absl::InfinitePast(), kNow + absl::Hours(48), kNow);
  EXPECT_EQ(capped.expires_at, kNow + absl::Hours(1));
  EXPECT_EQ(capped.started, kNow);
  EXPECT_EQ(tokens.NewSession("bob", kNow).source, SessionSource::kName);
}

// The source is signed: a name session cannot pass for a token session.
TEST(SessionTokensTest, ChangingTheSourceOrNameBreaksTheMac) {
  SessionTokens tokens("secret-one-0123456789", absl::Hours(1));
  const std::string token = tokens.Encode(tokens.NewSession("alice", kNow));
  std::string as_token = token;
  as_token.replace(as_token.find("~n~"), 3, "~t~");
  EXPECT_EQ(tokens.Verify(as_token, kNow).status().code(), absl::StatusCode::kUnauthenticated);
  std::string named = token;
  named.insert(named.find("~n~") + 3, "QQ");
  EXPECT_EQ(tokens.Verify(named, kNow).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(SessionTokensTest, AnotherSecretsTokenIsRefused) {
  SessionTokens mine("secret-one-0123456789", absl::Hours(1));
  SessionTokens theirs("secret-two-0123456789", absl::Hours(1));
  EXPECT_FALSE(mine.Verify(theirs.Encode(theirs.NewSession("alice", kNow)), kNow).ok());
}

TEST(SessionTokensTest, RandomSecretsDiffer) {
  EXPECT_EQ(SessionTokens::RandomSecret().size(), 64u);
  EXPECT_NE(SessionTokens::RandomSecret(), SessionTokens::RandomSecret());
}

}  // namespace
}  // namespace parley::frontend
