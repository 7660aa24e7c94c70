#ifndef PARLEY_FRONTEND_NET_EXCHANGE_H_
#define PARLEY_FRONTEND_NET_EXCHANGE_H_

#include <httplib.h>

#include <functional>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "common/executor.h"

namespace parley::frontend {

// One HTTP request and its answer: the seam between the server's connections and the
// routes. The server makes one when a request has fully arrived and hands it to the routes;
// they answer with Respond(), exactly once, from any thread, now or later (a held poll
// answers when its broker call completes). Nothing blocks a server thread while it waits.
//
// Thread-safe. The exchange may outlive its connection (the client left): Respond() is then
// a no-op.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // Valid for the exchange's whole life; the routes may fill `matches`.
  virtual httplib::Request& request() = 0;
  // Sends `response` (the server adds Content-Length, Connection and the security headers).
  // Only the first call counts.
  virtual void Respond(httplib::Response response) = 0;
  // `callback` runs once if the client goes away before the answer was written (on the
  // connection's loop thread, or at once on this thread if it has already gone). It should
  // cancel whatever the request started; it must not block.
  virtual void OnClientGone(absl::AnyInvocable<void()> callback) = 0;
  virtual bool client_gone() const = 0;
  // The thread the request arrived on (its connection's loop), where work for the answer
  // is best done; it outlives every broker call the routes start. Null: none in particular.
  virtual Executor* executor() = 0;
};

using ExchangePtr = std::shared_ptr<Exchange>;
// Called on a loop thread for each request; must return at once (start async work).
using RequestHandler = std::function<void(ExchangePtr)>;

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_NET_EXCHANGE_H_
