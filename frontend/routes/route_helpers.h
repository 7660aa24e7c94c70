#ifndef PARLEY_FRONTEND_ROUTES_ROUTE_HELPERS_H_
#define PARLEY_FRONTEND_ROUTES_ROUTE_HELPERS_H_

#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "frontend/http/http_error.h"
#include "frontend/http/route_table.h"
#include "frontend/net/exchange.h"
#include "frontend/net/http_request_parser.h"
#include "frontend/routes/route_context.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"

namespace parley::frontend {

// A route handler of the form f(context, exchange), with `context` bound.
using ContextHandler = void (*)(const RouteContext& context, const ExchangePtr& exchange);
RouteHandler WithContext(const RouteContext& context, ContextHandler handler);

// Answers `error` as JSON.
void RespondError(const ExchangePtr& exchange, const HttpError& error);
// The answer to a request no route of `routes` takes: 405 with Allow when the path has routes
// for other methods, else 404 with `not_found`.
void RespondUnrouted(const RouteTable& routes, const ExchangePtr& exchange,
                     absl::string_view not_found);
// The HTTP server's answer to a request it could not read (HttpServer's ErrorRenderer): the
// usual JSON error, Retry-After: 1 with a 503.
void WriteRequestError(const RequestError& error, httplib::Response& response);
// Answers `message` as JSON (200).
void RespondJson(const ExchangePtr& exchange, const google::protobuf::Message& message);

// The `done` of a broker call whose answer goes to the client as it is: the message as
// JSON, or the mapped error.
template <typename Response>
BrokerApi::Done<Response> AnswerWith(ExchangePtr exchange) {
  return [exchange = std::move(exchange)](grpc::Status status, Response response) {
    if (status.ok()) {
      RespondJson(exchange, response);
    } else {
      RespondError(exchange, FromGrpcStatus(status));
    }
  };
}

// Calls `method` with `request` for `session` through SessionGate::WithReconnect and answers
// its result as AnswerWith does.
template <typename Request, typename Response>
void CallAndAnswer(const RouteContext& context, const ExchangePtr& exchange, const Session& session,
                   Request request,
                   void (BrokerApi::*method)(const Request&, BrokerApi::Done<Response>)) {
  context.sessions->WithReconnect<Response>(
      session,
      [broker = context.broker, request = std::move(request),
       method](BrokerApi::Done<Response> done) { (broker->*method)(request, std::move(done)); },
      AnswerWith<Response>(exchange));
}

// The request's session, or nullopt after answering 401 (no valid token) or 403 (the
// session is not `path_user`'s, when given).
std::optional<Session> RequireSession(const RouteContext& context, const ExchangePtr& exchange,
                                      absl::string_view path_user = "");

// The long polls of one exchange (one for /api/poll, several in turn for the seed's
// /get_post): each goes to the broker through SessionGate::WithReconnect, and the poll in
// flight is cancelled as soon as the client goes away. Made by Watch (which registers with
// the exchange); thread-safe.
class HeldPoll : public std::enable_shared_from_this<HeldPoll> {
 public:
  static std::shared_ptr<HeldPoll> Watch(const RouteContext& context, ExchangePtr exchange);

  // Polls the broker; `done` gets its answer. After the client left: CANCELLED.
  void Poll(const Session& session, const v1::PollRequest& request,
            BrokerApi::Done<v1::PollResponse> done);

  // Answers a failed poll: 499 `client_closed` if the client left (nobody reads it; logs and
  // metrics do), else the broker's error.
  void RespondFailure(const grpc::Status& status);

  HeldPoll(const RouteContext& context, ExchangePtr exchange)
      : context_(context), exchange_(std::move(exchange)) {}

 private:
  void ClientGone();

  const RouteContext& context_;
  const ExchangePtr exchange_;
  absl::Mutex mu_;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<BrokerApi::PendingPoll> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ROUTES_ROUTE_HELPERS_H_
