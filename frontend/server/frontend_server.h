#ifndef PARLEY_FRONTEND_SERVER_FRONTEND_SERVER_H_
#define PARLEY_FRONTEND_SERVER_FRONTEND_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "frontend/admin/admin_server.h"
#include "frontend/assets/web_assets.h"
#include "frontend/auth/app_token_verifier.h"
#include "frontend/broker/broker_client.h"
#include "frontend/frontend_options.h"
#include "frontend/http/frontend_metrics.h"
#include "frontend/http/poll_json.h"
#include "frontend/http/route_table.h"
#include "frontend/net/exchange.h"
#include "frontend/net/http_server.h"
#include "frontend/routes/route_context.h"
#include "frontend/session/login_limiter.h"
#include "frontend/session/session_gate.h"
#include "frontend/session/session_tokens.h"

namespace parley::frontend {

// The running frontend: the event-loop HTTP server (frontend/net), the checks in front of
// every route (draining, cross-origin, 404/405), the routes, and the broker client. Holds
// no chat state.
//
// Threads: the HTTP server's loop threads run the checks and start each route; broker
// answers finish them on the broker client's completion threads. Public methods are for one
// controlling thread (main, or a test).
class FrontendServer {
 public:
  // Binds and starts serving; `session_secret` keys the session tokens (non-empty).
  // `broker`: the broker to use (tests pass a fake); null: a BrokerClient to options.broker.
  static absl::StatusOr<std::unique_ptr<FrontendServer>> Start(
      const FrontendOptions& options, std::string session_secret,
      std::unique_ptr<BrokerApi> broker = nullptr);
  ~FrontendServer();  // Shutdown()

  int port() const { return http_->port(); }
  // The server API's port (options.admin); 0 when it is off.
  int admin_port() const { return admin_ != nullptr ? admin_->port() : 0; }
  // The metrics listener's port (options.metrics_listen); 0 when /metrics is on port().
  int metrics_port() const { return metrics_http_ != nullptr ? metrics_http_->port() : 0; }
  // Open client connections, idle keep-alive ones included.
  int open_connections() const { return http_->counters().connections.load(); }
  int loop_threads() const { return http_->loop_threads(); }

  // /readyz turns 503, new requests get 503, held long polls are answered at once (empty).
  void BeginShutdown();
  // BeginShutdown, then stops the HTTP server (answers in flight get up to the broker
  // timeout to finish) and waits for every broker call to end. Idempotent.
  void Shutdown();

 private:
  FrontendServer(const FrontendOptions& options, std::string session_secret,
                 std::unique_ptr<BrokerApi> broker);
  void AddRoutes();
  // On a loop thread, for every complete request.
  void Handle(const ExchangePtr& exchange);
  // On the metrics listener's loop thread: operator_routes_, nothing else.
  void HandleMetricsListener(const ExchangePtr& exchange) const;

  const FrontendOptions options_;
  PollStreamCounters stream_counters_;  // the broker client's streams count here
  SessionTokens tokens_;
  const std::unique_ptr<BrokerApi> broker_;
  const std::unique_ptr<AppTokenVerifier> app_tokens_;  // null under --auth=names
  SessionGate sessions_;
  WebAssets assets_;
  PollJson poll_json_{options_.json_cache_messages};
  HttpServerCounters connections_;  // the HTTP server counts here
  FrontendMetrics metrics_{&poll_json_, &connections_, &stream_counters_};
  LoginLimiter login_limiter_;
  std::atomic<bool> draining_{false};
  RouteContext context_;
  RouteTable routes_;
  // /metrics and /readyz/broker when options.metrics_listen gives them their own listener.
  RouteTable operator_routes_;
  std::unique_ptr<AdminServer> admin_;        // null unless options.admin
  std::unique_ptr<HttpServer> metrics_http_;  // null unless options.metrics_listen
  std::unique_ptr<HttpServer> http_;          // last: stopped first

  absl::Mutex shutdown_mu_;
  bool stopped_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SERVER_FRONTEND_SERVER_H_
