// The route table: a route is found by method and whole-path pattern, whatever the pattern's
// shape (the literal-prefix shortcut must never hide a route its regex would match).

#include "frontend/http/route_table.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::frontend {
namespace {

std::string Found(const RouteTable& routes, const std::string& method, const std::string& path) {
  httplib::Request request;
  request.method = method;
  request.path = path;
  const RouteTable::Route* route = routes.Find(request);
  return route == nullptr ? "none" : route->pattern;
}

TEST(RouteTableTest, FindsByMethodAndWholePathWhateverThePatternsShape) {
  RouteTable routes;
  routes.Get("/api/rooms/([^/]+)/history", nullptr);
  routes.Get("/chatroom/([^/]+)/?", nullptr);
  routes.Get("/ab?c", nullptr);
  routes.Get("/x|/y", nullptr);
  routes.Post("/api/messages", nullptr);
  EXPECT_EQ(Found(routes, "GET", "/api/rooms/lobby/history"), "/api/rooms/([^/]+)/history");
  EXPECT_EQ(Found(routes, "GET", "/api/rooms/lobby/historyx"), "none");
  EXPECT_EQ(Found(routes, "GET", "/chatroom/alice"), "/chatroom/([^/]+)/?");
  EXPECT_EQ(Found(routes, "GET", "/chatroom/alice/"), "/chatroom/([^/]+)/?");
  EXPECT_EQ(Found(routes, "GET", "/ac"), "/ab?c");  // the quantified character may be absent
  EXPECT_EQ(Found(routes, "GET", "/abc"), "/ab?c");
  EXPECT_EQ(Found(routes, "GET", "/y"), "/x|/y");
  EXPECT_EQ(Found(routes, "HEAD", "/x"), "/x|/y");  // HEAD is served by GET
  EXPECT_EQ(Found(routes, "GET", "/api/messages"), "none");
  EXPECT_EQ(Found(routes, "POST", "/api/messages"), "/api/messages");
  EXPECT_EQ(routes.AllowedMethods("/api/messages"), "POST");
  EXPECT_EQ(routes.AllowedMethods("/ac"), "GET");
}

}  // namespace
}  // namespace parley::frontend
