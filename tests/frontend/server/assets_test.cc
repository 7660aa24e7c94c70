// The web assets: embedded with ETags, or from --web_root uncached.

#include <gtest/gtest.h>
#include <sys/stat.h>
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

TEST(AssetsTest, TraversalOutOfTheWebRootIsRefusedInEverySpelling) {
  char dir_template[] = "/tmp/parley-web-XXXXXX";
  const std::string parent = mkdtemp(dir_template);
  const std::string root = parent + "/web";
  ASSERT_EQ(mkdir(root.c_str(), 0700), 0);
  std::ofstream(root + "/ok.js") << "// ok";
  std::ofstream(parent + "/secret.txt") << "TOP SECRET";
  frontend::FrontendOptions options;
  options.web_root = root;
  ParleyStack stack(options);
  auto client = stack.Client();
  EXPECT_EQ(client->Get("/static/ok.js")->body, "// ok");
  for (const char* path : {
           "/static/../secret.txt",
           "/static/..%2fsecret.txt",
           "/static/%2e%2e/secret.txt",
           "/static/%2e%2e%2fsecret.txt",
           "/static/..%5csecret.txt",
           "/static/....//secret.txt",
           "/static/ok.js%00.png",
           "/static//etc/passwd",
           "/static/%2fetc%2fpasswd",
           "/static/.%2e/secret.txt",
           "/static/%252e%252e%252fsecret.txt",
       }) {
    httplib::Result result = client->Get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_TRUE(result->status == 400 || result->status == 404) << path << ": " << result->status;
    EXPECT_EQ(result->body.find("TOP SECRET"), std::string::npos) << path;
    EXPECT_EQ(result->body.find("root:"), std::string::npos) << path;
  }
  std::remove((root + "/ok.js").c_str());
  std::remove((parent + "/secret.txt").c_str());
  rmdir(root.c_str());
  rmdir(parent.c_str());
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
