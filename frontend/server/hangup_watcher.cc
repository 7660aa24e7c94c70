#include "frontend/server/hangup_watcher.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace parley::frontend {

HangupWatcher::HangupWatcher()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), stop_event_(::eventfd(0, EFD_CLOEXEC)) {
  epoll_event stop{};
  stop.events = EPOLLIN;
  stop.data.u64 = 0;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, stop_event_, &stop);
  thread_ = std::thread([this] { Run(); });
}

HangupWatcher::~HangupWatcher() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(stop_event_, &one, sizeof one);
  thread_.join();
  ::close(stop_event_);
  ::close(epoll_);
}

void HangupWatcher::Run() {
  epoll_event events[64];
  while (true) {
    const int ready = ::epoll_wait(epoll_, events, 64, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;  // the epoll set is broken: polls end at their deadlines as before
    }
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.u64 == 0) return;
      auto found = connections_.find(events[i].data.u64);
      if (found == connections_.end()) continue;  // the connection ended meanwhile
      found->second.gone = true;
      if (found->second.context != nullptr) found->second.context->TryCancel();
    }
  }
}

void HangupWatcher::Register(ServedConnection* connection) {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    connections_[id] = Entry();
  }
  connection->hangup_id = id;
  const int socket = connection->socket;
  // Edge-triggered: the hangup is reported once (and at once if it already happened).
  epoll_event watch{};
  watch.events = EPOLLRDHUP | EPOLLET;
  watch.data.u64 = id;
  const bool added = ::epoll_ctl(epoll_, EPOLL_CTL_ADD, socket, &watch) == 0;
  connection->on_close = [this, id, socket, added] {
    if (added) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, socket, nullptr);
    absl::MutexLock lock(&mu_);
    connections_.erase(id);
  };
}

void HangupWatcher::Watch::Attach(grpc::ClientContext* context) {
  if (watcher_ == nullptr || connection_ == nullptr) return;
  if (connection_->hangup_id == 0) watcher_->Register(connection_);
  absl::MutexLock lock(&watcher_->mu_);
  auto found = watcher_->connections_.find(connection_->hangup_id);
  if (found == watcher_->connections_.end()) return;
  found->second.context = context;
  attached_ = true;
  if (found->second.gone) context->TryCancel();  // applies when the call starts
}

void HangupWatcher::Watch::Detach() {
  if (!attached_) return;
  attached_ = false;
  absl::MutexLock lock(&watcher_->mu_);
  auto found = watcher_->connections_.find(connection_->hangup_id);
  if (found != watcher_->connections_.end()) found->second.context = nullptr;
}

bool HangupWatcher::Watch::client_gone() {
  if (watcher_ == nullptr || connection_ == nullptr || connection_->hangup_id == 0) return false;
  absl::MutexLock lock(&watcher_->mu_);
  auto found = watcher_->connections_.find(connection_->hangup_id);
  return found != watcher_->connections_.end() && found->second.gone;
}

}  // namespace parley::frontend
