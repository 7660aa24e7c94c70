#include "frontend/net/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "frontend/net/http_response_writer.h"

namespace parley::frontend {
namespace {

// Output buffer capacity a connection keeps between answers (a poll's answer fits).
constexpr size_t kKeptOutputBytes = 16 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr absl::Duration kAcceptPause = absl::Milliseconds(100);  // after EMFILE
constexpr absl::Duration kLagProbeInterval = absl::Seconds(1);
constexpr absl::Duration kLinger = absl::Seconds(2);  // reading after our last answer

// A listening socket on host:port (a name, an IPv4 or an IPv6 address; the first address
// it resolves to), with SO_REUSEPORT so every loop can have its own.
int ListenSocket(const std::string& host, int port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int failed =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      failed != 0) {
    *error = absl::StrCat("cannot resolve ", host, ": ", gai_strerror(failed));
    return -1;
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = absl::StrCat("socket: ", strerror(errno));
    freeaddrinfo(found);
    return -1;
  }
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  const bool bound = bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, 4096) == 0;
  freeaddrinfo(found);
  if (!bound) {
    *error = absl::StrCat("cannot listen on ", host, ":", port, ": ", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return address.ss_family == AF_INET6
             ? ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port)
             : ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

// The cores this process may run on (its affinity mask: taskset, a container's cpuset).
int UsableCores() {
  cpu_set_t cores;
  CPU_ZERO(&cores);
  if (sched_getaffinity(0, sizeof cores, &cores) == 0 && CPU_COUNT(&cores) > 0) {
    return CPU_COUNT(&cores);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// The peer's address as text and its port.
std::pair<std::string, int> PeerOf(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return {text, ntohs(v6->sin6_port)};
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&peer);
  inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  return {text, ntohs(v4->sin_port)};
}

}  // namespace

// One loop: its thread, its listening socket and the connections it accepted.
struct HttpServer::Loop : public FdHandler {
  Loop(HttpServer* server, int listen_fd) : server(server), listen_fd(listen_fd) {}
  ~Loop() override {
    if (listen_fd >= 0) close(listen_fd);
  }
  void OnFdEvents(uint32_t events) override;
  void Accept();
  void Adopt(int fd, const sockaddr_storage& peer);
  void Forget(Connection* connection);  // on the loop; frees it after this turn
  bool CloseOldestIdle();
  void PauseAccepting();
  void ProbeLag();  // on the loop: one timer a second, measuring how late it fires

  HttpServer* const server;
  int listen_fd;
  bool accepting = true;
  bool draining = false;
  EventLoop loop;
  // Shared with the exchanges, which give their requests back when they end (on the loop)
  // and may outlive it.
  const std::shared_ptr<RequestPool> requests = std::make_shared<RequestPool>();
  std::thread thread;
  absl::flat_hash_map<Connection*, std::shared_ptr<Connection>> connections;
  // Keep-alive connections between requests, oldest first: a list threaded through the
  // connections themselves (Connection::idle_older_/idle_newer_), so a request costs no node.
  Connection* idle_oldest = nullptr;
  Connection* idle_newest = nullptr;
};

// A connection's Exchange. Respond() may come from any thread: it posts the answer to the
// connection's loop, or, on that loop outside the connection's own call to the routes, writes
// it at once. The connection tells it when the client has gone.
class ConnectionExchange final : public Exchange {
 public:
  ConnectionExchange(std::weak_ptr<HttpServer::Connection> connection, EventLoop* loop,
                     httplib::Request request, std::shared_ptr<RequestPool> pool)
      : connection_(std::move(connection)),
        loop_(loop),
        request_(std::move(request)),
        pool_(std::move(pool)) {}
  ~ConnectionExchange() override {
    if (pool_->OnOwnerThread()) pool_->Give(std::move(request_));
  }

  httplib::Request& request() override { return request_; }
  void Respond(httplib::Response response) override;
  void SetId(uint64_t id) { id_ = id; }  // before the routes see it
  void OnClientGone(absl::AnyInvocable<void()> callback) override {
    {
      absl::MutexLock lock(&mu_);
      if (!gone_) {
        on_gone_ = std::move(callback);
        return;
      }
    }
    callback();  // already gone: at once, on this thread
  }
  bool client_gone() const override {
    absl::MutexLock lock(&mu_);
    return gone_;
  }
  Executor* executor() override { return loop_; }
  // The connection's loop: the client left before the answer was written.
  void MarkGone() {
    absl::AnyInvocable<void()> callback;
    {
      absl::MutexLock lock(&mu_);
      if (gone_) return;
      gone_ = true;
      callback = std::move(on_gone_);
    }
    if (callback) callback();
  }

 private:
  const std::weak_ptr<HttpServer::Connection> connection_;
  EventLoop* const loop_;  // the server's: outlives its connections' exchanges' broker calls
  httplib::Request request_;
  const std::shared_ptr<RequestPool> pool_;
  uint64_t id_ = 0;
  std::atomic<bool> responded_{false};
  mutable absl::Mutex mu_;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  absl::AnyInvocable<void()> on_gone_ ABSL_GUARDED_BY(mu_);
};

// One client connection, on its loop's thread from accept to close. It is registered with
// epoll once, edge-triggered, for input, output and the peer's hangup (as nginx does): no
// epoll_ctl per state change. An edge is remembered (readable_) until a read finds the socket
// drained, a read shorter than asked for counting as drained (more data makes a new edge); so
// a request that arrives while another is being handled is read when its turn comes. States:
//   kReading   waiting for (the rest of) a request; idle when nothing of one has arrived
//   kHandling  an Exchange is out with the routes; only a hangup is watched for
//   kWriting   an answer is being written
//   kLingering the last answer is written and our side shut down; what the client still sends
//              is read and dropped until it closes or kLinger passes, so that closing with
//              unread bytes (a refused body, a request sent after our last answer) does not
//              reset the connection before the client has read the answer
//   kClosed
// One timer at a time: the idle keep-alive limit, the whole-request deadline (408), the
// write deadline, or the linger.
class HttpServer::Connection final : public FdHandler,
                                     public std::enable_shared_from_this<Connection> {
 public:
  Connection(Loop* loop, int fd, std::string remote_addr, int remote_port)
      : loop_(loop),
        server_(loop->server),
        fd_(fd),
        remote_addr_(std::move(remote_addr)),
        remote_port_(remote_port),
        parser_(server_->options_.limits, loop->requests.get()) {}
  ~Connection() override {
    if (fd_ >= 0) close(fd_);
  }

  void Begin() {
    // A request already here is reported by this registration's first event.
    loop_->loop.Watch(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
    EnterReading();
  }

  void OnFdEvents(uint32_t events) override {
    if (state_ == State::kClosed) return;
    if (events & (EPOLLERR | EPOLLHUP)) {
      Close(/*client_gone=*/true);
      return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP)) readable_ = true;
    if (events & EPOLLRDHUP) peer_closed_ = true;
    switch (state_) {
      case State::kHandling:
        if (peer_closed_) Close(/*client_gone=*/true);
        return;
      case State::kWriting:
        if (events & EPOLLOUT) Flush();
        return;
      case State::kLingering:
        if (readable_) DropInput();
        return;
      case State::kReading:
        if (readable_) ReadAndProcess();
        return;
      case State::kClosed:
        return;
    }
  }

  // From the exchange (posted to this loop): the routes' answer.
  void OnAnswer(uint64_t exchange_id, httplib::Response response) {
    if (state_ != State::kHandling || exchange_id != exchange_id_) return;
    exchange_.reset();
    const bool keep_alive = parser_.keep_alive() && !loop_->draining &&
                            requests_ < server_->options_.keep_alive_max_requests;
    WriteResponse(response, server_->header_block_, head_request_, keep_alive, &out_);
    close_after_write_ = !keep_alive;
    StartWriting();
  }

  bool idle() const { return state_ == State::kReading && !parser_.started(); }

  // Closes the connection; with `client_gone`, an exchange still out is told.
  void Close(bool client_gone) {
    if (state_ == State::kClosed) return;
    MarkIdle(false);
    state_ = State::kClosed;
    CancelTimer();
    close(fd_);  // leaves the epoll set with it
    fd_ = -1;
    if (exchange_ && client_gone) exchange_->MarkGone();
    exchange_.reset();
    loop_->Forget(this);
  }

 private:
  enum class State { kReading, kHandling, kWriting, kLingering, kClosed };

  void SetTimer(absl::Duration after, void (Connection::*expired)()) {
    CancelTimer();
    std::weak_ptr<Connection> self = weak_from_this();
    timer_ = loop_->loop.AddTimer(loop_->loop.now() + after, [self, expired] {
      if (auto connection = self.lock()) {
        connection->timer_ = 0;
        ((*connection).*expired)();
      }
    });
  }
  void CancelTimer() {
    if (timer_ != 0) loop_->loop.CancelTimer(timer_);
    timer_ = 0;
  }

  void EnterReading() {
    state_ = State::kReading;
    Process();  // a pipelined request may already be here
    // Input that came while the last request was out (its edge is not repeated).
    if (state_ == State::kReading && readable_) ReadAndProcess();
  }

  void MarkIdle(bool idle_now) {
    if (idle_now == in_idle_list_) return;
    in_idle_list_ = idle_now;
    if (idle_now) {  // the newest
      idle_older_ = loop_->idle_newest;
      idle_newer_ = nullptr;
      (idle_older_ != nullptr ? idle_older_->idle_newer_ : loop_->idle_oldest) = this;
      loop_->idle_newest = this;
      return;
    }
    (idle_older_ != nullptr ? idle_older_->idle_newer_ : loop_->idle_oldest) = idle_newer_;
    (idle_newer_ != nullptr ? idle_newer_->idle_older_ : loop_->idle_newest) = idle_older_;
    idle_older_ = idle_newer_ = nullptr;
  }

  void ReadAndProcess() {
    char buffer[kReadChunk];
    bool eof = false;
    while (true) {
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n > 0) {
        in_.append(buffer, static_cast<size_t>(n));
        if (in_.size() > server_->options_.limits.max_header_bytes +
                             server_->options_.limits.max_body_bytes + kReadChunk) {
          break;  // enough to decide on; the parser refuses what is too large
        }
        // Short: drained, unless the peer has closed (then read on to its end).
        if (static_cast<size_t>(n) < sizeof buffer && !peer_closed_) {
          readable_ = false;
          break;
        }
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) eof = true;  // reset
      readable_ = false;
      break;
    }
    if (eof) {
      // A client that closes (or half-closes) its side is gone: nothing more is answered.
      Close(/*client_gone=*/true);
      return;
    }
    Process();
  }

  void Process() {
    while (state_ == State::kReading) {
      const HttpRequestParser::Status status = parser_.Feed(in_);
      switch (status) {
        case HttpRequestParser::Status::kNeedMore:
          MarkIdle(!parser_.started());
          if (!parser_.started()) {
            SetTimer(requests_ == 0 ? server_->options_.read_timeout
                                    : server_->options_.keep_alive_timeout,
                     &Connection::OnIdleTimeout);
          } else if (!reading_deadline_set_) {
            reading_deadline_set_ = true;
            SetTimer(server_->options_.read_timeout, &Connection::OnReadTimeout);
          }
          return;
        case HttpRequestParser::Status::kHeadComplete:
          MarkIdle(false);
          if (!reading_deadline_set_) {
            reading_deadline_set_ = true;
            SetTimer(server_->options_.read_timeout, &Connection::OnReadTimeout);
          }
          if (parser_.expects_continue()) WriteNow("HTTP/1.1 100 Continue\r\n\r\n");
          continue;
        case HttpRequestParser::Status::kError:
          MarkIdle(false);
          Refuse(parser_.error());
          return;
        case HttpRequestParser::Status::kComplete:
          MarkIdle(false);
          Dispatch();
          return;
      }
    }
  }

  void Dispatch() {
    CancelTimer();
    reading_deadline_set_ = false;
    ++requests_;
    state_ = State::kHandling;
    head_request_ = parser_.request().method == "HEAD";
    httplib::Request request = parser_.TakeRequest();
    request.remote_addr = remote_addr_;
    request.remote_port = remote_port_;
    exchange_ = std::make_shared<ConnectionExchange>(weak_from_this(), &loop_->loop,
                                                     std::move(request), loop_->requests);
    exchange_id_ = ++exchange_counter_;
    exchange_->SetId(exchange_id_);
    dispatching_ = true;
    server_->handler_(exchange_);
    dispatching_ = false;
  }

  // The server's own refusal (408, 413, 414, 431, 400, ...): JSON, then close.
  void Refuse(const RequestError& error) {
    CancelTimer();
    httplib::Response response;
    response.status = error.status;
    server_->error_body_(error, response);
    WriteResponse(response, server_->header_block_, /*head=*/false, /*keep_alive=*/false, &out_);
    close_after_write_ = true;
    StartWriting();
  }

  void OnIdleTimeout() { Close(/*client_gone=*/false); }
  void OnReadTimeout() {
    Refuse({408, "request_timeout",
            absl::StrCat("the request did not arrive within ",
                         absl::FormatDuration(server_->options_.read_timeout))});
  }
  void OnWriteTimeout() { Close(/*client_gone=*/true); }

  void WriteNow(absl::string_view bytes) {
    // Small interim answers (100 Continue): best effort, the socket buffer is empty here.
    (void)!write(fd_, bytes.data(), bytes.size());
  }

  void StartWriting() {
    state_ = State::kWriting;
    written_ = 0;
    Flush();
    if (state_ == State::kWriting) {
      // The send that could not finish asked the socket for an EPOLLOUT edge.
      SetTimer(server_->options_.write_timeout, &Connection::OnWriteTimeout);
    }
  }

  void Flush() {
    while (written_ < out_.size()) {
      const ssize_t n = send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        Close(/*client_gone=*/true);
        return;
      }
      written_ += static_cast<size_t>(n);
    }
    // The buffer is kept for the next answer, unless a big one (a page, a script) grew it:
    // thousands of idle keep-alive connections should not each hold one.
    if (out_.capacity() > kKeptOutputBytes) {
      std::string().swap(out_);
    } else {
      out_.clear();
    }
    CancelTimer();
    if (close_after_write_) {
      Linger();
      return;
    }
    parser_.Reset();
    EnterReading();
  }

