// The original tutorial's flow through Parley's seed-compatible routes:
// /login -> /chatroom/<user>/ -> /put_post/<user> -> /get_post/<user>.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/testing/parley_stack.h"

namespace parley::frontend {
namespace {

using ::parley::testing::ParleyStack;

// A browser of the tutorial: a cookie and the page's two calls.
class TutorialBrowser {
 public:
  TutorialBrowser(ParleyStack& stack, std::string name)
      : client_(stack.Client()), name_(std::move(name)) {}

  void LogIn() {
    httplib::Result login =
        client_->Post("/login", "name=" + name_, "application/x-www-form-urlencoded");
    ASSERT_EQ(login->status, 303);
    const std::string set_cookie = login->get_header_value("Set-Cookie");
    cookie_ = set_cookie.substr(0, set_cookie.find(';'));
    ASSERT_EQ(client_->Get(login->get_header_value("Location"), {{"Cookie", cookie_}})->status,
              200);
  }
  void PutPost(const std::string& message) {
    httplib::Result result =
        client_->Post("/put_post/" + name_, {{"Cookie", cookie_}}, "message=" + message,
                      "application/x-www-form-urlencoded");
    ASSERT_EQ(result->status, 200) << result->body;
  }
  std::string GetPost() {
    httplib::Result result = client_->Get("/get_post/" + name_, {{"Cookie", cookie_}});
    EXPECT_EQ(result->status, 200) << result->body;
    return result->body;
  }
  // The tutorial's page may also POST it (docs/api.md).
  std::string PostGetPost() {
    httplib::Result result =
        client_->Post("/get_post/" + name_, {{"Cookie", cookie_}}, "", "text/plain");
    EXPECT_EQ(result->status, 200) << result->body;
    return result->body;
  }

 private:
  std::unique_ptr<httplib::Client> client_;
  std::string name_;
  std::string cookie_;
};

TEST(SeedRoutesTest, EveryUserGetsEachMessageOnceInOrder) {
  frontend::FrontendOptions options;
  options.seed_wait = absl::Seconds(1);  // the empty answer comes sooner than the tutorial's 10 s
  ParleyStack stack(options);
  std::vector<std::unique_ptr<TutorialBrowser>> browsers;
  for (const char* name : {"ann", "ben", "cat"}) {
    browsers.push_back(std::make_unique<TutorialBrowser>(stack, name));
    browsers.back()->LogIn();
  }
  browsers[0]->PutPost("hello");
  browsers[1]->PutPost("hi there");
  for (auto& browser : browsers) {
    EXPECT_EQ(browser->GetPost(), R"("hello")");
    EXPECT_EQ(browser->PostGetPost(), R"("hi there")");
    EXPECT_EQ(browser->GetPost(), R"("")");  // nothing more: empty after the wait
  }
}

TEST(SeedRoutesTest, TextIsAJsonStringEvenWithQuotesAndMarkup) {
  frontend::FrontendOptions options;
  options.seed_wait = absl::Seconds(1);
  ParleyStack stack(options);
  TutorialBrowser ann(stack, "ann");
  ann.LogIn();
  ann.PutPost("%3Cb%3E%22quoted%22%3C%2Fb%3E");  // <b>"quoted"</b>, form-encoded
  EXPECT_EQ(ann.GetPost(), R"("\u003cb\u003e\"quoted\"\u003c/b\u003e")");
}

}  // namespace
}  // namespace parley::frontend
