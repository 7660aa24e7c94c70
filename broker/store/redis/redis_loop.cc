#include "broker/store/redis/redis_loop.h"

#include <event2/event.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <utility>

#include "absl/synchronization/notification.h"

namespace parley::broker::redis {

RedisLoop::RedisLoop() {
  base_ = event_base_new();
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (base_ == nullptr || wake_fd_ < 0) std::abort();  // out of memory or descriptors at start
  wake_event_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, &RedisLoop::OnWake, this);
  event_add(wake_event_, nullptr);
  thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
}

RedisLoop::~RedisLoop() {
  Post([this] { event_base_loopbreak(base_); });
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  RunPosted();  // what came before the break still runs: callers may be waiting on it
  event_free(wake_event_);
  event_base_free(base_);
  close(wake_fd_);
}

void RedisLoop::Post(absl::AnyInvocable<void()> task) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    posted_.push_back(std::move(task));
    if (posted_.size() > 1) return;  // already woken
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void RedisLoop::RunAndWait(absl::AnyInvocable<void()> task) {
  absl::Notification done;
  Post([&] {
    task();
    done.Notify();
  });
  done.WaitForNotification();
}

void RedisLoop::OnWake(int fd, short, void* self) {
  uint64_t count;
  (void)!read(fd, &count, sizeof count);
  static_cast<RedisLoop*>(self)->RunPosted();
}

void RedisLoop::RunPosted() {
  std::vector<absl::AnyInvocable<void()>> tasks;
  {
    absl::MutexLock lock(&mu_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

}  // namespace parley::broker::redis
