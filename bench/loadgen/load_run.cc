#include "bench/loadgen/load_run.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/loadgen/syscall_counter.h"

namespace parley::bench {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kRetryDelayNs = 100'000'000;  // after an error, re-poll 100 ms later
constexpr int64_t kRequestTimeoutNs = 60'000'000'000;

double PerDelivery(double total, int64_t delivered) {
  return delivered > 0 ? total / static_cast<double>(delivered) : 0;
}

// Each server process's CPU, system calls and context switches between two samples, per
// delivery, as a JSON array; the totals of the calls and switches (a null count: not known).
std::string ProcessesJson(const ProcessSample& start, const ProcessSample& finish,
                          const std::vector<std::optional<int64_t>>& syscalls, int64_t delivered,
                          std::string* syscalls_total, double* switches_total) {
  std::vector<std::string> rows;
  int64_t calls = 0;
  bool calls_known = !syscalls.empty();
  int64_t switches = 0;
  for (size_t i = 0; i < finish.processes.size() && i < start.processes.size(); ++i) {
    const ProcessCounters& before = start.processes[i];
    const ProcessCounters& after = finish.processes[i];
    const int64_t process_switches = after.context_switches - before.context_switches;
    switches += process_switches;
    const std::optional<int64_t> process_calls =
        i < syscalls.size() ? syscalls[i] : std::optional<int64_t>();
    calls_known = calls_known && process_calls.has_value();
    if (process_calls.has_value()) calls += *process_calls;
    rows.push_back(absl::StrFormat(
        R"({"pid": %d, "name": "%s", "cpu_us_per_delivery": %.2f, "syscalls_per_delivery": %s, "context_switches_per_delivery": %.3f})",
        after.pid, after.name,
        PerDelivery((after.cpu_seconds - before.cpu_seconds) * 1e6, delivered),
        process_calls.has_value()
            ? absl::StrFormat("%.3f", PerDelivery(static_cast<double>(*process_calls), delivered))
            : "null",
        PerDelivery(static_cast<double>(process_switches), delivered)));
  }
  *syscalls_total =
      calls_known ? absl::StrFormat("%.3f", PerDelivery(static_cast<double>(calls), delivered))
                  : "null";
  *switches_total = PerDelivery(static_cast<double>(switches), delivered);
  return absl::StrCat("[", absl::StrJoin(rows, ",\n               "), "]");
}

}  // namespace

struct LoadRun::Connection {
  int fd = -1;
  bool subscriber = true;
  int index = 0;
  bool connected = false;
  bool awaiting = false;  // a request is outstanding
  bool polling = false;   // the outstanding request is a poll (a storm polls during setup)
  std::string out;
  size_t written = 0;
  HttpResponseParser parser;
  HttpRequest last;  // resent on a new connection if this one breaks (subscribers)
  int64_t sent_ns = 0;
  int sequence = -1;  // publishers: the message in flight
};

LoadRun::LoadRun(LoadOptions options, std::unique_ptr<Protocol> protocol)
    : options_(std::move(options)),
      protocol_(std::move(protocol)),
      host_header_(absl::StrCat(options_.host, ":", options_.port)),
      states_(options_.subscribers),
      subscriber_connections_(options_.subscribers, nullptr),
      retry_at_ns_(options_.subscribers, 0),
      failed_(options_.subscribers, false),
      setup_attempts_(options_.subscribers, 0) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < options_.subscribers; ++i) states_[i].index = i;
  std::random_device random;
  tracker_ = std::make_unique<DeliveryTracker>(random(), options_.subscribers);
}

LoadRun::~LoadRun() {
  for (auto& connection : owned_) {
    if (connection->fd >= 0) close(connection->fd);
  }
  close(epoll_);
}

