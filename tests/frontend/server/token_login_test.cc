// Logging in with an app's token (--auth=tokens and both), and --auth=names refusing tokens,
// against a real broker and frontend. The tokens are signed by the test (JwtMinter), as an
// app's backend would sign them.

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "frontend/auth/jwt_key_ring.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/jwt_minter.h"
#include "tests/testing/parley_stack.h"

namespace parley::frontend {
namespace {

using nlohmann::json;
using ::parley::testing::FromJson;
using ::parley::testing::JwtMinter;
using ::parley::testing::kTestAppSecret;
using ::parley::testing::ParleyStack;
using ::parley::testing::TestAppToken;

int64_t FromNow(absl::Duration offset) { return absl::ToUnixSeconds(absl::Now() + offset); }

FrontendOptions WithAuth(AuthMode mode, std::string login_url = "") {
  FrontendOptions options;
  options.auth = mode;
  options.login_url = std::move(login_url);
  if (mode != AuthMode::kNames) {
    options.jwt_keys = *JwtKeyRing::Load(*SecretKey(kTestAppSecret), "");
    options.jwt_policy.audience = "parley";
  }
  return options;
}

std::string CodeOf(const httplib::Result& result) {
  return FromJson<v1::ErrorBody>(result->body).error().code();
}

httplib::Result PostSession(ParleyStack& stack, const json& body) {
  return stack.Client()->Post("/api/session", body.dump(), "application/json");
}

TEST(TokenLoginTest, ATokenGivesASessionThatSaysWhoVouchedForIt) {
  ParleyStack stack(WithAuth(AuthMode::kTokens));
  const int64_t exp = FromNow(absl::Minutes(30));
  httplib::Result login = PostSession(
      stack,
      {{"token", TestAppToken("alice", {{"aud", "parley"}, {"name", "Alice A."}, {"exp", exp}})}});
  ASSERT_EQ(login->status, 200) << login->body;
  const v1::SessionInfo info = FromJson<v1::SessionInfo>(login->body);
  EXPECT_EQ(info.user(), "alice");
  EXPECT_EQ(info.identity(), "token");
  EXPECT_EQ(info.display_name(), "Alice A.");
  EXPECT_EQ(info.expires_at(), exp);  // no later than the token
  EXPECT_EQ(stack.Say(info.token(), "hello")->status, 200);
  httplib::Result again = stack.Get(info.token(), "/api/session");
  ASSERT_EQ(again->status, 200);
  EXPECT_EQ(FromJson<v1::SessionInfo>(again->body).identity(), "token");
}

TEST(TokenLoginTest, EveryRefusedTokenIsA401WithItsCode) {
  ParleyStack stack(WithAuth(AuthMode::kTokens));
  const JwtMinter rsa(JwtMinter::KeyType::kRsa);
  const json aud = {{"aud", "parley"}};
  json expired = aud;
  expired["exp"] = FromNow(-absl::Minutes(5));
  json early = aud;
  early["nbf"] = FromNow(absl::Minutes(5));
  json padded = aud;
  padded["pad"] = std::string(10 * 1024, 'p');
  json elsewhere = {{"aud", "another-app"}};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {JwtMinter::Unsigned({{"alg", "none"}}, {{"sub", "alice"}, {"exp", FromNow(absl::Hours(1))}}),
       "alg_none"},
      {JwtMinter::SignHs256(rsa.PublicPem(), {{"alg", "HS256"}, {"kid", "k9"}},
                            {{"sub", "alice"}, {"exp", FromNow(absl::Hours(1))}}),
       "unknown_key"},
      {rsa.Sign({{"alg", "RS256"}}, {{"sub", "alice"}, {"exp", FromNow(absl::Hours(1))}}),
       "wrong_algorithm"},
      {TestAppToken("alice", elsewhere), "wrong_audience"},
      {TestAppToken("alice", expired), "token_expired"},
      {TestAppToken("alice", early), "token_not_yet_valid"},
      {TestAppToken("alice", padded), "token_too_large"},
      {TestAppToken("not a name", aud), "invalid_subject"},
      {TestAppToken("alice", aud) + "x", "bad_signature"},
      {"garbage", "invalid_token"},
  };
  for (const auto& [token, code] : cases) {
    httplib::Result login = PostSession(stack, {{"token", token}});
    ASSERT_TRUE(login);
    EXPECT_EQ(login->status, 401) << code << ": " << login->body;
    EXPECT_EQ(CodeOf(login), code) << login->body;
  }
  // None of them logged anyone in.
  grpc::ClientContext context;
  v1::StatsResponse stats;
  ASSERT_TRUE(stack.broker().stub().Stats(&context, v1::StatsRequest(), &stats).ok());
  EXPECT_EQ(stats.users(), 0u);
}

TEST(TokenLoginTest, EachModeRefusesTheOtherWayIn) {
  {
    ParleyStack stack;  // --auth=names, as today
    httplib::Result token = PostSession(stack, {{"token", TestAppToken("alice")}});
    EXPECT_EQ(token->status, 403);
    EXPECT_EQ(CodeOf(token), "token_login_disabled");
    httplib::Result name = PostSession(stack, {{"name", "alice"}});
    ASSERT_EQ(name->status, 200);
    EXPECT_EQ(FromJson<v1::SessionInfo>(name->body).identity(), "name");
    EXPECT_EQ(stack.Client()->Get("/login?token=x")->status, 403);
  }
  {
    ParleyStack stack(WithAuth(AuthMode::kTokens));
    httplib::Result name = PostSession(stack, {{"name", "alice"}});
    EXPECT_EQ(name->status, 403);
    EXPECT_EQ(CodeOf(name), "name_login_disabled");
    httplib::Result form =
        stack.Client()->Post("/login", "name=alice", "application/x-www-form-urlencoded");
    EXPECT_EQ(form->status, 403);
    // The login page offers no name form.
    httplib::Result page = stack.Client()->Get("/login");
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->body.find("name=\"name\""), std::string::npos);
  }
  {
    ParleyStack stack(WithAuth(AuthMode::kBoth));
    EXPECT_EQ(PostSession(stack, {{"name", "bob"}})->status, 200);
    EXPECT_EQ(PostSession(stack, {{"token", TestAppToken("alice", {{"aud", "parley"}})}})->status,
              200);
    httplib::Result both =
        PostSession(stack, {{"name", "carol"}, {"token", TestAppToken("carol")}});
    EXPECT_EQ(both->status, 400);
    EXPECT_EQ(PostSession(stack, json::object())->status, 400);
  }
}

