// The server API (--admin_listen) and private rooms through every public route, against a
// real broker and frontend: an app's backend creates rooms, adds and removes members, posts as
// a system sender and ends a user's sessions; the users sign in with the app's tokens.

#include <gtest/gtest.h>

#include <future>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "frontend/admin/api_keys.h"
#include "frontend/auth/jwt_key_ring.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/jwt_minter.h"
#include "tests/testing/parley_stack.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using nlohmann::json;
using ::parley::testing::FromJson;
using ::parley::testing::kTestAppSecret;
using ::parley::testing::ParleyStack;
using ::parley::testing::TestAppToken;

const std::string kKey = "billing-key-0123456789abcdef";

FrontendOptions WithServerApi() {
  FrontendOptions options;
  options.auth = AuthMode::kBoth;
  options.jwt_keys = *JwtKeyRing::Load(*SecretKey(kTestAppSecret), "");
  options.admin = AdminOptions{"127.0.0.1", 0,
                               std::make_shared<const ApiKeys>(*ApiKeys::Parse(
                                   absl::StrCat("# the app's backend\nbilling:", kKey, "\n")))};
  return options;
}

std::string CodeOf(const httplib::Result& result) {
  return FromJson<v1::ErrorBody>(result->body).error().code();
}

class AdminTest : public ::testing::Test {
 protected:
  // A call of the server API with the app's key.
  httplib::Result Admin(const std::string& method, const std::string& path,
                        const std::string& body = "") {
    httplib::Client client("127.0.0.1", stack_.frontend().admin_port());
    httplib::Headers headers = {{"X-API-Key", kKey}};
    if (method == "GET") return client.Get(path, headers);
    if (method == "DELETE") return client.Delete(path, headers);
    return client.Post(path, headers, body, "application/json");
  }
  // Logs `user` in with an app token; the Parley session token.
  std::string LogIn(const std::string& user, json extra = json::object()) {
    httplib::Result login = stack_.Client()->Post(
        "/api/session", json{{"token", TestAppToken(user, extra)}}.dump(), "application/json");
    EXPECT_EQ(login->status, 200) << login->body;
    return FromJson<v1::SessionInfo>(login->body).token();
  }
  std::vector<std::string> RoomsOf(const std::string& token) {
    v1::RoomsResponse rooms = FromJson<v1::RoomsResponse>(stack_.Get(token, "/api/rooms")->body);
    return {rooms.rooms().begin(), rooms.rooms().end()};
  }

  ParleyStack stack_{WithServerApi()};
};

TEST_F(AdminTest, TheServerApiWantsAKeyAndIsNotOnThePublicPort) {
  httplib::Client admin("127.0.0.1", stack_.frontend().admin_port());
  httplib::Result bare = admin.Get("/admin/v1/rooms");
  EXPECT_EQ(bare->status, 401);
  EXPECT_EQ(CodeOf(bare), "missing_api_key");
  httplib::Result wrong = admin.Get("/admin/v1/rooms", {{"X-API-Key", kKey + "x"}});
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(CodeOf(wrong), "invalid_api_key");
  // A key refused is not a chat session refused: no cookie to clear.
  EXPECT_FALSE(bare->has_header("Set-Cookie"));
  EXPECT_FALSE(wrong->has_header("Set-Cookie"));
  EXPECT_EQ(Admin("GET", "/admin/v1/rooms")->status, 200);
  // The public port knows no such route, key or not.
  httplib::Result outside = stack_.Client()->Get("/admin/v1/rooms", {{"X-API-Key", kKey}});
  EXPECT_EQ(outside->status, 404);
  httplib::Result post_outside =
      stack_.Client()->Post("/admin/v1/publish", {{"X-API-Key", kKey}},
                            R"({"room":"lobby","text":"x"})", "application/json");
  EXPECT_EQ(post_outside->status, 404);
  // And the server API serves none of the public routes.
  EXPECT_EQ(Admin("GET", "/api/rooms")->status, 404);
}