LoadRun::Connection* LoadRun::Open(bool subscriber, int index, bool track) {
  auto connection = std::make_unique<Connection>();
  connection->subscriber = subscriber;
  connection->index = index;
  connection->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(connection->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options_.port));
  inet_pton(AF_INET, options_.host.c_str(), &address.sin_addr);
  if (connect(connection->fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS) {
    Error("connect");
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = connection.get();
  epoll_ctl(epoll_, EPOLL_CTL_ADD, connection->fd, &event);
  Connection* raw = connection.get();
  owned_.push_back(std::move(connection));
  if (subscriber && track) subscriber_connections_[index] = raw;
  return raw;
}

void LoadRun::Close(Connection* connection) {
  if (connection->fd < 0) return;
  epoll_ctl(epoll_, EPOLL_CTL_DEL, connection->fd, nullptr);
  close(connection->fd);
  connection->fd = -1;
  if (connection->subscriber && subscriber_connections_[connection->index] == connection) {
    subscriber_connections_[connection->index] = nullptr;
  }
}

void LoadRun::Send(Connection* connection, const HttpRequest& request) {
  connection->out = request.Serialize(host_header_);
  connection->written = 0;
  connection->awaiting = true;
  connection->polling = false;
  connection->sent_ns = NowNs();
  if (connection->subscriber) connection->last = request;
  if (connection->connected) OnWritable(connection);
}

void LoadRun::OnWritable(Connection* connection) {
  if (!connection->connected) {
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(connection->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      OnBroken(connection, "connect");
      return;
    }
    connection->connected = true;
  }
  while (connection->written < connection->out.size()) {
    const ssize_t n = write(connection->fd, connection->out.data() + connection->written,
                            connection->out.size() - connection->written);
    if (n < 0) {
      if (errno != EAGAIN) OnBroken(connection, "write");
      return;
    }
    connection->written += static_cast<size_t>(n);
  }
}

void LoadRun::OnReadable(Connection* connection) {
  char buffer[65536];
  bool closed = false;
  while (true) {
    const ssize_t n = read(connection->fd, buffer, sizeof buffer);
    if (n > 0) {
      connection->parser.Feed(absl::string_view(buffer, static_cast<size_t>(n)));
      continue;
    }
    closed = !(n < 0 && errno == EAGAIN);
    break;
  }
  // Answers that arrived before the server closed the connection still count.
  bool malformed = false;
  while (connection->fd >= 0) {
    std::optional<HttpResponse> response = connection->parser.Take(&malformed);
    if (malformed) {
      OnBroken(connection, "malformed_response");
      return;
    }
    if (!response) break;
    connection->awaiting = false;
    // The server ends the connection after this answer (keep-alive limit, draining): close
    // it first, so the next request goes out on a new connection instead of into this one.
    if (absl::EqualsIgnoreCase(response->Header("connection"), "close")) Close(connection);
    OnResponse(connection, *response);
  }
  if (closed && connection->fd >= 0) OnBroken(connection, "closed_by_server");
}

void LoadRun::OnBroken(Connection* connection, const std::string& kind) {
  const bool was_awaiting = connection->awaiting;
  Close(connection);
  if (!was_awaiting) return;  // an idle keep-alive connection closed: reopen on next use
  Error(kind);
  if (connection->subscriber) {
    retry_at_ns_[connection->index] = NowNs() + kRetryDelayNs;
    if (phase_ == Phase::kSetup) {
      --setup_in_flight_;
      ++setup_done_;
      retry_at_ns_[connection->index] = 0;
      failed_[connection->index] = true;
      FillSetupWindow();
    }
  } else {
    --publishes_in_flight_;
    if (phase_ == Phase::kPublisherLogin) publisher_ready_ = false;
  }
}

void LoadRun::OnResponse(Connection* connection, const HttpResponse& response) {
  if (connection->subscriber) {
    OnSubscriberResponse(connection, response);
  } else {
    OnPublisherResponse(connection, response);
  }
}

void LoadRun::OnSubscriberResponse(Connection* connection, const HttpResponse& response) {
  SubscriberState& state = states_[connection->index];
  if (phase_ == Phase::kSetup && !connection->polling) {
    --setup_in_flight_;
    if (!protocol_->OnSetupResponse(state, setup_step_, response)) {
      Error(absl::StrCat("setup_http_", response.status));
      // An overloaded server (503) is asked again, a few times; anything else is final.
      if (response.status == 503 && ++setup_attempts_[connection->index] < 5) {
        std::optional<HttpRequest> again = protocol_->SetupRequest(state, setup_step_);
        again->headers.emplace_back("Connection", "close");
        Close(connection);  // it was asked to close after this answer
        ++setup_in_flight_;
        Send(Open(true, state.index), *again);
        return;
      }
      failed_[connection->index] = true;
    } else if (options_.storm && setup_step_ == 0) {
      SendPoll(connection->index);  // a page polls as soon as it has logged in
    }
    ++setup_done_;
    if (options_.storm && setup_step_ == 0 && setup_done_ % 1000 == 0) {
      login_curve_.emplace_back(setup_done_,
                                SampleProcesses({options_.server_pids.front()}).cpu_seconds);
    }
    FillSetupWindow();
    return;
  }
  ++polls_answered_;
  std::vector<std::string> texts;
  if (!protocol_->OnPollResponse(state, response, &texts)) {
    Error(absl::StrCat("poll_http_", response.status));
    retry_at_ns_[connection->index] = NowNs() + kRetryDelayNs;
    return;
  }
  const int64_t now = NowNs();
  for (const std::string& text : texts) tracker_->OnReceived(connection->index, text, now);
  SendPoll(connection->index);
}

void LoadRun::OnPublisherResponse(Connection* connection, const HttpResponse& response) {
  if (phase_ == Phase::kPublisherLogin) {
    publisher_ready_ = protocol_->OnPublisherLogin(response);
    if (!publisher_ready_) Error(absl::StrCat("publisher_login_http_", response.status));
    return;
  }
  --publishes_in_flight_;
  if (response.status >= 200 && response.status < 300) {
    tracker_->OnPublished(connection->sequence);
  } else {
    Error(absl::StrCat("publish_http_", response.status));
  }
  if (options_.rate <= 0 && publishing_) {
    if (connection->fd < 0) {  // the server ended it with this answer (keep-alive limit)
      connection = publishers_[connection->index] = Open(false, connection->index);
    }
    connection->sequence = next_sequence_++;
    ++publishes_in_flight_;
    Send(connection, protocol_->PublishRequest(
                         tracker_->MessageText(connection->sequence, NowNs(), connection->index),
                         connection->sequence));
  }
}

void LoadRun::FillSetupWindow() {
  while (setup_in_flight_ < options_.setup_window && setup_next_ < options_.subscribers) {
    const int index = setup_next_++;
    std::optional<HttpRequest> request = protocol_->SetupRequest(states_[index], setup_step_);
    if (!request || failed_[index]) {
      ++setup_done_;
      continue;
    }
    Connection* connection = subscriber_connections_[index];
    if (options_.storm && setup_step_ > 0) {
      connection = Open(true, index, /*track=*/false);  // its poll stays parked meanwhile
    } else if (connection == nullptr) {
      connection = Open(true, index);
    }
    ++setup_in_flight_;
    // Setup connections close after their answer: cpp-httplib 0.11 wakes every idle keep-alive
    // connection's thread about once a millisecond, so thousands of idle ones would measure
    // that rather than the long polls (see bench/README.md).
    request->headers.emplace_back("Connection", "close");
    Send(connection, *request);
  }
}

void LoadRun::SendPoll(int subscriber) {
  Connection* connection = subscriber_connections_[subscriber];
  if (connection == nullptr) connection = Open(true, subscriber);
  Send(connection, protocol_->PollRequest(states_[subscriber]));
  connection->polling = true;
}

void LoadRun::PublishNext() {
  Connection* idle = nullptr;
  for (size_t i = 0; i < publishers_.size() && idle == nullptr; ++i) {
    if (publishers_[i]->fd < 0 && !publishers_[i]->awaiting) {
      publishers_[i] = Open(false, static_cast<int>(i));  // its server closed it after an answer
    }
    if (publishers_[i]->fd >= 0 && !publishers_[i]->awaiting) idle = publishers_[i];
  }
  if (idle == nullptr) {
    if (static_cast<int>(publishers_.size()) >= options_.max_publishers) {
      Error("publisher_backlog");  // the server is this far behind the open-loop schedule
      return;
    }
    idle = Open(false, static_cast<int>(publishers_.size()));
    publishers_.push_back(idle);
  }
  idle->sequence = next_sequence_++;
  ++publishes_in_flight_;
  Send(idle, protocol_->PublishRequest(tracker_->MessageText(idle->sequence, NowNs(), idle->index),
                                       idle->sequence));
}

void LoadRun::CheckRetries() {
  const int64_t now = NowNs();
  for (int i = 0; i < options_.subscribers; ++i) {
    Connection* connection = subscriber_connections_[i];
    if (connection != nullptr && connection->awaiting &&
        now - connection->sent_ns > kRequestTimeoutNs) {
      OnBroken(connection, "timeout");
    }
    if (retry_at_ns_[i] != 0 && now >= retry_at_ns_[i]) {
      retry_at_ns_[i] = 0;
      SendPoll(i);
    }
  }
}

void LoadRun::Loop(const std::function<bool()>& done, double timeout_s) {
  const int64_t give_up = NowNs() + static_cast<int64_t>(timeout_s * 1e9);
  int64_t next_check = 0;
  epoll_event events[1024];
  while (!done() && NowNs() < give_up) {
    const int count = epoll_wait(epoll_, events, 1024, 2);
    for (int i = 0; i < count; ++i) {
      auto* connection = static_cast<Connection*>(events[i].data.ptr);
      if (connection->fd < 0) continue;
      if (events[i].events & EPOLLOUT) OnWritable(connection);
      if (connection->fd >= 0 &&
          (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        OnReadable(connection);
      }
    }
    if (phase_ == Phase::kPolling && NowNs() >= next_check) {
      CheckRetries();
      next_check = NowNs() + 20'000'000;
    }
  }
}

void LoadRun::RunSetupStep(int step) {
  setup_step_ = step;
  setup_next_ = setup_done_ = setup_in_flight_ = 0;
  FillSetupWindow();
  Loop([&] { return setup_done_ >= options_.subscribers; }, 600);
}

std::string LoadRun::RunStorm() {
  const pid_t broker = options_.server_pids.front();
  const ProcessSample idle = SampleProcesses(options_.server_pids);
  phase_ = Phase::kSetup;
  // Logins: `setup_window` in flight, each polling as soon as it is answered.
  const int64_t t0 = NowNs();
  const double broker0 = SampleProcesses({broker}).cpu_seconds;
  RunSetupStep(0);
  const double login_s = static_cast<double>(NowNs() - t0) / 1e9;
  const ProcessSample logged_in = SampleProcesses(options_.server_pids);
  const double broker1 = SampleProcesses({broker}).cpu_seconds;
  int logins = 0;
  for (bool failed : failed_) logins += failed ? 0 : 1;
  // Let the last presence changes be told, then every page reconnects with its token.
  Loop([] { return false; }, 6);
  const int64_t polls_before_reconnect = polls_answered_;
  const ProcessSample settled = SampleProcesses(options_.server_pids);
  const double broker2 = SampleProcesses({broker}).cpu_seconds;
  const int64_t t1 = NowNs();
  for (int step = 1; protocol_->SetupRequest(states_[0], step).has_value(); ++step) {
    RunSetupStep(step);
  }
  const double reconnect_s = static_cast<double>(NowNs() - t1) / 1e9;
  const ProcessSample reconnected = SampleProcesses(options_.server_pids);
  const double broker3 = SampleProcesses({broker}).cpu_seconds;
  Loop([] { return false; }, 6);
  const ProcessSample finish = SampleProcesses(options_.server_pids);
  int gaps = 0;
  for (const SubscriberState& state : states_) gaps += state.gaps;

  std::vector<std::string> curve;
  double previous_cpu = broker0;
  int previous_logins = 0;
  for (const auto& [count, cpu] : login_curve_) {
    curve.push_back(absl::StrFormat(R"({"members": %d, "broker_us_per_login": %.1f})", count,
                                    (cpu - previous_cpu) * 1e6 / (count - previous_logins)));
    previous_cpu = cpu;
    previous_logins = count;
  }
  int64_t error_total = 0;
  std::vector<std::string> error_fields;
  for (const auto& [kind, count] : errors_) {
    error_total += count;
    error_fields.push_back(absl::StrFormat("\"%s\": %d", kind, count));
  }
  const double n = std::max(1, logins);
  summary_ = absl::StrFormat(
      "%s: %d logins of %d in %.1f s, broker %.1f us/login (%.1f with the presence wakes of the "
      "6 s after; all server CPU %.1f us/login); "
      "reconnect (session, rooms, members) in %.1f s, broker %.1f us/page; %d poll answers "
      "(%d during the reconnect), %d gaps, errors %d",
      options_.scenario, logins, options_.subscribers, login_s, (broker1 - broker0) * 1e6 / n,
      (broker2 - broker0) * 1e6 / n, (logged_in.cpu_seconds - idle.cpu_seconds) * 1e6 / n,
      reconnect_s, (broker3 - broker2) * 1e6 / n, polls_answered_,
      polls_answered_ - polls_before_reconnect, gaps, error_total);
  return absl::StrFormat(
      R"({"scenario": "%s", "system": "%s", "subscribers": %d, "logins": %d,
 "login_wall_s": %.3f, "login_broker_cpu_s": %.3f, "login_broker_us_per_login": %.2f,
 "login_server_cpu_us_per_login": %.2f, "login_and_settle_broker_us_per_login": %.2f,
 "login_curve": [%s],
 "reconnect_wall_s": %.3f, "reconnect_broker_us_per_page": %.2f,
 "reconnect_server_cpu_us_per_page": %.2f,
 "poll_answers": %d, "poll_answers_during_reconnect": %d, "gaps": %d,
 "errors": {%s}, "errors_total": %d,
 "server": {"rss_kib": %d, "peak_rss_kib": %d, "threads": %d}}
)",
      options_.scenario, protocol_->name(), options_.subscribers, logins, login_s,
      broker1 - broker0, (broker1 - broker0) * 1e6 / n,
      (logged_in.cpu_seconds - idle.cpu_seconds) * 1e6 / n, (broker2 - broker0) * 1e6 / n,
      absl::StrJoin(curve, ", "), reconnect_s, (broker3 - broker2) * 1e6 / n,
      (reconnected.cpu_seconds - settled.cpu_seconds) * 1e6 / n, polls_answered_,
      polls_answered_ - polls_before_reconnect, gaps, absl::StrJoin(error_fields, ", "),
      error_total, finish.rss_kib, finish.peak_rss_kib, finish.threads);
}

