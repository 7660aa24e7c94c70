#ifndef PARLEY_BROKER_SERVER_IN_FLIGHT_CALLS_H_
#define PARLEY_BROKER_SERVER_IN_FLIGHT_CALLS_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace parley::broker {

// Counts RPCs between "request matched" and "call object released", so shutdown can wait for
// exactly those. (gRPC's own Shutdown(deadline) also waits for idle client connections to go
// away, which a client that is not polling its channel never does.) Thread-safe.
class InFlightCalls {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++count_;
  }
  void Done() {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  int64_t count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }
  // Waits until no call is in flight or `deadline` passes; returns whether none is.
  bool WaitUntilIdle(absl::Time deadline) const {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return count_ == 0; };
    return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  }

 private:
  mutable absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_IN_FLIGHT_CALLS_H_
