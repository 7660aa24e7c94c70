#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_LOOP_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_LOOP_H_

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

struct event_base;
struct event;

namespace parley::broker::redis {

// The thread every Redis connection of a broker lives on: a libevent loop (hiredis's own
// libevent adapter binds connections to it) plus a queue through which other threads hand it
// work. Everything that touches a hiredis context runs here; nothing here blocks.
//
// Post() from any thread. base() and InLoopThread() are for code on the loop thread. The
// destructor stops the loop and joins the thread; tasks posted after that are dropped.
class RedisLoop {
 public:
  RedisLoop();
  ~RedisLoop();
  RedisLoop(const RedisLoop&) = delete;
  RedisLoop& operator=(const RedisLoop&) = delete;

  // Runs `task` on the loop thread, after the tasks posted before it.
  void Post(absl::AnyInvocable<void()> task);
  // Posts `task` and waits until it has run (not from the loop thread).
  void RunAndWait(absl::AnyInvocable<void()> task);
  bool InLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  event_base* base() const { return base_; }

 private:
  static void OnWake(int fd, short events, void* self);
  void RunPosted();

  event_base* base_ = nullptr;
  int wake_fd_ = -1;  // an eventfd: Post makes it readable
  event* wake_event_ = nullptr;
  absl::Mutex mu_;
  std::vector<absl::AnyInvocable<void()>> posted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_LOOP_H_
