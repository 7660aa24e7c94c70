#ifndef PARLEY_FRONTEND_ROUTES_ROUTE_CONTEXT_H_
#define PARLEY_FRONTEND_ROUTES_ROUTE_CONTEXT_H_

#include "frontend/assets/web_assets.h"
#include "frontend/broker/broker_client.h"
#include "frontend/http/poll_json.h"
#include "frontend/server/frontend_metrics.h"
#include "frontend/server/frontend_options.h"
#include "frontend/server/hangup_watcher.h"
#include "frontend/session/login_limiter.h"
#include "frontend/session/session_gate.h"

namespace parley::frontend {

// What every route handler needs. Everything pointed to is owned by FrontendServer, outlives
// the routes, and is safe to use from every worker thread.
struct RouteContext {
  const FrontendOptions* options;
  BrokerClient* broker;
  SessionGate* sessions;
  const WebAssets* assets;
  PollJson* poll_json;
  FrontendMetrics* metrics;
  LoginLimiter* login_limiter;
  HangupWatcher* hangups;  // ends held polls whose client went away
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ROUTES_ROUTE_CONTEXT_H_
