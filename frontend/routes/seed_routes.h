#ifndef PARLEY_FRONTEND_ROUTES_SEED_ROUTES_H_
#define PARLEY_FRONTEND_ROUTES_SEED_ROUTES_H_

#include "frontend/http/route_table.h"
#include "frontend/routes/route_context.h"

namespace parley::frontend {

// The original tutorial's routes, so its page and scripts keep working:
// POST /put_post/<user> (form field message) publishes to the lobby;
// GET or POST /get_post/<user> answers the JSON string of the user's next lobby chat line, or
// "" after --seed_wait with none. Each line reaches each user's /get_post once.
void AddSeedRoutes(const RouteContext& context, RouteTable& routes);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ROUTES_SEED_ROUTES_H_
