#ifndef PARLEY_BROKER_SERVER_COMPLETION_QUEUE_GATE_H_
#define PARLEY_BROKER_SERVER_COMPLETION_QUEUE_GATE_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace parley::broker {

// Guards against starting an operation on a completion queue that has been shut down (which
// gRPC does not allow). Every operation that will put a tag on a queue (requesting a call, a
// read, a write, Finish) runs through RunIfOpen, and so does scheduling a poll's deadline
// (PollDeadlines answers through such operations); the server calls Close() before shutting
// its queues down. Thread-safe; many operations run at once, Close waits for them.
class CompletionQueueGate {
 public:
  // Runs `operation` and returns true, unless the gate is closed (returns false).
  template <typename Operation>
  bool RunIfOpen(Operation&& operation) {
    absl::ReaderMutexLock lock(&mu_);
    if (!open_) return false;
    operation();
    return true;
  }

  void Close() {
    absl::WriterMutexLock lock(&mu_);
    open_ = false;
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_COMPLETION_QUEUE_GATE_H_
