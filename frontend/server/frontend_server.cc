#include "frontend/server/frontend_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/http_listener.h"
#include "common/log.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/routes/api_routes.h"
#include "frontend/routes/page_routes.h"
#include "frontend/routes/seed_routes.h"
#include "frontend/server/connection_task_queue.h"

namespace parley::frontend {
namespace {

constexpr int kListenBacklog = 4096;  // cpp-httplib 0.11.4 listens with a backlog of 5
constexpr size_t kSpareThreads = 64;  // beyond --max_connections, to answer 503 at once

}  // namespace

FrontendServer::FrontendServer(const FrontendOptions& options, std::string session_secret)
    : options_(options),
      tokens_(std::move(session_secret), options.session_lifetime),
      broker_(options.broker, options.broker_credentials, options.broker_timeout,
              options.poll_margin, options.broker_channels),
      sessions_(&broker_, &tokens_),
      assets_(options.web_root),
      login_limiter_(options.login_rate_per_minute, options.login_burst),
      context_{&options_,   &broker_,  &sessions_,      &assets_,
               &poll_json_, &metrics_, &login_limiter_, &hangups_} {}

absl::StatusOr<std::unique_ptr<FrontendServer>> FrontendServer::Start(
    const FrontendOptions& options, std::string session_secret) {
  std::unique_ptr<FrontendServer> frontend(new FrontendServer(options, std::move(session_secret)));
  frontend->Configure();
  frontend->port_ =
      options.port == 0
          ? frontend->server_.bind_to_any_port(options.host)
          : (frontend->server_.bind_to_port(options.host, options.port) ? options.port : -1);
  if (frontend->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  // Linux lets listen() be called again to raise the backlog of a listening socket.
  ::listen(frontend->listen_socket_.load(), kListenBacklog);
  frontend->listener_ = ListenInBackground(frontend->server_);
  return frontend;
}

FrontendServer::~FrontendServer() { Shutdown(); }

void FrontendServer::Configure() {
  server_.new_task_queue = [this] {
    return new ConnectionTaskQueue(options_.max_connections + kSpareThreads,
                                   options_.thread_stack_bytes, options_.idle_thread_timeout,
                                   &busy_);
  };
  server_.set_socket_options([this](socket_t socket) {
    int on = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // not SO_REUSEPORT
    listen_socket_.store(socket);
  });
  server_.set_tcp_nodelay(true);
  server_.set_payload_max_length(options_.max_body_bytes);
  RequestReadLimits limits;
  limits.request_timeout = options_.read_timeout;
  limits.write_timeout = options_.write_timeout;
  limits.max_header_bytes = options_.max_header_bytes;
  server_.SetLimits(limits, options_.keep_alive_timeout, options_.keep_alive_max_requests);
  server_.set_pre_routing_handler(
      [this](const httplib::Request& q, httplib::Response& r) { return CheckBeforeRouting(q, r); });
  server_.set_error_handler(
      [this](const httplib::Request& q, httplib::Response& r) { AnswerUnrouted(q, r); });
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& r, std::exception_ptr) {
        WriteError(r, {500, "internal", "the request failed inside the frontend"});
      });
  server_.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    const std::string route = RouteTable::TakeCurrentRoute();
    metrics_.CountRequest(route, response.status);
    if (LogEnabled(LogLevel::kDebug)) {  // the path, never the query or the body
      Log(LogLevel::kDebug, "http_request",
          {{"method", request.method},
           {"path", request.path},
           {"route", route},
           {"status", response.status},
           {"remote", request.remote_addr}});
    }
  });
  routes_.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  AddApiRoutes(context_, &draining_, routes_);
  AddPageRoutes(context_, routes_);
  AddSeedRoutes(context_, routes_);
}

httplib::Server::HandlerResponse FrontendServer::CheckBeforeRouting(const httplib::Request& request,
                                                                    httplib::Response& response) {
  AddSecurityHeaders(response);
  if (draining_.load()) {
    response.set_header("Connection", "close");
    WriteError(response, {503, "draining", "the frontend is shutting down", 1});
    return httplib::Server::HandlerResponse::Handled;
  }
  if (busy_.load() > static_cast<int>(options_.max_connections)) {
    response.set_header("Connection", "close");
    WriteError(response, {503, "at_capacity", "too many open connections; try again", 1});
    return httplib::Server::HandlerResponse::Handled;
  }
  if (IsStateChanging(request) && !IsSameOriginOrUnstated(request)) {
    WriteError(response, {403, "cross_origin", "cross-origin requests may not change state"});
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

void FrontendServer::AnswerUnrouted(const httplib::Request& request, httplib::Response& response) {
  if (!response.body.empty()) return;  // a route already wrote its own error
  if (response.status == 404) {
    const std::string allowed = routes_.AllowedMethods(request.path);
    if (!allowed.empty()) {
      response.set_header("Allow", allowed);
      WriteError(response, {405, "method_not_allowed",
                            absl::StrCat(request.method, " is not allowed here; use ", allowed)});
      return;
    }
    WriteError(response, {404, "not_found", absl::StrCat("no such page: ", request.path)});
    return;
  }
  if (response.status == 413) {
    WriteError(response, {413, "too_large",
                          absl::StrCat("the body is over ", options_.max_body_bytes, " bytes")});
    return;
  }
  WriteError(response, {response.status, "bad_request", "the request could not be read"});
}

void FrontendServer::BeginShutdown() {
  draining_.store(true);
  broker_.CancelPolls();
}

void FrontendServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (stopped_) return;
  stopped_ = true;
  BeginShutdown();
  server_.Interrupt();  // idle keep-alive connections close now instead of timing out
  server_.stop();
  if (listener_.joinable()) listener_.join();
}

}  // namespace parley::frontend
