#ifndef PARLEY_FRONTEND_SERVER_CONNECTION_TASK_QUEUE_H_
#define PARLEY_FRONTEND_SERVER_CONNECTION_TASK_QUEUE_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace parley::frontend {

// cpp-httplib's task queue, replaced: cpp-httplib serves each connection on one task from
// accept to close, and its default pool has a handful of threads, so long polls would queue
// behind each other. This queue starts a thread (with a small stack) whenever a connection
// arrives and none is idle, up to `max_threads`, and lets a thread go after `idle_timeout`
// without work. `busy` (owned by the caller, who may outlive the queue) counts connections
// being served, for the capacity check in front of the routes.
//
// Thread-safe. cpp-httplib creates it in listen and deletes it after shutdown(). The threads
// share the queue's state through a shared_ptr, so none touches freed memory on its way out.
class ConnectionTaskQueue final : public httplib::TaskQueue {
 public:
  ConnectionTaskQueue(size_t max_threads, size_t stack_bytes, absl::Duration idle_timeout,
                      std::atomic<int>* busy);
  ~ConnectionTaskQueue() override;

  void enqueue(std::function<void()> task) override;
  // Lets running tasks finish, then waits for every thread to exit.
  void shutdown() override;

 private:
  struct State {
    size_t max_threads;
    size_t stack_bytes;
    absl::Duration idle_timeout;
    std::atomic<int>* busy;
    absl::Mutex mu;
    std::deque<std::function<void()>> tasks ABSL_GUARDED_BY(mu);
    size_t threads ABSL_GUARDED_BY(mu) = 0;
    size_t idle ABSL_GUARDED_BY(mu) = 0;
    bool shutting_down ABSL_GUARDED_BY(mu) = false;
  };

  static void* ThreadMain(void* state);  // takes a heap shared_ptr<State>
  static void Work(State& state);
  static bool StartThreadLocked(const std::shared_ptr<State>& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu);

  const std::shared_ptr<State> state_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SERVER_CONNECTION_TASK_QUEUE_H_
