#include "frontend/server/frontend_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/routes/api_routes.h"
#include "frontend/routes/page_routes.h"
#include "frontend/routes/route_helpers.h"
#include "frontend/routes/seed_routes.h"

namespace parley::frontend {
namespace {

// An exchange as a chat route sees it: answers are counted by route pattern and status (and
// logged at debug level) on their way out, and a 401 clears the session cookie: a session
// refused (expired, logged out elsewhere, revoked by the app, lost by the store; by the
// session check or by the broker) leaves the browser too, or a cookie whose MAC still holds
// would send the page from /login back to the chat, and round again. (The server API's 401s,
// for API keys, are not the chat's and set no cookie.) Thread-safe as the exchange it wraps.
class CountedExchange final : public Exchange {
 public:
  CountedExchange(ExchangePtr inner, std::string route, FrontendMetrics* metrics)
      : inner_(std::move(inner)), route_(std::move(route)), metrics_(metrics) {}

  httplib::Request& request() override { return inner_->request(); }
  void Respond(httplib::Response response) override {
    if (responded_.exchange(true)) return;
    const int status = response.status == -1 ? 200 : response.status;
    if (status == 401) response.set_header("Set-Cookie", ClearedSessionCookie());
    metrics_->CountRequest(route_, status);
    if (LogEnabled(LogLevel::kDebug)) {  // the path, never the query or the body
      const httplib::Request& request = inner_->request();
      Log(LogLevel::kDebug, "http_request",
          {{"method", request.method},
           {"path", request.path},
           {"route", route_},
           {"status", status},
           {"remote", request.remote_addr}});
    }
    inner_->Respond(std::move(response));
  }
  void OnClientGone(absl::AnyInvocable<void()> callback) override {
    inner_->OnClientGone(std::move(callback));
  }
  bool client_gone() const override { return inner_->client_gone(); }
  Executor* executor() override { return inner_->executor(); }

