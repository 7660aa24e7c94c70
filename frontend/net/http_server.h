#ifndef PARLEY_FRONTEND_NET_HTTP_SERVER_H_
#define PARLEY_FRONTEND_NET_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frontend/net/event_loop.h"
#include "frontend/net/exchange.h"
#include "frontend/net/http_request_parser.h"

namespace parley::frontend {

// Counters for metrics; read from any thread.
struct HttpServerCounters {
  std::atomic<int64_t> connections{0};
  std::atomic<uint64_t> accept_errors{0};  // EMFILE/ENFILE and the like
  std::atomic<uint64_t> refused_at_capacity{0};
  std::atomic<uint64_t> idle_closed_for_room{0};  // idle connections closed for a new one
  // The longest a loop was late for a timer (probed every second on every loop) since a
  // reader last took it (exchange(0)): how long a ready event may wait for its loop.
  std::atomic<int64_t> loop_lag_max_us{0};
};

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;
  int loops = 0;                    // loop threads; 0: one per core this process may run on
  size_t max_connections = 10'000;  // idle keep-alive connections count too
  absl::Duration read_timeout = absl::Seconds(10);   // a whole request: 408 beyond
  absl::Duration write_timeout = absl::Seconds(10);  // an answer the client does not read
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  size_t keep_alive_max_requests = 1000;
  RequestLimits limits;
  // Headers every answer carries, the server's own (408, 413, 431, 503...) included.
  std::vector<std::pair<std::string, std::string>> headers_on_every_answer;
  // Where the server counts (owned by the caller, outliving the server); null: its own.
  HttpServerCounters* counters = nullptr;
};

// An HTTP/1.1 server on a few epoll loops (EventLoop), one thread each, every loop accepting
// on its own SO_REUSEPORT socket. A connection lives on the loop that accepted it from accept
// to close: it reads and parses (HttpRequestParser, every limit of RequestLimits), hands each
// complete request to `handler` as an Exchange, waits for its answer without reading further
// (a pipelined request waits its turn), writes it, and keeps the connection alive or closes
// it. No thread is held by a waiting request, and an idle connection costs no CPU.
//
// Thread-safety: Start and Stop from one controlling thread; the counters from any.
class HttpServer {
 public:
  // `error_body` renders the JSON body of the server's own refusals.
  using ErrorRenderer = std::function<void(const RequestError&, httplib::Response&)>;

  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           RequestHandler handler,
                                                           ErrorRenderer error_body);
  ~HttpServer();  // Stop(absl::ZeroDuration())

  int port() const { return port_; }
  const HttpServerCounters& counters() const { return *counters_; }
  int loop_threads() const { return static_cast<int>(loops_.size()); }

  // Stops accepting and closes idle connections; answered connections close after their
  // answer. Waits up to `grace` for the others, then closes whatever is left and joins the
  // loops. Idempotent.
  void Stop(absl::Duration grace);

  class Connection;
  struct Loop;

 private:
  HttpServer(const HttpServerOptions& options, RequestHandler handler, ErrorRenderer error_body);

  const HttpServerOptions options_;
  const RequestHandler handler_;
  const std::string header_block_;  // options_.headers_on_every_answer, rendered once
  const ErrorRenderer error_body_;
  HttpServerCounters own_counters_;
  HttpServerCounters* const counters_;  // options.counters, else own_counters_
  std::vector<std::unique_ptr<Loop>> loops_;
  int port_ = 0;
  bool stopped_ = false;

  friend class Connection;
  friend struct Loop;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_NET_HTTP_SERVER_H_