std::string LoadRun::Run() {
  const ProcessSample idle = SampleProcesses(options_.server_pids);
  const ProcessSample store_idle = SampleStore();

  // The publisher logs in first, so that the subscribers' cursors come after its JOIN.
  if (std::optional<HttpRequest> login = protocol_->PublisherLogin()) {
    Connection* publisher = Open(false, 0);
    publishers_.push_back(publisher);
    Send(publisher, *login);
    Loop([&] { return publisher_ready_ || !publisher->awaiting; }, 30);
  }

  phase_ = Phase::kSetup;
  for (int step = 0;; ++step) {
    bool any = false;
    for (int i = 0; i < options_.subscribers && !any; ++i) {
      any = protocol_->SetupRequest(states_[i], step).has_value();
    }
    if (!any) break;
    RunSetupStep(step);
  }

  phase_ = Phase::kPolling;
  int connected = 0;
  for (int i = 0; i < options_.subscribers; ++i) {
    if (failed_[i]) continue;
    ++connected;
    SendPoll(i);
    if (i % 500 == 499) Loop([] { return false; }, 0.02);
  }
  // Let every poll reach the server and park.
  Loop([] { return false; }, 1.0 + options_.subscribers / 5000.0);
  const ProcessSample parked = SampleProcesses(options_.server_pids);
  const ProcessSample store_parked = SampleStore();

  SyscallCounter syscalls(options_.server_pids);
  syscalls.Start();
  const ProcessSample start = SampleProcesses(options_.server_pids);
  const ProcessSample store_start = SampleStore();
  const int64_t t0 = NowNs();
  const int64_t end = t0 + static_cast<int64_t>(options_.duration_s * 1e9);
  publishing_ = true;
  if (options_.rate > 0) {
    const double interval_ns = 1e9 / options_.rate;
    int scheduled = 0;
    Loop(
        [&] {
          const int64_t now = NowNs();
          while (now >= t0 + static_cast<int64_t>(scheduled * interval_ns) && now < end) {
            PublishNext();
            ++scheduled;
          }
          return now >= end;
        },
        options_.duration_s + 1);
  } else {
    for (int i = 0; i < options_.burst_concurrency; ++i) {
      Connection* publisher = (i < static_cast<int>(publishers_.size())) ? publishers_[i] : nullptr;
      if (publisher == nullptr || publisher->fd < 0) {
        publisher = Open(false, i);
        publishers_.push_back(publisher);
      }
      publisher->sequence = next_sequence_++;
      ++publishes_in_flight_;
      Send(publisher, protocol_->PublishRequest(
                          tracker_->MessageText(publisher->sequence, NowNs(), publisher->index),
                          publisher->sequence));
    }
    Loop([&] { return NowNs() >= end; }, options_.duration_s + 1);
  }
  publishing_ = false;
  const double publish_seconds = static_cast<double>(NowNs() - t0) / 1e9;
  Loop([&] { return publishes_in_flight_ == 0 && tracker_->delivered() >= tracker_->expected(); },
       options_.drain_s);
  const double elapsed = static_cast<double>(NowNs() - t0) / 1e9;
  const ProcessSample finish = SampleProcesses(options_.server_pids);
  const ProcessSample store_finish = SampleStore();
  const std::vector<std::optional<int64_t>> syscall_counts = syscalls.Stop();

  const int64_t delivered = tracker_->delivered();
  std::string syscalls_per_delivery;
  double switches_per_delivery = 0;
  const std::string processes = ProcessesJson(start, finish, syscall_counts, delivered,
                                              &syscalls_per_delivery, &switches_per_delivery);
  const int64_t lost = std::max<int64_t>(0, tracker_->expected() - delivered);
  const double cpu = finish.cpu_seconds - start.cpu_seconds;
  const double cpu_us_per_delivery = delivered > 0 ? cpu * 1e6 / delivered : 0;
  const double held_kib =
      options_.subscribers > 0
          ? static_cast<double>(parked.rss_kib - idle.rss_kib) / options_.subscribers
          : 0;
  int64_t error_total = 0;
  std::vector<std::string> error_fields;
  for (const auto& [kind, count] : errors_) {
    error_total += count;
    error_fields.push_back(absl::StrFormat("\"%s\": %d", kind, count));
  }
  const double p50 = tracker_->LatencyMicros(50), p90 = tracker_->LatencyMicros(90),
               p99 = tracker_->LatencyMicros(99), max = tracker_->LatencyMicros(100);
  const double rate = delivered / elapsed;
  int gaps = 0;
  for (const SubscriberState& state : states_) gaps += state.gaps;

  summary_ = absl::StrFormat(
      "%s %s: %d subscribers (%d connected), %d sent, %d/%d delivered (lost %d, dup %d, reordered "
      "%d, gaps %d, errors %d), p50 %.0f us p99 %.0f us max %.0f us, %.0f deliveries/s, server CPU "
      "%.2f s "
      "= %.1f us/delivery (%s syscalls, %.2f context switches), RSS %d KiB (peak %d), %d "
      "threads, %.1f KiB per held poll",
      options_.scenario, protocol_->name(), options_.subscribers, connected, tracker_->published(),
      delivered, tracker_->expected(), lost, tracker_->duplicated(), tracker_->out_of_order(), gaps,
      error_total, p50, p99, max, rate, cpu, cpu_us_per_delivery, syscalls_per_delivery,
      switches_per_delivery, finish.rss_kib, finish.peak_rss_kib, finish.threads, held_kib);
  return absl::StrFormat(
      R"({"scenario": "%s", "system": "%s", "subscribers": %d, "subscribers_connected": %d, "rate": %g, "duration_s": %g,
 "publish_seconds": %.3f, "elapsed_s": %.3f,
 "messages_sent": %d, "messages_acknowledged": %d, "deliveries_expected": %d, "delivered": %d, "lost": %d,
 "duplicated": %d, "out_of_order": %d, "foreign": %d, "gaps": %d,
 "latency_us": {"p50": %.0f, "p90": %.0f, "p99": %.0f, "max": %.0f},
 "deliveries_per_second": %.1f, "errors": {%s}, "errors_total": %d,
 "server": {"cpu_seconds": %.3f, "cpu_us_per_delivery": %.2f, "syscalls_per_delivery": %s,
            "context_switches_per_delivery": %.3f, "rss_kib": %d,
            "peak_rss_kib": %d, "threads": %d, "idle_rss_kib": %d, "parked_rss_kib": %d,
            "kib_per_held_poll": %.2f,
            "processes": %s}%s}
)",
      options_.scenario, protocol_->name(), options_.subscribers, connected, options_.rate,
      options_.duration_s, publish_seconds, elapsed, tracker_->published(),
      tracker_->acknowledged(), tracker_->expected(), delivered, lost, tracker_->duplicated(),
      tracker_->out_of_order(), tracker_->foreign(), gaps, p50, p90, p99, max, rate,
      absl::StrJoin(error_fields, ", "), error_total, cpu, cpu_us_per_delivery,
      syscalls_per_delivery, switches_per_delivery, finish.rss_kib, finish.peak_rss_kib,
      finish.threads, idle.rss_kib, parked.rss_kib, held_kib, processes,
      options_.store_pid == 0
          ? ""
          : absl::StrFormat(
                R"(,
 "store": {"cpu_seconds": %.3f, "cpu_us_per_delivery": %.2f, "idle_rss_kib": %d,
           "parked_rss_kib": %d, "kib_per_subscriber": %.2f})",
                store_finish.cpu_seconds - store_start.cpu_seconds,
                delivered > 0 ? (store_finish.cpu_seconds - store_start.cpu_seconds) * 1e6 /
                                    static_cast<double>(delivered)
                              : 0.0,
                store_idle.rss_kib, store_parked.rss_kib,
                static_cast<double>(store_parked.rss_kib - store_idle.rss_kib) /
                    options_.subscribers));
}

ProcessSample LoadRun::SampleStore() const {
  return options_.store_pid == 0 ? ProcessSample() : SampleProcesses({options_.store_pid});
}

}  // namespace parley::bench
