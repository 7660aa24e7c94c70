#ifndef PARLEY_FRONTEND_ROUTES_PAGE_ROUTES_H_
#define PARLEY_FRONTEND_ROUTES_PAGE_ROUTES_H_

#include "frontend/http/route_table.h"
#include "frontend/routes/route_context.h"

namespace parley::frontend {

// The HTML pages and their assets: /, /login, /logout, /chatroom/<user>/, /static/<file>.
void AddPageRoutes(const RouteContext& context, RouteTable& routes);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ROUTES_PAGE_ROUTES_H_
