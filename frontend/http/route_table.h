#ifndef PARLEY_FRONTEND_HTTP_ROUTE_TABLE_H_
#define PARLEY_FRONTEND_HTTP_ROUTE_TABLE_H_

#include <httplib.h>

#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "frontend/net/exchange.h"

namespace parley::frontend {

// A route's handler: answers the exchange now or later (Exchange::Respond), never blocks.
using RouteHandler = std::function<void(const ExchangePtr&)>;

// The frontend's routes: method + path pattern (a regex over the whole path; its groups land
// in request.matches; a pattern without regex syntax is compared as text and leaves them
// empty) → handler. HEAD is served by the GET route (the server sends no body).
// A known path asked with another method is told 405 with Allow rather than 404.
// Filled before the server starts; read-only afterwards (any thread).
class RouteTable {
 public:
  struct Route {
    std::string method;
    std::string pattern;         // the metrics label
    std::string literal_prefix;  // what every matching path starts with: skips most regexes
    bool literal;                // the pattern is plain text: the path must equal it
    std::regex regex;
    RouteHandler handler;
  };

  void Get(const std::string& pattern, RouteHandler handler);
  void Post(const std::string& pattern, RouteHandler handler);
  void Delete(const std::string& pattern, RouteHandler handler);

  // The route for the request's method and path, with request.matches filled; null if none.
  const Route* Find(httplib::Request& request) const;

  // The methods registered for `path`, comma-separated ("" if the path is unknown).
  std::string AllowedMethods(const std::string& path) const;

 private:
  void Add(const std::string& method, const std::string& pattern, RouteHandler handler);

  std::vector<Route> routes_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_HTTP_ROUTE_TABLE_H_
