#ifndef PARLEY_FRONTEND_ROUTES_ROUTE_HELPERS_H_
#define PARLEY_FRONTEND_ROUTES_ROUTE_HELPERS_H_

#include <httplib.h>

#include <optional>

#include "absl/strings/string_view.h"
#include "frontend/routes/route_context.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"

namespace parley::frontend {

// The request's session, or nullopt after answering 401 (no valid token) or 403 (the
// session is not `path_user`'s, when given).
std::optional<Session> RequireSession(const RouteContext& context, const httplib::Request& request,
                                      httplib::Response& response,
                                      absl::string_view path_user = "");

// Answers a broker call's result: `message` as JSON, or the mapped error.
void AnswerBrokerCall(httplib::Response& response, const grpc::Status& status,
                      const google::protobuf::Message& message);

// Polls the broker for `session` (through SessionGate::WithReconnect), ending early if the
// client of the calling worker's connection goes away. True: `polled` has the answer (even if
// the client has just left: a consumed message is then lost as with any dropped answer).
// False: the error is answered: 499 `client_closed` for a poll cut short because the client
// left (nobody reads it; logs and metrics do), else the broker's error.
bool PollBroker(const RouteContext& context, const Session& session, const v1::PollRequest& request,
                v1::PollResponse* polled, httplib::Response& response);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ROUTES_ROUTE_HELPERS_H_
