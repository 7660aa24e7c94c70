#include "frontend/http/route_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace parley::frontend {
namespace {

// The characters every path `pattern` matches must start with.
std::string LiteralPrefix(const std::string& pattern) {
  if (pattern.find('|') != std::string::npos) return "";  // alternatives: no common start
  size_t end = pattern.find_first_of(R"(.[]{}()\*+?^$)");
  if (end == std::string::npos) return pattern;
  // A quantifier applies to the character before it, which may then be absent.
  if (end > 0 && std::string_view("*+?{").find(pattern[end]) != std::string_view::npos) --end;
  return pattern.substr(0, end);
}

}  // namespace

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
  std::string prefix = LiteralPrefix(pattern);
  const bool literal = prefix == pattern;
  routes_.push_back(
      {method, pattern, std::move(prefix), literal, std::regex(pattern), std::move(handler)});
}

const RouteTable::Route* RouteTable::Find(httplib::Request& request) const {
  const bool head = request.method == "HEAD";  // served by the GET route
  for (const Route& route : routes_) {
    if (!(head ? route.method == "GET" : route.method == request.method)) continue;
    if (route.literal ? request.path == route.pattern
                      : absl::StartsWith(request.path, route.literal_prefix) &&
                            std::regex_match(request.path, request.matches, route.regex)) {
      return &route;
    }
  }
  return nullptr;
}

std::string RouteTable::AllowedMethods(const std::string& path) const {
  std::vector<std::string> methods;
  for (const Route& route : routes_) {
    if (!absl::StartsWith(path, route.literal_prefix) || !std::regex_match(path, route.regex)) {
      continue;
    }
    if (std::find(methods.begin(), methods.end(), route.method) == methods.end()) {
      methods.push_back(route.method);
    }
  }
  return absl::StrJoin(methods, ", ");
}

}  // namespace parley::frontend
