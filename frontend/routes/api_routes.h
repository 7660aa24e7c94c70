#ifndef PARLEY_FRONTEND_ROUTES_API_ROUTES_H_
#define PARLEY_FRONTEND_ROUTES_API_ROUTES_H_

#include "frontend/http/route_table.h"
#include "frontend/routes/route_context.h"

namespace parley::frontend {

// The JSON API (/api/...) and the probes (/healthz, /readyz).
void AddApiRoutes(const RouteContext& context, RouteTable& routes);
// GET /readyz/broker: whether the broker answers (a Stats call), for operators.
void AddBrokerStateRoute(const RouteContext& context, RouteTable& routes);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ROUTES_API_ROUTES_H_
