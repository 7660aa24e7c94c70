// Logging in and out, and who may use which route, against a real broker and frontend.

#include <gtest/gtest.h>

#include <string>

#include "broker/core/chat_options.h"
#include "frontend/session/session_tokens.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/parley_stack.h"
#include "tests/testing/sync_chat_state.h"

namespace parley::frontend {
namespace {

using ::parley::testing::FromJson;
using ::parley::testing::ParleyStack;

std::string CookieFrom(const httplib::Result& result) {
  const std::string set_cookie = result->get_header_value("Set-Cookie");
  return set_cookie.substr(0, set_cookie.find(';'));
}

TEST(AuthTest, LoginFormSetsASafeCookieAndRedirectsToTheChatroom) {
  ParleyStack stack;
  auto client = stack.Client();
  httplib::Result login = client->Post("/login", "name=alice", "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  EXPECT_EQ(login->get_header_value("Location"), "/chatroom/alice/");
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("parley_session=alice~"), std::string::npos);
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("Path=/"), std::string::npos);

  httplib::Result page = client->Get("/chatroom/alice/", {{"Cookie", CookieFrom(login)}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  // A page for one user is never cached, and says so once.
  EXPECT_EQ(page->get_header_value_count("Cache-Control"), 1u);
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
  EXPECT_FALSE(page->has_header("ETag"));
  for (const char* id : {"id=\"form\"", "id=\"post\"", "id=\"message\""}) {
    EXPECT_NE(page->body.find(id), std::string::npos) << id;
  }
  httplib::Result root = client->Get("/", {{"Cookie", CookieFrom(login)}});
  EXPECT_EQ(root->status, 302);
  EXPECT_EQ(root->get_header_value("Location"), "/chatroom/alice/");
}

TEST(AuthTest, WithoutASessionPagesSendYouToLogin) {
  ParleyStack stack;
  auto client = stack.Client();
  EXPECT_EQ(client->Get("/")->get_header_value("Location"), "/login");
  EXPECT_EQ(client->Get("/chatroom/alice/")->get_header_value("Location"), "/login");
  httplib::Result form = client->Get("/login");
  EXPECT_EQ(form->status, 200);
  EXPECT_NE(form->body.find("name=\"name\""), std::string::npos);
}

TEST(AuthTest, ApiLoginTokenWorksAsBearerAndAsCookie) {
  ParleyStack stack;
  auto client = stack.Client();
  httplib::Result login = client->Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_EQ(login->status, 200) << login->body;
  const v1::SessionInfo info = FromJson<v1::SessionInfo>(login->body);
  EXPECT_EQ(info.user(), "alice");
  EXPECT_NE(info.epoch(), 0u);
  EXPECT_EQ(client->Get("/api/rooms", {{"Authorization", "Bearer " + info.token()}})->status, 200);
  EXPECT_EQ(client->Get("/api/rooms", {{"Cookie", CookieFrom(login)}})->status, 200);
  EXPECT_EQ(client->Get("/api/rooms")->status, 401);
}

TEST(AuthTest, ForgedExpiredAndOtherUsersTokensAreRefused) {
  ParleyStack stack;
  const std::string alice = stack.LogIn("alice");
  stack.LogIn("bob");
  SessionTokens same_secret(ParleyStack::kSecret, absl::Hours(1));
  Session expired = same_secret.NewSession("alice", absl::Now() - absl::Hours(2));
  SessionTokens other_secret("some-other-secret-0123", absl::Hours(1));
  std::string forged = alice;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';

  EXPECT_EQ(stack.Get(forged, "/api/rooms")->status, 401);
  EXPECT_EQ(stack.Get(alice.substr(0, alice.size() / 2), "/api/rooms")->status, 401);
  EXPECT_EQ(stack.Get(same_secret.Encode(expired), "/api/rooms")->status, 401);
  EXPECT_EQ(
      stack.Get(other_secret.Encode(other_secret.NewSession("alice", absl::Now())), "/api/rooms")
          ->status,
      401);
  httplib::Result refused = stack.Get(forged, "/api/rooms");
  EXPECT_NE(refused->body.find(R"("code":"unauthenticated")"), std::string::npos);
  // A valid session of alice may not use bob's routes.
  EXPECT_EQ(stack.Get(alice, "/chatroom/bob/")->status, 403);
  EXPECT_EQ(stack.Get(alice, "/get_post/bob")->status, 403);
  auto client = stack.Client();
  EXPECT_EQ(client
                ->Post("/put_post/bob", {{"Authorization", "Bearer " + alice}}, "message=hi",
                       "application/x-www-form-urlencoded")
                ->status,
            403);
}

TEST(AuthTest, NameTakenIs409ForTheApiAndAMessageOnTheForm) {
  ParleyStack stack;
  stack.LogIn("alice");
  auto client = stack.Client();
  httplib::Result api = client->Post("/api/session", R"({"name":"alice"})", "application/json");
  EXPECT_EQ(api->status, 409);
  EXPECT_NE(api->body.find(R"("code":"name_taken")"), std::string::npos);
  httplib::Result form = client->Post("/login", "name=alice", "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 409);
  EXPECT_NE(form->body.find("Name taken"), std::string::npos);
  EXPECT_NE(form->body.find(R"(name="name" value="alice")"), std::string::npos);
  // What comes back into the box is escaped: it cannot close the attribute.
  httplib::Result odd =
      client->Post("/login", "name=%22%3E%3Cscript%3E", "application/x-www-form-urlencoded");
  EXPECT_EQ(odd->status, 400);
  EXPECT_NE(odd->body.find(R"(value="&quot;&gt;&lt;script&gt;")"), std::string::npos);
  EXPECT_EQ(odd->body.find(R"("><script>)"), std::string::npos);
}

TEST(AuthTest, LogoutDisconnectsClearsTheCookieAndFreesTheName) {
  ParleyStack stack;
  const std::string alice = stack.LogIn("alice");
  auto client = stack.Client();
  httplib::Result logout = client->Delete("/api/session", {{"Authorization", "Bearer " + alice}});
  ASSERT_EQ(logout->status, 200) << logout->body;
  EXPECT_NE(logout->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(::parley::testing::SyncChatState(&stack.broker().server().state()).Stats().users, 0u);
  EXPECT_FALSE(stack.LogIn("alice").empty());  // the name is free again

  httplib::Result form_logout =
      client->Post("/logout", {{"Authorization", "Bearer " + alice}}, "", "text/plain");
  EXPECT_EQ(form_logout->status, 303);
  EXPECT_EQ(form_logout->get_header_value("Location"), "/login");
  EXPECT_NE(form_logout->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos)
      << form_logout->get_header_value("Set-Cookie");
}

TEST(AuthTest, ATokenReplayedAfterLogoutIsRefusedForTheWholeMemory) {
  ::parley::testing::FakeClock broker_clock(absl::Now());
  ParleyStack stack({}, {}, &broker_clock);
  const std::string alice = stack.LogIn("alice");
  auto client = stack.Client();
  ASSERT_EQ(client->Delete("/api/session", {{"Authorization", "Bearer " + alice}})->status, 200);
  // The token's signature and expiry are still good; the broker remembers the session ended.
  for (const char* path : {"/api/rooms", "/api/poll?cursor=0&wait=0", "/api/session"}) {
    httplib::Result replayed = stack.Get(alice, path);
    EXPECT_EQ(replayed->status, 401) << path << ": " << replayed->body;
  }
  EXPECT_EQ(stack.PostJson(alice, "/api/messages", R"({"room":"lobby","text":"ghost"})")->status,
            401);
  EXPECT_EQ(::parley::testing::SyncChatState(&stack.broker().server().state()).Stats().users,
            0u);  // nobody was brought back
  // Still refused a minute before the broker's --ended_session_memory default (24 h) is up.
  const absl::Duration memory = absl::Hours(24);  // the documented default, as a number
  broker_clock.Advance(memory - absl::Minutes(1));
  EXPECT_EQ(stack.Get(alice, "/api/rooms")->status, 401);
  // Forgotten after it (the frontend's clock has not moved, so the 12-hour token still looks
  // fresh to it; in life it has long expired by then).
  broker_clock.Advance(absl::Minutes(2));
  EXPECT_EQ(stack.Get(alice, "/api/rooms")->status, 200);
  EXPECT_FALSE(stack.LogIn("bob").empty());  // a new login is fine
}

}  // namespace
}  // namespace parley::frontend