  void Linger() {
    state_ = State::kLingering;
    shutdown(fd_, SHUT_WR);  // the client sees the end of our answer
    SetTimer(kLinger, &Connection::OnLingerTimeout);
    DropInput();
  }

  // Reads and drops what the client sends after our last answer; closes at its end.
  void DropInput() {
    char buffer[kReadChunk];
    while (true) {
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        readable_ = false;
        return;
      }
      Close(/*client_gone=*/false);  // end of stream or an error: done
      return;
    }
  }

  void OnLingerTimeout() { Close(/*client_gone=*/false); }

  Loop* const loop_;
  HttpServer* const server_;
  int fd_;
  const std::string remote_addr_;
  const int remote_port_;
  State state_ = State::kReading;
  HttpRequestParser parser_;
  std::string in_;
  std::string out_;
  size_t written_ = 0;
  bool close_after_write_ = false;
  bool reading_deadline_set_ = false;
  bool head_request_ = false;  // the request being answered is a HEAD
  bool dispatching_ = false;   // the routes are handling a request on this thread right now
  bool readable_ = false;      // an input edge not yet read to its end
  bool peer_closed_ = false;   // EPOLLRDHUP seen: the client sends nothing more
  size_t requests_ = 0;
  EventLoop::TimerId timer_ = 0;
  std::shared_ptr<ConnectionExchange> exchange_;
  uint64_t exchange_id_ = 0;
  uint64_t exchange_counter_ = 0;
  bool in_idle_list_ = false;  // the loop's idle list, between these two
  Connection* idle_older_ = nullptr;
  Connection* idle_newer_ = nullptr;

  friend class ConnectionExchange;
};

