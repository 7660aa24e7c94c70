#include "frontend/http/route_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_join.h"

namespace parley::frontend {

void RouteTable::Get(const std::string& pattern, RouteHandler handler) {
  Add("GET", pattern, std::move(handler));
}

void RouteTable::Post(const std::string& pattern, RouteHandler handler) {
  Add("POST", pattern, std::move(handler));
}

void RouteTable::Delete(const std::string& pattern, RouteHandler handler) {
  Add("DELETE", pattern, std::move(handler));
}

void RouteTable::Add(const std::string& method, const std::string& pattern, RouteHandler handler) {
  routes_.push_back({method, pattern, std::regex(pattern), std::move(handler)});
}

const RouteTable::Route* RouteTable::Find(httplib::Request& request) const {
  const bool head = request.method == "HEAD";  // served by the GET route
  for (const Route& route : routes_) {
    if ((head ? route.method == "GET" : route.method == request.method) &&
        std::regex_match(request.path, request.matches, route.regex)) {
      return &route;
    }
  }
  return nullptr;
}

std::string RouteTable::AllowedMethods(const std::string& path) const {
  std::vector<std::string> methods;
  for (const Route& route : routes_) {
    if (!std::regex_match(path, route.regex)) continue;
    if (std::find(methods.begin(), methods.end(), route.method) == methods.end()) {
      methods.push_back(route.method);
    }
  }
  return absl::StrJoin(methods, ", ");
}

}  // namespace parley::frontend
