#ifndef PARLEY_BROKER_CORE_DONE_CALLBACK_H_
#define PARLEY_BROKER_CORE_DONE_CALLBACK_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace parley::broker {

// How the chat logic answers: every operation that may need the store takes a `done` that runs
// exactly once, with the result, on whichever thread finished the operation (the caller's own,
// before the operation returns, when the store answers at once; the store's thread when it
// answers later). A `done` must not block, and must not assume it runs on the caller's thread.
template <typename T>
using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;
using StatusDone = absl::AnyInvocable<void(absl::Status) &&>;

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_DONE_CALLBACK_H_