// The app vouches for its user on every device: a second sign-in shares the user's session
// instead of being refused the name, and signing out of one leaves the other signed in.
TEST(TokenLoginTest, AUsersDevicesShareTheirSession) {
  ParleyStack stack(WithAuth(AuthMode::kTokens));
  const json aud = {{"aud", "parley"}};
  httplib::Result laptop = PostSession(stack, {{"token", TestAppToken("alice", aud)}});
  httplib::Result phone = PostSession(stack, {{"token", TestAppToken("alice", aud)}});
  ASSERT_EQ(laptop->status, 200) << laptop->body;
  ASSERT_EQ(phone->status, 200) << phone->body;
  const v1::SessionInfo on_laptop = FromJson<v1::SessionInfo>(laptop->body);
  const v1::SessionInfo on_phone = FromJson<v1::SessionInfo>(phone->body);
  EXPECT_EQ(on_laptop.epoch(), on_phone.epoch());  // one queue
  EXPECT_EQ(stack.Say(on_phone.token(), "from the phone")->status, 200);
  httplib::Client client("127.0.0.1", stack.port());
  httplib::Result out =
      client.Delete("/api/session", {{"Authorization", "Bearer " + on_phone.token()}});
  EXPECT_EQ(out->status, 200);
  httplib::Result still = stack.Get(on_laptop.token(), "/api/poll?cursor=0&wait=0");
  ASSERT_EQ(still->status, 200) << still->body;
  EXPECT_NE(still->body.find("from the phone"), std::string::npos);
  // A name login for the name is still refused while alice is signed in.
  ParleyStack both(WithAuth(AuthMode::kBoth));
  ASSERT_EQ(PostSession(both, {{"token", TestAppToken("alice", aud)}})->status, 200);
  EXPECT_EQ(CodeOf(PostSession(both, {{"name", "alice"}})), "name_taken");
}

