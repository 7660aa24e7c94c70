#include "tests/testing/silent_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace parley::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

// Copies what `from` has to `to`; false when `from` closed or either failed.
bool Copy(int from, int to) {
  char buffer[64 * 1024];
  const ssize_t got = read(from, buffer, sizeof buffer);
  if (got <= 0) return false;
  for (ssize_t sent = 0; sent < got;) {
    const ssize_t wrote = write(to, buffer + sent, static_cast<size_t>(got - sent));
    if (wrote <= 0) return false;
    sent += wrote;
  }
  return true;
}

}  // namespace

SilentProxy::SilentProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof address;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      pipe(wake_) != 0) {
    std::abort();  // a test without its proxy cannot run
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread(&SilentProxy::Run, this);
}

SilentProxy::~SilentProxy() {
  stop_ = true;
  (void)!write(wake_[1], "x", 1);
  thread_.join();
  absl::MutexLock lock(&mu_);
  for (const Pair& pair : pairs_) {
    close(pair.client);
    close(pair.target);
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

void SilentProxy::Silence() {
  {
    absl::MutexLock lock(&mu_);
    for (Pair& pair : pairs_) pair.silent = true;
  }
  (void)!write(wake_[1], "x", 1);
}

void SilentProxy::Cut() {
  {
    absl::MutexLock lock(&mu_);
    for (const Pair& pair : pairs_) {
      const linger reset = {1, 0};  // close with RST
      setsockopt(pair.client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      close(pair.client);
      close(pair.target);
    }
    pairs_.clear();
    close(listen_fd_.exchange(-1));
  }
  (void)!write(wake_[1], "x", 1);
}

void SilentProxy::Run() {
  while (!stop_) {
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    {
      absl::MutexLock lock(&mu_);
      for (const Pair& pair : pairs_) {
        if (pair.silent) continue;
        fds.push_back({pair.client, POLLIN, 0});
        fds.push_back({pair.target, POLLIN, 0});
      }
    }
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[1].revents != 0) {
      char drained[16];
      (void)!read(wake_[0], drained, sizeof drained);
      continue;  // the set of connections to watch changed
    }
    if (fds[0].revents != 0 && listen_fd_ >= 0) {
      const int client = accept(listen_fd_, nullptr, nullptr);
      const int target = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address = Loopback(target_port_);
      if (client >= 0 && target >= 0 &&
          connect(target, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        absl::MutexLock lock(&mu_);
        pairs_.push_back({client, target});
        ++accepted_;
      } else {
        if (client >= 0) close(client);
        if (target >= 0) close(target);
      }
    }
    absl::MutexLock lock(&mu_);
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      for (auto it = pairs_.begin(); it != pairs_.end(); ++it) {
        if (it->silent || (it->client != fds[i].fd && it->target != fds[i].fd)) continue;
        const int other = it->client == fds[i].fd ? it->target : it->client;
        if (!Copy(fds[i].fd, other)) {
          close(it->client);
          close(it->target);
          pairs_.erase(it);
        }
        break;
      }
    }
  }
}

}  // namespace parley::testing
