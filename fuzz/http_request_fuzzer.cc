// Raw HTTP requests, as bytes off a connection, through everything the frontend uses to read
// them: ConnectionStream (deadline, head caps), cpp-httplib's request parser (request line,
// headers, query and form decoding, bodies), then the helpers the routes parse with
// (session token, Origin, numeric query parameters, names, JSON bodies). Nothing may crash,
// and every request gets an answer or a closed connection.

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "broker/core/validation.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/server/connection_stream.h"
#include "frontend/session/session_tokens.h"
#include "parley/v1/http_api.pb.h"

namespace {

using parley::frontend::ConnectionStream;

// cpp-httplib's server with its request processing reachable without a listening socket.
class FuzzedServer : public httplib::Server {
 public:
  using httplib::Server::process_request;
};

FuzzedServer* MakeServer() {
  auto* server = new FuzzedServer;
  static const parley::frontend::SessionTokens tokens("fuzzing-secret-0123456789", absl::Hours(1));
  server->set_payload_max_length(16 * 1024);
  server->set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    parley::frontend::AddSecurityHeaders(response);
    if (parley::frontend::IsStateChanging(request) &&
        !parley::frontend::IsSameOriginOrUnstated(request)) {
      response.status = 403;
      return httplib::Server::HandlerResponse::Handled;
    }
    (void)tokens.Verify(parley::frontend::SessionTokenOf(request), absl::UnixEpoch());
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server->Get("/api/poll", [](const httplib::Request& request, httplib::Response& response) {
    for (const char* name : {"cursor", "epoch", "wait", "max"}) {
      if (!parley::frontend::QueryNumber(request, name, 0, 1000).ok()) response.status = 400;
    }
  });
  server->Post("/login", [](const httplib::Request& request, httplib::Response& response) {
    if (!parley::broker::ValidateName("name", request.get_param_value("name")).ok()) {
      response.status = 400;
    }
  });
  server->Post("/api/messages", [](const httplib::Request& request, httplib::Response& response) {
    parley::v1::PostMessageRequest body;
    if (!parley::frontend::ParseJson(request.body, &body).ok() ||
        !parley::broker::ValidateText(body.text(), 4096, 2000).ok()) {
      parley::frontend::WriteError(response, {400, "invalid_argument", "bad"});
    }
  });
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FuzzedServer* server = MakeServer();
  if (size > 64 * 1024) return 0;
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return 0;
  // The whole input is in the socket before reading starts, then end of stream: reads never
  // wait, so the deadline is never what ends a request.
  size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(ends[1], data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(ends[1], SHUT_WR);

  parley::frontend::RequestReadLimits limits;
  limits.write_timeout = absl::ZeroDuration();  // a full socket ends the connection
  limits.max_header_bytes = 4096;               // small, so the fuzzer reaches the caps
  limits.max_request_line_bytes = 1024;
  limits.max_header_lines = 20;
  ConnectionStream stream(ends[0], limits);
  constexpr int kRequestsPerConnection = 8;
  for (int i = 0; i < kRequestsPerConnection; ++i) {
    stream.BeginRequest();
    bool close_requested = false;
    if (!server->process_request(stream, i + 1 == kRequestsPerConnection, close_requested,
                                 nullptr) ||
        close_requested || stream.rejected()) {
      break;
    }
  }
  ::close(ends[0]);
  ::close(ends[1]);
  return 0;
}