TEST_F(AdminTest, APrivateRoomIsInvisibleToANonMemberThroughEveryRoute) {
  const std::string alice = LogIn("alice");
  const std::string mallory = LogIn("mallory");
  httplib::Result created =
      Admin("POST", "/admin/v1/rooms", R"({"name":"team","private":true,"members":["alice"]})");
  ASSERT_EQ(created->status, 200) << created->body;
  EXPECT_EQ(FromJson<v1::CreateRoomResponse>(created->body).joined(0), "alice");
  EXPECT_EQ(stack_.Say(alice, "the plan", "team")->status, 200);
  EXPECT_EQ(RoomsOf(alice), (std::vector<std::string>{"lobby", "team"}));

  EXPECT_EQ(RoomsOf(mallory), std::vector<std::string>{"lobby"});
  // The room directory lists public rooms only, to members too.
  ASSERT_EQ(stack_.PostJson(mallory, "/api/rooms/games/join", "")->status, 200);
  for (const std::string& reader : {alice, mallory}) {
    const auto directory =
        FromJson<v1::ListRoomsResponse>(stack_.Get(reader, "/api/directory")->body);
    std::vector<std::string> names;
    for (const v1::RoomListing& room : directory.rooms()) names.push_back(room.name());
    EXPECT_EQ(names, (std::vector<std::string>{"games", "lobby"}));
    EXPECT_EQ(directory.rooms(0).presence().members(), 1u);
  }
  EXPECT_EQ(stack_.Client()->Get("/api/directory")->status, 401);
  for (const char* path : {"/api/rooms/team/history", "/api/rooms/team/members"}) {
    httplib::Result read = stack_.Get(mallory, path);
    EXPECT_EQ(read->status, 404) << path << ": " << read->body;
    EXPECT_EQ(read->body.find("the plan"), std::string::npos);
  }
  EXPECT_EQ(stack_.PostJson(mallory, "/api/rooms/team/join", "")->status, 404);
  EXPECT_EQ(stack_.Say(mallory, "let me in", "team")->status, 404);
  // Her queue never saw a line of it.
  httplib::Result polled = stack_.Get(mallory, "/api/poll?cursor=0&wait=0");
  EXPECT_EQ(polled->body.find("team"), std::string::npos) << polled->body;
  // The server API sees it all.
  httplib::Result listed = Admin("GET", "/admin/v1/rooms");
  EXPECT_NE(listed->body.find(R"("name":"team","private":true)"), std::string::npos)
      << listed->body;
  EXPECT_NE(Admin("GET", "/admin/v1/rooms/team/history")->body.find("the plan"), std::string::npos);
  EXPECT_NE(Admin("GET", "/admin/v1/rooms/team/members")->body.find(R"("user":"alice")"),
            std::string::npos);
}

TEST_F(AdminTest, AMemberAddedByTheApiOrNamedByTheirTokenGetsIn) {
  ASSERT_EQ(Admin("POST", "/admin/v1/rooms", R"({"name":"team","private":true})")->status, 200);
  ASSERT_EQ(Admin("POST", "/admin/v1/rooms", R"({"name":"ops","private":true})")->status, 200);
  const std::string bob = LogIn("bob");
  httplib::Result added = Admin("POST", "/admin/v1/rooms/team/members", R"({"user":"bob"})");
  ASSERT_EQ(added->status, 200) << added->body;
  EXPECT_TRUE(FromJson<v1::AddMemberResponse>(added->body).joined());
  EXPECT_EQ(RoomsOf(bob), (std::vector<std::string>{"lobby", "team"}));
  // carol's token names "ops": she is in it from her first request.
  const std::string carol = LogIn("carol", {{"rooms", {"ops"}}});
  EXPECT_EQ(RoomsOf(carol), (std::vector<std::string>{"lobby", "ops"}));
  EXPECT_EQ(stack_.Get(carol, "/api/rooms/ops/history")->status, 200);
  EXPECT_EQ(stack_.Get(carol, "/api/rooms/team/history")->status, 404);
}

TEST_F(AdminTest, ARemovedMemberStopsReceivingAtOnce) {
  const std::string alice = LogIn("alice");
  const std::string bob = LogIn("bob");
  ASSERT_EQ(Admin("POST", "/admin/v1/rooms",
                  R"({"name":"team","private":true,"members":["alice","bob"]})")
                ->status,
            200);
  const uint64_t cursor =
      FromJson<v1::PollResponse>(stack_.Get(bob, "/api/poll?cursor=0&wait=0")->body).cursor();
  httplib::Result removed = Admin("DELETE", "/admin/v1/rooms/team/members/bob");
  ASSERT_EQ(removed->status, 200) << removed->body;
  EXPECT_TRUE(FromJson<v1::RemoveMemberResponse>(removed->body).left());
  EXPECT_EQ(stack_.Say(alice, "without bob", "team")->status, 200);
  const v1::PollResponse after = FromJson<v1::PollResponse>(
      stack_.Get(bob, absl::StrCat("/api/poll?cursor=", cursor, "&wait=0"))->body);
  ASSERT_EQ(after.messages_size(), 1);
  EXPECT_EQ(after.messages(0).kind(), v1::LEAVE);
  EXPECT_EQ(after.messages(0).room(), "team");
  EXPECT_EQ(stack_.Get(bob, "/api/rooms/team/history")->status, 404);
}

