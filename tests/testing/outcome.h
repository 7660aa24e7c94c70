#ifndef PARLEY_TESTS_TESTING_OUTCOME_H_
#define PARLEY_TESTS_TESTING_OUTCOME_H_

#include <grpcpp/support/status.h>

#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace parley::testing {

// Where an asynchronous broker call's callback leaves its result; the test thread waits for
// it. Callback() may be called once.
template <typename Response>
struct Outcome {
  absl::Notification done;
  grpc::Status status;
  Response response;
  absl::Time at;  // when the callback ran

  auto Callback() {
    return [this](grpc::Status s, Response r) {
      status = std::move(s);
      response = std::move(r);
      at = absl::Now();
      done.Notify();
    };
  }
  bool Wait(absl::Duration timeout = absl::Seconds(10)) {
    return done.WaitForNotificationWithTimeout(timeout);
  }
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_OUTCOME_H_
