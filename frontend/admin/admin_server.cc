#include "frontend/admin/admin_server.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "frontend/admin/admin_routes.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/routes/route_helpers.h"

namespace parley::frontend {

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const AdminOptions& options,
                                                                BrokerApi* broker) {
  if (options.keys == nullptr) {
    return absl::InvalidArgumentError("the server API needs keys (--admin_keys_file)");
  }
  std::unique_ptr<AdminServer> admin(new AdminServer(options.keys));
  AddAdminRoutes(broker, admin->routes_);
  HttpServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.loops = 1;  // an app's backend, not thousands of browsers
  http.max_connections = 256;
  http.headers_on_every_answer = SecurityHeaders();
  const AdminServer* raw = admin.get();
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      http, [raw](ExchangePtr exchange) { raw->Handle(exchange); }, WriteRequestError);
  if (!server.ok()) return server.status();
  admin->http_ = *std::move(server);
  return admin;
}

void AdminServer::Handle(const ExchangePtr& exchange) const {
  const httplib::Request& request = exchange->request();
  if (!request.has_header("X-API-Key")) {
    RespondError(exchange, {401, "missing_api_key", "the server API needs an X-API-Key header"});
    return;
  }
  std::optional<std::string> key = keys_->NameOf(request.get_header_value("X-API-Key"));
  if (!key) {
    Log(LogLevel::kWarning, "admin_key_refused", {{"path", request.path}});
    RespondError(exchange, {401, "invalid_api_key", "the X-API-Key is not one of the keys"});
    return;
  }
  const RouteTable::Route* route = routes_.Find(exchange->request());
  if (route == nullptr) {
    RespondUnrouted(routes_, exchange, absl::StrCat("no such call: ", request.path));
    return;
  }
  Log(LogLevel::kInfo, "admin_call",
      {{"key", *key}, {"method", request.method}, {"path", request.path}});
  route->handler(exchange);
}

}  // namespace parley::frontend
