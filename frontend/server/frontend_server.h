#ifndef PARLEY_FRONTEND_SERVER_FRONTEND_SERVER_H_
#define PARLEY_FRONTEND_SERVER_FRONTEND_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "frontend/assets/web_assets.h"
#include "frontend/broker/broker_client.h"
#include "frontend/http/poll_json.h"
#include "frontend/http/route_table.h"
#include "frontend/routes/route_context.h"
#include "frontend/server/bounded_http_server.h"
#include "frontend/server/frontend_metrics.h"
#include "frontend/server/frontend_options.h"
#include "frontend/server/hangup_watcher.h"
#include "frontend/session/session_gate.h"
#include "frontend/session/session_tokens.h"

namespace parley::frontend {

// The running frontend: the cpp-httplib server (our task queue, timeouts, backlog), the
// checks in front of every route (draining, capacity, cross-origin), the routes, and the
// broker client. Holds no chat state.
//
// Threads: one listening thread (started by Start), one worker per open connection. Public
// methods are for one controlling thread (main, or a test).
class FrontendServer {
 public:
  // Binds and starts serving; `session_secret` keys the session tokens (non-empty).
  static absl::StatusOr<std::unique_ptr<FrontendServer>> Start(const FrontendOptions& options,
                                                               std::string session_secret);
  ~FrontendServer();  // Shutdown()

  int port() const { return port_; }
  int busy_connections() const { return busy_.load(); }

  // /readyz turns 503, new requests get 503, parked long polls are answered at once (empty).
  void BeginShutdown();
  // BeginShutdown, then stops listening and waits for the workers to finish. Idempotent.
  void Shutdown();

 private:
  FrontendServer(const FrontendOptions& options, std::string session_secret);
  void Configure();
  httplib::Server::HandlerResponse CheckBeforeRouting(const httplib::Request& request,
                                                      httplib::Response& response);
  void AnswerUnrouted(const httplib::Request& request, httplib::Response& response);

  const FrontendOptions options_;
  SessionTokens tokens_;
  BrokerClient broker_;
  SessionGate sessions_;
  WebAssets assets_;
  PollJson poll_json_{options_.json_cache_messages};
  FrontendMetrics metrics_{&poll_json_};
  LoginLimiter login_limiter_;
  HangupWatcher hangups_;  // before server_: outlives the workers
  RouteContext context_;
  BoundedHttpServer server_;
  RouteTable routes_{&server_};
  std::atomic<bool> draining_{false};
  std::atomic<int> busy_{0};
  std::atomic<int> listen_socket_{-1};
  int port_ = 0;
  std::thread listener_;

  absl::Mutex shutdown_mu_;
  bool stopped_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SERVER_FRONTEND_SERVER_H_
