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
      auto found = attached_.find(events[i].data.u64);
      if (found == attached_.end()) continue;  // detached meanwhile
      Watch* watch = found->second;
      watch->gone_ = true;
      if (watch->context_ != nullptr) watch->context_->TryCancel();
    }
  }
}

void HangupWatcher::Watch::Attach(grpc::ClientContext* context) {
  if (socket_ < 0 || watcher_ == nullptr) return;
  {
    absl::MutexLock lock(&watcher_->mu_);
    id_ = watcher_->next_id_++;
    context_ = context;
    watcher_->attached_[id_] = this;
  }
  // One-shot: a socket reports its hangup once; a later Attach (a retried call) adds it
  // again and, if the client is already gone, hears of it at once.
  epoll_event watch{};
  watch.events = EPOLLRDHUP | EPOLLONESHOT;
  watch.data.u64 = id_;
  if (::epoll_ctl(watcher_->epoll_, EPOLL_CTL_ADD, socket_, &watch) != 0) Detach();
}

void HangupWatcher::Watch::Detach() {
  if (id_ == 0) return;
  ::epoll_ctl(watcher_->epoll_, EPOLL_CTL_DEL, socket_, nullptr);
  absl::MutexLock lock(&watcher_->mu_);
  watcher_->attached_.erase(id_);
  context_ = nullptr;
  id_ = 0;
}

bool HangupWatcher::Watch::client_gone() {
  if (socket_ < 0 || watcher_ == nullptr) return false;
  absl::MutexLock lock(&watcher_->mu_);
  return gone_;
}

}  // namespace parley::frontend
