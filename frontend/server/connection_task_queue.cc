#include "frontend/server/connection_task_queue.h"

#include <pthread.h>

#include <utility>

namespace parley::frontend {

ConnectionTaskQueue::ConnectionTaskQueue(size_t max_threads, size_t stack_bytes,
                                         absl::Duration idle_timeout, std::atomic<int>* busy)
    : state_(std::make_shared<State>()) {
  state_->max_threads = max_threads;
  state_->stack_bytes = stack_bytes;
  state_->idle_timeout = idle_timeout;
  state_->busy = busy;
}

ConnectionTaskQueue::~ConnectionTaskQueue() { shutdown(); }

void ConnectionTaskQueue::enqueue(std::function<void()> task) {
  State& state = *state_;
  absl::MutexLock lock(&state.mu);
  state.tasks.push_back(std::move(task));
  // An idle thread takes it; otherwise grow. At the cap the task waits for a thread (the
  // capacity check in front of the routes answers 503 well before that).
  if (state.idle >= state.tasks.size() || state.threads >= state.max_threads) return;
  if (StartThreadLocked(state_) || state.threads > 0) return;
  // Not a single thread could be made: serve on the accepting thread rather than never.
  std::function<void()> now = std::move(state.tasks.front());
  state.tasks.pop_front();
  state.mu.Unlock();
  now();
  state.mu.Lock();
}

bool ConnectionTaskQueue::StartThreadLocked(const std::shared_ptr<State>& state) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, state->stack_bytes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  auto* reference = new std::shared_ptr<State>(state);
  pthread_t thread;
  const bool started = pthread_create(&thread, &attributes, &ThreadMain, reference) == 0;
  pthread_attr_destroy(&attributes);
  if (started) {
    ++state->threads;
  } else {
    delete reference;
  }
  return started;
}

void* ConnectionTaskQueue::ThreadMain(void* reference) {
  std::unique_ptr<std::shared_ptr<State>> state(static_cast<std::shared_ptr<State>*>(reference));
  Work(**state);
  return nullptr;
}

void ConnectionTaskQueue::Work(State& state) {
  absl::MutexLock lock(&state.mu);
  auto has_work = [&state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
    return !state.tasks.empty() || state.shutting_down;
  };
  while (true) {
    ++state.idle;
    state.mu.AwaitWithTimeout(absl::Condition(&has_work), state.idle_timeout);
    --state.idle;
    if (state.tasks.empty()) break;  // idle too long, or shutting down with nothing left
    std::function<void()> task = std::move(state.tasks.front());
    state.tasks.pop_front();
    state.mu.Unlock();
    state.busy->fetch_add(1);
    task();
    task = nullptr;
    state.busy->fetch_sub(1);
    state.mu.Lock();
  }
  --state.threads;
}

void ConnectionTaskQueue::shutdown() {
  State& state = *state_;
  absl::MutexLock lock(&state.mu);
  state.shutting_down = true;
  auto all_gone = [&state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) { return state.threads == 0; };
  state.mu.Await(absl::Condition(&all_gone));
}

}  // namespace parley::frontend
