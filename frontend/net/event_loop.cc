#include "frontend/net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/time/clock.h"

namespace parley::frontend {
namespace {

constexpr int kMaxEvents = 256;

}  // namespace

EventLoop::EventLoop()
    : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (epoll_fd_ < 0 || wake_fd_ < 0) std::abort();  // out of descriptors at start-up
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
}

EventLoop::~EventLoop() {
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::Stop() {
  {
    absl::MutexLock lock(&posted_mu_);
    stop_requested_ = true;
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void EventLoop::Post(Callback callback) {
  bool first = false;
  bool ended = false;
  {
    absl::MutexLock lock(&posted_mu_);
    ended = ended_;
    if (!ended) {
      first = posted_.empty();
      posted_.push_back(std::move(callback));
    }
  }
  if (ended) {
    callback();
    return;
  }
  if (InLoopThread()) {
    posted_here_ = true;  // the loop looks before it waits
    return;
  }
  if (first) {  // later ones find the loop already woken
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
}

void EventLoop::Watch(int fd, uint32_t events, FdHandler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
}

void EventLoop::Unwatch(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

EventLoop::TimerId EventLoop::AddTimer(absl::Time when, Callback callback) {
  const TimerId id = next_timer_++;
  timers_.emplace(std::make_pair(when, id), std::move(callback));
  timer_times_.emplace(id, when);
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_times_.find(id);
  if (it == timer_times_.end()) return;
  timers_.erase({it->second, id});
  timer_times_.erase(it);
}

int EventLoop::EpollTimeoutMs() const {
  if (timers_.empty()) return -1;
  const absl::Duration wait = timers_.begin()->first.first - absl::Now();
  if (wait <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
}

void EventLoop::RunPosted() {
  std::vector<Callback> posted;
  posted_here_ = false;
  {
    absl::MutexLock lock(&posted_mu_);
    posted.swap(posted_);
    if (stop_requested_) stopping_ = true;
  }
  for (Callback& callback : posted) callback();
}

void EventLoop::RunTimers() {
  while (!timers_.empty() && timers_.begin()->first.first <= now_) {
    auto first = timers_.begin();
    Callback callback = std::move(first->second);
    timer_times_.erase(first->first.second);
    timers_.erase(first);
    callback();  // may add or cancel timers
  }
}

void EventLoop::Run() {
  thread_.store(std::this_thread::get_id());
  epoll_event events[kMaxEvents];
  while (!stopping_) {
    const int count =
        epoll_wait(epoll_fd_, events, kMaxEvents, posted_here_ ? 0 : EpollTimeoutMs());
    now_ = absl::Now();
    for (int i = 0; i < count; ++i) {
      auto* handler = static_cast<FdHandler*>(events[i].data.ptr);
      if (handler == nullptr) {
        uint64_t value = 0;
        (void)!read(wake_fd_, &value, sizeof value);
        continue;
      }
      handler->OnFdEvents(events[i].events);
    }
    RunTimers();
    RunPosted();
  }
  // What was posted before Stop, and what that posts; from then on Post runs callbacks itself.
  while (true) {
    {
      absl::MutexLock lock(&posted_mu_);
      if (posted_.empty()) {
        ended_ = true;
        break;
      }
    }
    RunPosted();
  }
  thread_.store(std::thread::id());
}

}  // namespace parley::frontend
