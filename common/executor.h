#ifndef PARLEY_COMMON_EXECUTOR_H_
#define PARLEY_COMMON_EXECUTOR_H_

#include "absl/functional/any_invocable.h"

namespace parley {

// A thread that runs the callbacks handed to it, one at a time, in order (the frontend's
// HTTP event loops). The broker client runs a poll's answer on the executor of the request
// that asked, so the many answers one broker message carries cost each loop one wake-up.
// Thread-safe.
class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `callback` on the executor's thread soon, never inline while the executor runs.
  virtual void Post(absl::AnyInvocable<void()> callback) = 0;
};

}  // namespace parley

#endif  // PARLEY_COMMON_EXECUTOR_H_
