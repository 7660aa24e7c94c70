#ifndef PARLEY_FRONTEND_HTTP_ROUTE_TABLE_H_
#define PARLEY_FRONTEND_HTTP_ROUTE_TABLE_H_

#include <httplib.h>

#include <regex>
#include <string>
#include <vector>

namespace parley::frontend {

// Registers routes on the httplib server and remembers their patterns, so that a request
// for a known path with another method is answered 405 (with Allow) rather than 404.
// Filled before the server starts; read-only afterwards (any thread).
class RouteTable {
 public:
  explicit RouteTable(httplib::Server* server) : server_(server) {}

  void Get(const std::string& pattern, httplib::Server::Handler handler);
  void Post(const std::string& pattern, httplib::Server::Handler handler);
  void Delete(const std::string& pattern, httplib::Server::Handler handler);

  // The methods registered for `path`, comma-separated ("" if the path is unknown).
  std::string AllowedMethods(const std::string& path) const;

  // The pattern of the route that handled this thread's current request ("unrouted" when
  // none did: rejected before routing, 404, 405), and forgets it. httplib runs a request's
  // handler and then its logger on the same thread, so the logger can label by route.
  static std::string TakeCurrentRoute();

 private:
  struct Route {
    std::string method;
    std::regex pattern;
  };
  void Remember(const std::string& method, const std::string& pattern);
  static httplib::Server::Handler Labelled(const std::string& pattern,
                                           httplib::Server::Handler handler);

  httplib::Server* const server_;
  std::vector<Route> routes_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_HTTP_ROUTE_TABLE_H_
