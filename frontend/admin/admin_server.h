#ifndef PARLEY_FRONTEND_ADMIN_ADMIN_SERVER_H_
#define PARLEY_FRONTEND_ADMIN_ADMIN_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frontend/admin/api_keys.h"
#include "frontend/broker/broker_api.h"
#include "frontend/frontend_options.h"
#include "frontend/http/route_table.h"
#include "frontend/net/exchange.h"
#include "frontend/net/http_server.h"

namespace parley::frontend {

// The server API on a listener of its own (--admin_listen), never the public port: the app's
// backend acts on the chat here (admin_routes.h), each request with a key in X-API-Key. A
// request without one is answered 401 missing_api_key, a wrong one 401 invalid_api_key; each
// accepted request is logged with the name of its key.
//
// Threads: the HTTP server's loop threads check the key and start each route; broker answers
// finish them on the broker client's threads. Start and Stop from one controlling thread.
class AdminServer {
 public:
  // `broker` outlives the server (and every answer it starts).
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const AdminOptions& options,
                                                            BrokerApi* broker);

  int port() const { return http_->port(); }
  // Stops listening and waits up to `grace` for answers in flight.
  void Stop(absl::Duration grace) { http_->Stop(grace); }

 private:
  explicit AdminServer(std::shared_ptr<const ApiKeys> keys) : keys_(std::move(keys)) {}
  void Handle(const ExchangePtr& exchange) const;

  const std::shared_ptr<const ApiKeys> keys_;
  RouteTable routes_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ADMIN_ADMIN_SERVER_H_
