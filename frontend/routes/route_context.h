#ifndef PARLEY_FRONTEND_ROUTES_ROUTE_CONTEXT_H_
#define PARLEY_FRONTEND_ROUTES_ROUTE_CONTEXT_H_

#include <atomic>

#include "frontend/assets/web_assets.h"
#include "frontend/broker/broker_api.h"
#include "frontend/frontend_options.h"
#include "frontend/http/frontend_metrics.h"
#include "frontend/http/poll_json.h"
#include "frontend/session/login_limiter.h"
#include "frontend/session/session_gate.h"

namespace parley::frontend {

// What every route handler needs. Everything pointed to is owned by FrontendServer and
// outlives every exchange and every broker call's `done` (FrontendServer::Shutdown quiesces
// the broker client before anything is destroyed); all of it is thread-safe: handlers run on
// the HTTP loop threads, their continuations on the broker client's completion threads.
struct RouteContext {
  const FrontendOptions* options;
  BrokerApi* broker;
  SessionGate* sessions;
  const WebAssets* assets;
  PollJson* poll_json;
  FrontendMetrics* metrics;
  LoginLimiter* login_limiter;
  const std::atomic<bool>* draining;  // shutting down: /readyz says 503
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ROUTES_ROUTE_CONTEXT_H_
