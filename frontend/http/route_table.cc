#include "frontend/http/route_table.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_join.h"

namespace parley::frontend {
namespace {

thread_local const std::string* current_route = nullptr;

}  // namespace

httplib::Server::Handler RouteTable::Labelled(const std::string& pattern,
                                              httplib::Server::Handler handler) {
  auto label = std::make_shared<const std::string>(pattern);
  return [label, handler = std::move(handler)](const httplib::Request& request,
                                               httplib::Response& response) {
    current_route = label.get();
    handler(request, response);
  };
}

std::string RouteTable::TakeCurrentRoute() {
  std::string route = current_route != nullptr ? *current_route : "unrouted";
  current_route = nullptr;
  return route;
}

void RouteTable::Get(const std::string& pattern, httplib::Server::Handler handler) {
  server_->Get(pattern, Labelled(pattern, std::move(handler)));
  Remember("GET", pattern);
}

void RouteTable::Post(const std::string& pattern, httplib::Server::Handler handler) {
  server_->Post(pattern, Labelled(pattern, std::move(handler)));
  Remember("POST", pattern);
}

void RouteTable::Delete(const std::string& pattern, httplib::Server::Handler handler) {
  server_->Delete(pattern, Labelled(pattern, std::move(handler)));
  Remember("DELETE", pattern);
}

void RouteTable::Remember(const std::string& method, const std::string& pattern) {
  routes_.push_back({method, std::regex(pattern)});
}

std::string RouteTable::AllowedMethods(const std::string& path) const {
  std::vector<std::string> methods;
  for (const Route& route : routes_) {
    if (!std::regex_match(path, route.pattern)) continue;
    if (std::find(methods.begin(), methods.end(), route.method) == methods.end()) {
      methods.push_back(route.method);
    }
  }
  return absl::StrJoin(methods, ", ");
}

}  // namespace parley::frontend