void ConnectionExchange::Respond(httplib::Response response) {
  if (responded_.exchange(true)) return;
  // Through the connection, not a loop pointer of our own: once the connection is gone (the
  // client left, or the server stopped and freed it) there is nobody to answer, and the
  // loop itself may be gone too.
  std::shared_ptr<HttpServer::Connection> alive = connection_.lock();
  if (alive == nullptr) return;
  // On the loop already (a poll's answer, run there by the broker client) and not inside the
  // connection's own call to the routes: written now, without a post.
  if (loop_->InLoopThread() && !alive->dispatching_) {
    alive->OnAnswer(id_, std::move(response));
    return;
  }
  alive->loop_->loop.Post(
      [connection = connection_, id = id_, response = std::move(response)]() mutable {
        if (auto still = connection.lock()) still->OnAnswer(id, std::move(response));
      });
}

void HttpServer::Loop::OnFdEvents(uint32_t) { Accept(); }

void HttpServer::Loop::Accept() {
  while (accepting) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      if (errno == ECONNABORTED) continue;
      // EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays queued; stop asking
      // for a moment instead of spinning on a listener that stays readable.
      server->counters_->accept_errors.fetch_add(1);
      PauseAccepting();
      return;
    }
    Adopt(fd, peer);
  }
}

