// The web assets: embedded with ETags, or from --web_root uncached.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "frontend/assets/web_assets.h"
#include "tests/testing/parley_stack.h"

namespace parley::frontend {
namespace {

using ::parley::testing::ParleyStack;

TEST(AssetsTest, EmbeddedAssetsHaveETagsAndAnswer304) {
  ParleyStack stack;
  auto client = stack.Client();
  httplib::Result script = client->Get("/static/chat-app.js");
  ASSERT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  const std::string etag = script->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(client->Get("/static/chat-app.js", {{"If-None-Match", etag}})->status, 304);
  EXPECT_EQ(client->Get("/static/style.css")->status, 200);
}

TEST(AssetsTest, WebRootServesEditedFilesUncached) {
  char dir_template[] = "/tmp/parley-web-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const auto write = [&](const std::string& text) { std::ofstream(dir + "/chat-app.js") << text; };
  write("// first");
  frontend::FrontendOptions options;
  options.web_root = dir;
  ParleyStack stack(options);
  auto client = stack.Client();
  httplib::Result first = client->Get("/static/chat-app.js");
  EXPECT_EQ(first->body, "// first");
  EXPECT_TRUE(first->get_header_value("ETag").empty());
  EXPECT_EQ(first->get_header_value("Cache-Control"), "no-store");
  write("// edited");
  EXPECT_EQ(client->Get("/static/chat-app.js")->body, "// edited");
  EXPECT_EQ(client->Get("/static/missing.css")->status, 404);
  std::remove((dir + "/chat-app.js").c_str());
  rmdir(dir.c_str());
}

TEST(AssetsTest, OnlyPlainNamesAreServed) {
  WebAssets assets("/etc");
  EXPECT_FALSE(assets.Find("../etc/passwd").ok());
  EXPECT_FALSE(assets.Find(".hidden").ok());
  EXPECT_FALSE(assets.Find("a/b.js").ok());
  EXPECT_FALSE(assets.Find("").ok());
}

}  // namespace
}  // namespace parley::frontend
