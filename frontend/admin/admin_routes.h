#ifndef PARLEY_FRONTEND_ADMIN_ADMIN_ROUTES_H_
#define PARLEY_FRONTEND_ADMIN_ADMIN_ROUTES_H_

#include "frontend/broker/broker_api.h"
#include "frontend/http/route_table.h"

namespace parley::frontend {

// The server API's routes under /admin/v1/ (docs/api.md "Server API"): JSON in and out, each
// one broker call of the server API (broker.proto). They trust whoever reaches them: the
// AdminServer lets only requests with a valid key through. `broker` outlives the routes.
void AddAdminRoutes(BrokerApi* broker, RouteTable& routes);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ADMIN_ADMIN_ROUTES_H_
