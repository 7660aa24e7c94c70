#include "bench/loadgen/idle_run.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/loadgen/http_response_parser.h"
#include "bench/loadgen/process_stats.h"

namespace parley::bench {
namespace {

int Connect(const IdleOptions& options) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  inet_pton(AF_INET, options.host.c_str(), &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads one whole response from a blocking socket; false if the connection broke first.
bool ReadAnswer(int fd) {
  HttpResponseParser parser;
  char buffer[4096];
  while (true) {
    bool malformed = false;
    if (std::optional<HttpResponse> response = parser.Take(&malformed)) {
      return response->status == 200;
    }
    if (malformed) return false;
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    parser.Feed(absl::string_view(buffer, static_cast<size_t>(n)));
  }
}

}  // namespace

std::string RunIdle(const IdleOptions& options, std::string* summary) {
  const std::string request =
      absl::StrFormat("GET /healthz HTTP/1.1\r\nHost: %s:%d\r\n\r\n", options.host, options.port);
  std::vector<int> fds;
  int refused = 0;
  // Send on every connection first, then read: the server answers them all meanwhile.
  for (int i = 0; i < options.connections; ++i) {
    const int fd = Connect(options);
    if (fd < 0 ||
        write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      ++refused;
      if (fd >= 0) close(fd);
      continue;
    }
    fds.push_back(fd);
  }
  int answered = 0;
  for (int fd : fds) answered += ReadAnswer(fd) ? 1 : 0;

  const ProcessSample before = SampleProcesses(options.server_pids);
  std::this_thread::sleep_for(std::chrono::duration<double>(options.hold_s));
  const ProcessSample after = SampleProcesses(options.server_pids);

  // A connection the server closed meanwhile reads as end of stream (or a reset).
  int closed = 0;
  std::vector<pollfd> watched;
  for (int fd : fds) watched.push_back({fd, POLLIN | POLLRDHUP, 0});
  poll(watched.data(), watched.size(), 0);
  for (const pollfd& entry : watched) closed += entry.revents != 0 ? 1 : 0;
  for (int fd : fds) close(fd);

  const double cpu = after.cpu_seconds - before.cpu_seconds;
  const double core_percent = cpu * 100 / options.hold_s;
  *summary = absl::StrFormat(
      "%s %s: %d connections (%d refused, %d answered), held %.0f s: server CPU %.3f s = %.2f %% "
      "of a core, %d closed by the server meanwhile, RSS %d KiB, %d threads",
      options.scenario, options.system, options.connections, refused, answered, options.hold_s, cpu,
      core_percent, closed, after.rss_kib, after.threads);
  return absl::StrFormat(
      R"({"scenario": "%s", "system": "%s", "idle": {"connections": %d, "refused": %d,
 "answered": %d, "hold_s": %g, "closed_during_hold": %d, "cpu_seconds": %.3f,
 "core_percent": %.3f, "rss_kib": %d, "threads": %d}}
)",
      options.scenario, options.system, options.connections, refused, answered, options.hold_s,
      closed, cpu, core_percent, after.rss_kib, after.threads);
}

}  // namespace parley::bench