void HttpServer::Loop::PauseAccepting() {
  accepting = false;
  loop.Unwatch(listen_fd);
  loop.AddTimer(loop.now() + kAcceptPause, [this] {
    if (draining || listen_fd < 0) return;
    accepting = true;
    loop.Watch(listen_fd, EPOLLIN, this);
    Accept();
  });
}

void HttpServer::Loop::ProbeLag() {
  const absl::Time due = loop.now() + kLagProbeInterval;
  loop.AddTimer(due, [this, due] {
    const int64_t lag = absl::ToInt64Microseconds(loop.now() - due);
    std::atomic<int64_t>& worst = server->counters_->loop_lag_max_us;
    int64_t seen = worst.load();
    while (lag > seen && !worst.compare_exchange_weak(seen, lag)) {
    }
    if (!draining) ProbeLag();
  });
}

bool HttpServer::Loop::CloseOldestIdle() {
  if (idle_oldest == nullptr) return false;
  Connection* oldest = idle_oldest;
  oldest->Close(/*client_gone=*/false);
  server->counters_->idle_closed_for_room.fetch_add(1);
  return true;
}

void HttpServer::Loop::Adopt(int fd, const sockaddr_storage& peer) {
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  HttpServerCounters& counters = *server->counters_;
  if (static_cast<size_t>(counters.connections.load()) >= server->options_.max_connections &&
      !CloseOldestIdle()) {
    counters.refused_at_capacity.fetch_add(1);
    httplib::Response response;
    response.status = 503;
    server->error_body_({503, "at_capacity", "the server holds as many connections as it may"},
                        response);
    response.set_header("Retry-After", "1");
    std::string bytes;
    WriteResponse(response, server->header_block_, /*head=*/false, /*keep_alive=*/false, &bytes);
    (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    return;
  }
  auto [address, port] = PeerOf(peer);
  auto connection = std::make_shared<Connection>(this, fd, std::move(address), port);
  counters.connections.fetch_add(1);
  connections.emplace(connection.get(), connection);
  connection->Begin();
}

void HttpServer::Loop::Forget(Connection* connection) {
  auto it = connections.find(connection);
  if (it == connections.end()) return;
  // Freed after this turn: an event of this turn may still name it.
  loop.Post([doomed = std::move(it->second)] {});
  connections.erase(it);
  server->counters_->connections.fetch_sub(1);
}

HttpServer::HttpServer(const HttpServerOptions& options, RequestHandler handler,
                       ErrorRenderer error_body)
    : options_(options),
      handler_(std::move(handler)),
      header_block_(HeaderBlock(options.headers_on_every_answer)),
      error_body_(std::move(error_body)),
      counters_(options.counters != nullptr ? options.counters : &own_counters_) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              RequestHandler handler,
                                                              ErrorRenderer error_body) {
  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(handler), std::move(error_body)));
  const int loops = options.loops > 0 ? options.loops : UsableCores();
  int port = options.port;
  for (int i = 0; i < loops; ++i) {
    std::string error;
    const int fd = ListenSocket(options.host, port, &error);
    if (fd < 0) return absl::UnavailableError(error);
    port = BoundPort(fd);  // port 0: the others join the port the first one got
    server->loops_.push_back(std::make_unique<Loop>(server.get(), fd));
  }
  server->port_ = port;
  for (auto& loop : server->loops_) {
    loop->loop.Watch(loop->listen_fd, EPOLLIN, loop.get());
    loop->loop.Post([raw = loop.get()] { raw->ProbeLag(); });
    loop->thread = std::thread([raw = loop.get()] {
      raw->requests->Bind();
      raw->loop.Run();
    });
  }
  return server;
}

HttpServer::~HttpServer() { Stop(absl::ZeroDuration()); }

void HttpServer::Stop(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) {
    absl::Notification done;
    loop->loop.Post([raw = loop.get(), &done] {
      raw->draining = true;
      raw->accepting = false;
      raw->loop.Unwatch(raw->listen_fd);
      close(raw->listen_fd);
      raw->listen_fd = -1;
      while (raw->CloseOldestIdle()) {
      }
      done.Notify();
    });
    done.WaitForNotification();
  }
  const absl::Time give_up = absl::Now() + grace;
  while (counters_->connections.load() > 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (auto& loop : loops_) {
    absl::Notification done;
    loop->loop.Post([raw = loop.get(), &done] {
      std::vector<Connection*> left;
      for (auto& [connection, owner] : raw->connections) left.push_back(connection);
      for (Connection* connection : left) connection->Close(/*client_gone=*/true);
      done.Notify();
    });
    done.WaitForNotification();
    loop->loop.Stop();
    loop->thread.join();
  }
}

}  // namespace parley::frontend