// Every name is an app's user: a direct message to one who is not connected is kept and is
// first in their queue when they sign in. Under --auth=names it is refused (404): a free name
// may be taken by anyone next.
TEST(TokenLoginTest, ADirectMessageToAnAppUserAwayWaitsForThem) {
  const json aud = {{"aud", "parley"}};
  ParleyStack stack(WithAuth(AuthMode::kTokens));
  const v1::SessionInfo alice =
      FromJson<v1::SessionInfo>(PostSession(stack, {{"token", TestAppToken("alice", aud)}})->body);
  httplib::Result kept = stack.PostJson(alice.token(), "/api/messages",
                                        R"({"to":"bob","text":"see you Monday","clientId":"c1"})");
  ASSERT_EQ(kept->status, 200) << kept->body;
  const v1::PublishResponse answer = FromJson<v1::PublishResponse>(kept->body);
  EXPECT_TRUE(answer.held());
  EXPECT_EQ(answer.recipients(), 0u);
  httplib::Result bob = PostSession(stack, {{"token", TestAppToken("bob", aud)}});
  ASSERT_EQ(bob->status, 200) << bob->body;
  httplib::Result read =
      stack.Get(FromJson<v1::SessionInfo>(bob->body).token(), "/api/poll?cursor=0&wait=0");
  ASSERT_EQ(read->status, 200) << read->body;
  const v1::PollResponse polled = FromJson<v1::PollResponse>(read->body);
  ASSERT_GE(polled.messages_size(), 1);
  EXPECT_EQ(polled.messages(0).text(), "see you Monday");
  EXPECT_EQ(polled.messages(0).from(), "alice");

  ParleyStack names(WithAuth(AuthMode::kNames));
  const std::string carol = names.LogIn("carol");
  httplib::Result refused =
      names.PostJson(carol, "/api/messages", R"({"to":"dave","text":"hi","clientId":"c1"})");
  EXPECT_EQ(refused->status, 404) << refused->body;
}

std::string CookieFrom(const httplib::Result& result) {
  const std::string set_cookie = result->get_header_value("Set-Cookie");
  return set_cookie.substr(0, set_cookie.find(';'));
}

// The app links its user to /login?token=...: the answer sets the cookie and opens the chat
// from Parley's own page (so the SameSite=Strict cookie goes with it).
TEST(TokenLoginTest, ALoginLinkSetsTheCookieAndOpensTheChat) {
  ParleyStack stack(WithAuth(AuthMode::kTokens, "https://app.example/signin"));
  auto client = stack.Client();
  httplib::Result link =
      client->Get(absl::StrCat("/login?token=", TestAppToken("alice", {{"aud", "parley"}})));
  ASSERT_EQ(link->status, 200) << link->body;
  EXPECT_NE(link->body.find("url=/chatroom/alice/"), std::string::npos) << link->body;
  const std::string cookie = CookieFrom(link);
  EXPECT_NE(link->get_header_value("Set-Cookie").find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(client->Get("/chatroom/alice/", {{"Cookie", cookie}})->status, 200);

  // A refused link goes back to the app's sign-in page, saying why.
  json expired = {{"aud", "parley"}, {"exp", FromNow(-absl::Hours(1))}};
  httplib::Result stale =
      client->Get(absl::StrCat("/login?token=", TestAppToken("alice", expired)));
  EXPECT_EQ(stale->status, 302);
  EXPECT_EQ(stale->get_header_value("Location"), "https://app.example/signin?error=token_expired");
  // So does /login itself, and every page without a session.
  EXPECT_EQ(client->Get("/login")->get_header_value("Location"), "https://app.example/signin");
}

// Under --auth=both the form stays, but a page whose user the app signed in goes back to the
// app's sign-in when its session ends (the page asks for /login?from=app).
TEST(TokenLoginTest, UnderBothAPageSignedInByTheAppGoesBackToTheApp) {
  ParleyStack stack(WithAuth(AuthMode::kBoth, "https://app.example/signin"));
  httplib::Result form = stack.Client()->Get("/login");
  EXPECT_EQ(form->status, 200);
  EXPECT_NE(form->body.find("name=\"name\""), std::string::npos);
  EXPECT_EQ(stack.Client()->Get("/login?from=app")->get_header_value("Location"),
            "https://app.example/signin");
}

TEST(TokenLoginTest, WithoutALoginUrlARefusedLinkSaysWhy) {
  ParleyStack stack(WithAuth(AuthMode::kTokens));
  httplib::Result stale = stack.Client()->Get(
      absl::StrCat("/login?token=",
                   TestAppToken("alice", {{"aud", "parley"}, {"exp", FromNow(-absl::Hours(1))}})));
  EXPECT_EQ(stale->status, 401);
  EXPECT_NE(stale->body.find("token_expired"), std::string::npos);
  EXPECT_EQ(stale->body.find("name=\"name\""), std::string::npos);
}

}  // namespace
}  // namespace parley::frontend
