#include "frontend/routes/route_helpers.h"

#include "absl/strings/str_cat.h"

namespace parley::frontend {

RouteHandler WithContext(const RouteContext& context, ContextHandler handler) {
  return [&context, handler](const ExchangePtr& exchange) { handler(context, exchange); };
}

void RespondError(const ExchangePtr& exchange, const HttpError& error) {
  httplib::Response response;
  WriteError(response, error);
  exchange->Respond(std::move(response));
}

void RespondUnrouted(const RouteTable& routes, const ExchangePtr& exchange,
                     absl::string_view not_found) {
  const httplib::Request& request = exchange->request();
  const std::string allowed = routes.AllowedMethods(request.path);
  if (allowed.empty()) {
    RespondError(exchange, {404, "not_found", std::string(not_found)});
    return;
  }
  httplib::Response response;
  response.set_header("Allow", allowed);
  WriteError(response, {405, "method_not_allowed",
                        absl::StrCat(request.method, " is not allowed here; use ", allowed)});
  exchange->Respond(std::move(response));
}

void WriteRequestError(const RequestError& error, httplib::Response& response) {
  WriteError(response, {error.status, error.code, error.message, error.status == 503 ? 1 : 0});
}

void RespondJson(const ExchangePtr& exchange, const google::protobuf::Message& message) {
  httplib::Response response;
  WriteJson(response, message);
  exchange->Respond(std::move(response));
}

std::optional<Session> RequireSession(const RouteContext& context, const ExchangePtr& exchange,
                                      absl::string_view path_user) {
  absl::StatusOr<Session> session = context.sessions->Authenticate(exchange->request(), path_user);
  if (!session.ok()) {
    RespondError(exchange, FromStatus(session.status()));
    return std::nullopt;
  }
  return *std::move(session);
}

std::shared_ptr<HeldPoll> HeldPoll::Watch(const RouteContext& context, ExchangePtr exchange) {
  auto held = std::make_shared<HeldPoll>(context, exchange);
  exchange->OnClientGone([weak = std::weak_ptr<HeldPoll>(held)] {
    if (auto alive = weak.lock()) alive->ClientGone();
  });
  return held;
}

void HeldPoll::ClientGone() {
  std::shared_ptr<BrokerApi::PendingPoll> current;
  {
    absl::MutexLock lock(&mu_);
    gone_ = true;
    current = current_;
  }
  // Outside the lock: a cancelled poll may run its `done` inline.
  if (current != nullptr) current->Cancel();
}

void HeldPoll::Poll(const Session& session, const v1::PollRequest& request,
                    BrokerApi::Done<v1::PollResponse> done) {
  // Each attempt (a second one after reconnecting) becomes the poll a hangup cancels. The
  // attempt holds this object, so it lives until the last poll has answered.
  SessionGate::Attempt<v1::PollResponse> attempt = [self = shared_from_this(), request](
                                                       BrokerApi::Done<v1::PollResponse> finish) {
    bool gone;
    {
      absl::MutexLock lock(&self->mu_);
      gone = self->gone_;
    }
    if (gone) {
      finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client left"), v1::PollResponse());
      return;
    }
    std::shared_ptr<BrokerApi::PendingPoll> pending =
        self->context_.broker->PollAsync(request, self->exchange_->executor(), std::move(finish));
    bool gone_meanwhile;
    {
      absl::MutexLock lock(&self->mu_);
      self->current_ = pending;
      gone_meanwhile = self->gone_;
    }
    if (gone_meanwhile && pending != nullptr) pending->Cancel();
  };
  context_.sessions->WithReconnect<v1::PollResponse>(session, std::move(attempt), std::move(done));
}

void HeldPoll::RespondFailure(const grpc::Status& status) {
  if (exchange_->client_gone()) {
    RespondError(exchange_, {499, "client_closed", "the client closed the connection"});
  } else {
    RespondError(exchange_, FromGrpcStatus(status));
  }
}

}  // namespace parley::frontend