 private:
  const ExchangePtr inner_;
  const std::string route_;
  FrontendMetrics* const metrics_;
  std::atomic<bool> responded_{false};
};

HttpServerOptions HttpOptionsOf(const FrontendOptions& options, HttpServerCounters* counters) {
  HttpServerOptions http;
  http.counters = counters;
  http.headers_on_every_answer = SecurityHeaders();
  http.host = options.host;
  http.port = options.port;
  http.loops = options.loops;
  http.max_connections = options.max_connections;
  http.read_timeout = options.read_timeout;
  http.write_timeout = options.write_timeout;
  http.keep_alive_timeout = options.keep_alive_timeout;
  http.keep_alive_max_requests = options.keep_alive_max_requests;
  http.limits.max_header_bytes = options.max_header_bytes;
  http.limits.max_body_bytes = options.max_body_bytes;
  return http;
}

}  // namespace

FrontendServer::FrontendServer(const FrontendOptions& options, std::string session_secret,
                               std::unique_ptr<BrokerApi> broker)
    : options_(options),
      tokens_(std::move(session_secret), options.session_lifetime),
      broker_(broker != nullptr
                  ? std::move(broker)
                  : std::make_unique<BrokerClient>(BrokerClientOptions{
                        options.broker, options.broker_credentials, options.broker_timeout,
                        options.poll_margin, options.broker_channels, options.poll_stream,
                        &stream_counters_, options.broker_count, options.stream_max_age})),
      app_tokens_(options.jwt_keys != nullptr ? std::make_unique<AppTokenVerifier>(
                                                    options.jwt_keys.get(), options.jwt_policy)
                                              : nullptr),
      sessions_(broker_.get(), &tokens_, options.auth, app_tokens_.get()),
      assets_(options.web_root),
      login_limiter_(options.login_rate_per_minute, options.login_burst),
      context_{&options_,   broker_.get(), &sessions_,      &assets_,
               &poll_json_, &metrics_,     &login_limiter_, &draining_} {}

absl::StatusOr<std::unique_ptr<FrontendServer>> FrontendServer::Start(
    const FrontendOptions& options, std::string session_secret, std::unique_ptr<BrokerApi> broker) {
  if ((options.auth == AuthMode::kNames) != (options.jwt_keys == nullptr)) {
    return absl::InvalidArgumentError(
        options.auth == AuthMode::kNames
            ? "--auth=names takes no token keys"
            : "--auth=tokens and --auth=both need a key: --jwt_secret_file, PARLEY_JWT_SECRET "
              "or --jwt_keys");
  }
  std::unique_ptr<FrontendServer> frontend(
      new FrontendServer(options, std::move(session_secret), std::move(broker)));
  frontend->AddRoutes();
  FrontendServer* raw = frontend.get();
  absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(
      HttpOptionsOf(options, &frontend->connections_),
      [raw](ExchangePtr exchange) { raw->Handle(exchange); }, WriteRequestError);
  if (!http.ok()) return http.status();
  frontend->http_ = *std::move(http);
  if (options.metrics_listen) {
    HttpServerOptions metrics;
    metrics.host = options.metrics_listen->host;
    metrics.port = options.metrics_listen->port;
    metrics.loops = 1;  // a scraper or two
    metrics.max_connections = 64;
    metrics.headers_on_every_answer = SecurityHeaders();
    absl::StatusOr<std::unique_ptr<HttpServer>> listener = HttpServer::Start(
        metrics, [raw](ExchangePtr exchange) { raw->HandleMetricsListener(exchange); },
        WriteRequestError);
    if (!listener.ok()) return listener.status();
    frontend->metrics_http_ = *std::move(listener);
  }
  if (options.admin) {
    absl::StatusOr<std::unique_ptr<AdminServer>> admin =
        AdminServer::Start(*options.admin, frontend->broker_.get());
    if (!admin.ok()) return admin.status();
    frontend->admin_ = *std::move(admin);
  }
  return frontend;
}

FrontendServer::~FrontendServer() { Shutdown(); }

void FrontendServer::AddRoutes() {
  // What operators ask: on the metrics listener when there is one, else on the public port.
  RouteTable& operator_routes = options_.metrics_listen ? operator_routes_ : routes_;
  operator_routes.Get("/metrics", [this](const ExchangePtr& exchange) {
    httplib::Response response;
    response.set_content(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
    exchange->Respond(std::move(response));
  });
  AddBrokerStateRoute(context_, operator_routes);
  AddApiRoutes(context_, routes_);
  AddPageRoutes(context_, routes_);
  AddSeedRoutes(context_, routes_);
}

void FrontendServer::Handle(const ExchangePtr& exchange) {
  httplib::Request& request = exchange->request();
  const RouteTable::Route* route = routes_.Find(request);
  auto counted = std::make_shared<CountedExchange>(
      exchange, route != nullptr ? route->pattern : "unrouted", &metrics_);
  if (draining_.load()) {
    RespondError(counted, {503, "draining", "the frontend is shutting down", 1});
    return;
  }
  if (IsStateChanging(request) && !IsSameOriginOrUnstated(request)) {
    RespondError(counted, {403, "cross_origin", "cross-origin requests may not change state"});
    return;
  }
  if (route == nullptr) {
    RespondUnrouted(routes_, counted, absl::StrCat("no such page: ", request.path));
    return;
  }
  route->handler(counted);
}

void FrontendServer::HandleMetricsListener(const ExchangePtr& exchange) const {
  httplib::Request& request = exchange->request();  // Find fills in the path matches
  if (const RouteTable::Route* route = operator_routes_.Find(request); route != nullptr) {
    route->handler(exchange);
    return;
  }
  RespondUnrouted(operator_routes_, exchange, "this listener serves /metrics and /readyz/broker");
}

void FrontendServer::BeginShutdown() {
  draining_.store(true);
  broker_->CancelPolls();
}

void FrontendServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (stopped_) return;
  stopped_ = true;
  BeginShutdown();
  // Unary calls in flight end within the broker timeout; their answers still go out.
  if (http_ != nullptr) http_->Stop(options_.broker_timeout + absl::Seconds(1));
  if (admin_ != nullptr) admin_->Stop(options_.broker_timeout + absl::Seconds(1));
  if (metrics_http_ != nullptr) metrics_http_->Stop(absl::Seconds(1));
  broker_->Quiesce();  // no `done` runs after this: the routes' context may go
}

}  // namespace parley::frontend
