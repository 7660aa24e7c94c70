// Bad input always gets a JSON error with the fitting status, and the service keeps working.

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/parley_stack.h"

namespace parley::frontend {
namespace {

using ::parley::testing::ParleyStack;

void ExpectJsonError(const httplib::Result& result, int status, const std::string& code) {
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, status) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(result->body.find(R"("code":")" + code + "\""), std::string::npos) << result->body;
}

class BadInputTest : public ::testing::Test {
 protected:
  ParleyStack stack_;
};

TEST_F(BadInputTest, LoginBodies) {
  auto client = stack_.Client();
  auto login = [&](const std::string& body) {
    return client->Post("/api/session", body, "application/json");
  };
  ExpectJsonError(login(""), 400, "invalid_argument");
  ExpectJsonError(login("{"), 400, "invalid_argument");
  ExpectJsonError(login(R"({"name":""})"), 400, "invalid_argument");
  ExpectJsonError(login(R"({"name":"has space"})"), 400, "invalid_argument");
  ExpectJsonError(login(R"({"name":")" + std::string(33, 'a') + R"("})"), 400, "invalid_argument");
  ExpectJsonError(login(R"({"name":5})"), 400, "invalid_argument");
  ExpectJsonError(login(R"({"name":"a","admin":true})"), 400, "invalid_argument");
  ExpectJsonError(login("{\"name\":\"\xff\xfe\"}"), 400, "invalid_argument");
  httplib::Result form =
      client->Post("/login", "name=%3Cscript%3E", "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 400);
  EXPECT_EQ(form->body.find("<script>"), std::string::npos);  // never echoed as markup
}

TEST_F(BadInputTest, MessageBodies) {
  const std::string alice = stack_.LogIn("alice");
  auto post = [&](const std::string& body) {
    return stack_.PostJson(alice, "/api/messages", body);
  };
  ExpectJsonError(post(R"({"room":"lobby"})"), 400, "invalid_argument");  // no text
  ExpectJsonError(post(R"({"text":"hi"})"), 400, "invalid_argument");     // no target
  ExpectJsonError(post(R"({"room":"lobby","to":"bob","text":"hi"})"), 400, "invalid_argument");
  ExpectJsonError(post(R"({"room":"lobby","text":")" + std::string(5000, 'x') + R"("})"), 400,
                  "invalid_argument");
  ExpectJsonError(post(R"({"room":"lobby","text":"bell\u0007"})"), 400, "invalid_argument");
  ExpectJsonError(post("{\"room\":\"lobby\",\"text\":\"\xc3\x28\"}"), 400, "invalid_argument");
  ExpectJsonError(post("not json"), 400, "invalid_argument");
  ExpectJsonError(post(R"({"room":"nowhere","text":"hi"})"), 404, "not_found");
  ExpectJsonError(post(R"({"to":"ghost","text":"hi"})"), 404, "not_found");
  ExpectJsonError(post(R"({"room":"lobby","text":"hi","clientId":"has space"})"), 400,
                  "invalid_argument");
}

TEST_F(BadInputTest, BodyOverTheLimitIs413) {
  const std::string alice = stack_.LogIn("alice");
  ExpectJsonError(stack_.PostJson(alice, "/api/messages", std::string(20 * 1024, 'x')), 413,
                  "too_large");
}

TEST_F(BadInputTest, PollQueryParameters) {
  const std::string alice = stack_.LogIn("alice");
  ExpectJsonError(stack_.Get(alice, "/api/poll?cursor=abc"), 400, "invalid_argument");
  ExpectJsonError(stack_.Get(alice, "/api/poll?cursor=-1"), 400, "invalid_argument");
  ExpectJsonError(stack_.Get(alice, "/api/poll?wait=31"), 400, "invalid_argument");
  ExpectJsonError(stack_.Get(alice, "/api/poll?max=100000"), 400, "invalid_argument");
  ExpectJsonError(stack_.Get(alice, "/api/poll?cursor=99999&wait=0"), 400, "invalid_argument");
  ExpectJsonError(stack_.Get(alice, "/api/rooms/bad%20name/members"), 400, "invalid_argument");
}

TEST_F(BadInputTest, UnknownRoutesAndWrongMethods) {
  auto client = stack_.Client();
  ExpectJsonError(client->Get("/no/such/page"), 404, "not_found");
  httplib::Result wrong = client->Delete("/api/poll");
  ExpectJsonError(wrong, 405, "method_not_allowed");
  EXPECT_EQ(wrong->get_header_value("Allow"), "GET");
  ExpectJsonError(client->Get("/api/messages"), 405, "method_not_allowed");
  ExpectJsonError(client->Get("/static/..%2F..%2Fetc%2Fpasswd"), 404, "not_found");
  ExpectJsonError(client->Get("/static/nothing.js"), 404, "not_found");
}

TEST_F(BadInputTest, CrossOriginStateChangesAreRefused) {
  const std::string alice = stack_.LogIn("alice");
  auto client = stack_.Client();
  const std::string own_origin = "http://127.0.0.1:" + std::to_string(stack_.port());
  // Another site; one whose name merely starts with this host and port; this host on another
  // port; this site over a scheme it is not served on is still this host (allowed below).
  for (const std::string& origin :
       {std::string("http://evil.example"), own_origin + ".evil.example", own_origin + "0",
        std::string("http://127.0.0.1"), "http://evil.example/" + own_origin}) {
    httplib::Result cross =
        client->Post("/api/messages", {{"Authorization", "Bearer " + alice}, {"Origin", origin}},
                     R"({"room":"lobby","text":"hi"})", "application/json");
    ExpectJsonError(cross, 403, "cross_origin");
    // Every state-changing method, not only POST: a cross-site logout is refused too.
    httplib::Result logout =
        client->Delete("/api/session", {{"Authorization", "Bearer " + alice}, {"Origin", origin}});
    ExpectJsonError(logout, 403, "cross_origin");
  }
  EXPECT_EQ(stack_.Get(alice, "/api/rooms")->status, 200);  // still logged in
  httplib::Result same =
      client->Post("/api/messages", {{"Authorization", "Bearer " + alice}, {"Origin", own_origin}},
                   R"({"room":"lobby","text":"hi"})", "application/json");
  EXPECT_EQ(same->status, 200) << same->body;
  ExpectJsonError(
      client->Post("/login", {{"Origin", "null"}}, "name=eve", "application/x-www-form-urlencoded"),
      403, "cross_origin");
}

// Exactly the values docs/operations.md ("Security") lists, on pages, files, JSON answers and
// errors alike.
TEST_F(BadInputTest, EveryResponseCarriesTheSecurityHeaders) {
  auto client = stack_.Client();
  for (const char* path : {"/login", "/static/chat-app.js", "/nope", "/healthz", "/api/session"}) {
    httplib::Result result = client->Get(path);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->get_header_value("Content-Security-Policy"),
              "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
              "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        << path;
    EXPECT_EQ(result->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(result->get_header_value("Referrer-Policy"), "same-origin") << path;
    EXPECT_EQ(result->get_header_value("X-Frame-Options"), "DENY") << path;
  }
}

}  // namespace
}  // namespace parley::frontend
