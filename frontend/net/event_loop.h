#ifndef PARLEY_FRONTEND_NET_EVENT_LOOP_H_
#define PARLEY_FRONTEND_NET_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/executor.h"

namespace parley::frontend {

// Something watching a file descriptor on a loop. Called on the loop's thread only.
class FdHandler {
 public:
  virtual ~FdHandler() = default;
  // `events`: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR as epoll reported them.
  virtual void OnFdEvents(uint32_t events) = 0;
};

// One epoll loop on one thread, in the manner of redis' ae: file events, timers, and Post()
// for other threads (an eventfd wakes the loop). Everything registered with a loop belongs to
// its thread: handlers and timer callbacks run there, one at a time.
//
// A Post() from another thread wakes the loop only when nothing else posted is waiting, and a
// Post() from the loop's own thread never does: a burst of posts costs one wake-up.
//
// Thread-safety: Post(), Stop() and InLoopThread() from any thread; everything else only on
// the loop's thread (from a handler, a timer or a posted callback), or before Run().
class EventLoop final : public Executor {
 public:
  using Callback = absl::AnyInvocable<void()>;
  using TimerId = uint64_t;  // never 0

  EventLoop();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until Stop(); callbacks posted before Stop() are run first.
  void Run();
  void Stop();
  // Runs `callback` on the loop's thread soon (never inline, even from the loop thread). Once
  // Run() has returned, at once on the caller's thread instead: nothing posted is lost.
  void Post(Callback callback) override;
  bool InLoopThread() const { return std::this_thread::get_id() == thread_.load(); }

  // `handler` must stay alive until Unwatch(fd) and to the end of the current turn: an event
  // of this turn may already be on its way to it. Free handlers from a Post()ed callback,
  // which runs after every event of the turn.
  void Watch(int fd, uint32_t events, FdHandler* handler);
  void Unwatch(int fd);

  TimerId AddTimer(absl::Time when, Callback callback);
  void CancelTimer(TimerId id);  // a timer already run or cancelled: nothing
  // The time at the start of this turn of the loop (cheap; good enough for deadlines).
  absl::Time now() const { return now_; }

 private:
  void RunPosted();
  void RunTimers();
  int EpollTimeoutMs() const;

  const int epoll_fd_;
  const int wake_fd_;
  std::atomic<std::thread::id> thread_{};
  absl::Time now_ = absl::Now();
  bool stopping_ = false;  // loop thread
  // Loop thread: it posted since its last RunPosted (a post of its own writes no wake, so
  // the next epoll_wait must not sleep).
  bool posted_here_ = false;

  std::map<std::pair<absl::Time, TimerId>, Callback> timers_;
  absl::flat_hash_map<TimerId, absl::Time> timer_times_;
  TimerId next_timer_ = 1;

  absl::Mutex posted_mu_;
  std::vector<Callback> posted_ ABSL_GUARDED_BY(posted_mu_);
  bool stop_requested_ ABSL_GUARDED_BY(posted_mu_) = false;
  bool ended_ ABSL_GUARDED_BY(posted_mu_) = false;  // Run() returned
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_NET_EVENT_LOOP_H_