TEST_F(AdminTest, TheAppPostsAsANamedSystemSender) {
  const std::string alice = LogIn("alice");
  const std::string bob = LogIn("bob");
  httplib::Result to_room = Admin("POST", "/admin/v1/publish",
                                  R"({"room":"lobby","text":"maintenance at 6","from":"ops-bot"})");
  ASSERT_EQ(to_room->status, 200) << to_room->body;
  httplib::Result to_user =
      Admin("POST", "/admin/v1/publish", R"({"to":"bob","text":"your invoice is paid"})");
  ASSERT_EQ(to_user->status, 200) << to_user->body;
  const v1::PollResponse bobs =
      FromJson<v1::PollResponse>(stack_.Get(bob, "/api/poll?cursor=0&wait=0")->body);
  std::vector<std::string> seen;
  for (const v1::Message& message : bobs.messages()) {
    if (message.kind() == v1::SYSTEM) seen.push_back(message.from() + ": " + message.text());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"ops-bot: maintenance at 6",
                                            "system: your invoice is paid"}));
  const v1::PollResponse alices =
      FromJson<v1::PollResponse>(stack_.Get(alice, "/api/poll?cursor=0&wait=0")->body);
  EXPECT_EQ(alices.ShortDebugString().find("invoice"), std::string::npos);
  // Bad input is a 400 with its reason.
  EXPECT_EQ(Admin("POST", "/admin/v1/publish", R"({"text":"nowhere"})")->status, 400);
  EXPECT_EQ(Admin("POST", "/admin/v1/publish", R"({"room":"lobby","text":""})")->status, 400);
  EXPECT_EQ(Admin("POST", "/admin/v1/rooms", "not json")->status, 400);
}

TEST_F(AdminTest, DisconnectEndsEverySessionAndRefusesTheOldToken) {
  const std::string old_token = TestAppToken("alice", json::object(), absl::Minutes(1));
  httplib::Result login =
      stack_.Client()->Post("/api/session", json{{"token", old_token}}.dump(), "application/json");
  ASSERT_EQ(login->status, 200);
  const v1::SessionInfo alice = FromJson<v1::SessionInfo>(login->body);
  // A long poll parked for alice ...
  auto parked = std::async(std::launch::async, [&] {
    return stack_.Get(alice.token(), absl::StrCat("/api/poll?wait=20&cursor=", alice.cursor(),
                                                  "&epoch=", alice.epoch()));
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (stack_.broker().ParkedPolls() == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(stack_.broker().ParkedPolls(), 1u);
  httplib::Result ended = Admin("POST", "/admin/v1/users/alice/disconnect");
  ASSERT_EQ(ended->status, 200) << ended->body;
  EXPECT_TRUE(FromJson<v1::DisconnectUserResponse>(ended->body).was_connected());
  // ... is answered 401 at once.
  httplib::Result answered = parked.get();
  EXPECT_EQ(answered->status, 401) << answered->body;
  EXPECT_EQ(CodeOf(answered), "token_revoked");
  EXPECT_EQ(stack_.Get(alice.token(), "/api/rooms")->status, 401);
  // The token from before is refused; one the app issues now is not.
  httplib::Result replay =
      stack_.Client()->Post("/api/session", json{{"token", old_token}}.dump(), "application/json");
  EXPECT_EQ(replay->status, 401);
  EXPECT_EQ(CodeOf(replay), "token_revoked");
  // Sessions start in whole seconds: those of the disconnect's second are refused with the
  // rest, so the app's new token works from the next second on.
  const int64_t disconnect_second = absl::ToUnixSeconds(absl::Now());
  ASSERT_TRUE(::parley::testing::WaitFor(
      [&] { return absl::ToUnixSeconds(absl::Now()) > disconnect_second; }));
  httplib::Result fresh = stack_.Client()->Post(
      "/api/session",
      json{{"token", TestAppToken("alice", json::object(), absl::ZeroDuration())}}.dump(),
      "application/json");
  EXPECT_EQ(fresh->status, 200) << fresh->body;
}

}  // namespace
}  // namespace parley::frontend
