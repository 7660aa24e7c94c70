#ifndef PARLEY_BROKER_SERVER_POLL_DEADLINES_H_
#define PARLEY_BROKER_SERVER_POLL_DEADLINES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace parley::broker {

// Ends parked polls when their wait passes: one thread and one ordered map for the whole
// broker, instead of a grpc::Alarm per parked Poll. Debian's libgrpc is built with gRPC's
// debug tag check, which scans every tag outstanding on a completion queue for each event
// it delivers, and its timer list rescans far timers: 10,000 parked alarms made every event
// of the broker slower (bench/README.md "Presence and login storms").
//
// Thread-safe. Targets are called on this object's own thread, with no lock of it held; a
// target is held (shared_ptr) until it is called, cancelled or the object stops.
class PollDeadlines {
 public:
  class Target {
   public:
    virtual ~Target() = default;
    virtual void OnDeadline() = 0;
  };
  using Handle = uint64_t;  // never 0

  PollDeadlines();
  ~PollDeadlines();  // Stop()
  PollDeadlines(const PollDeadlines&) = delete;
  PollDeadlines& operator=(const PollDeadlines&) = delete;

  // Calls target->OnDeadline() once `when` has passed, unless cancelled first.
  Handle Add(absl::Time when, std::shared_ptr<Target> target);
  // Forgets a deadline; a target already being called is not stopped (it must cope).
  void Cancel(Handle handle);
  // Ends the thread and drops every target without calling it. Idempotent.
  void Stop();
  size_t pending();

 private:
  void Run();

  absl::Mutex mu_;
  absl::CondVar changed_;
  std::map<std::pair<absl::Time, Handle>, std::shared_ptr<Target>> by_time_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Handle, absl::Time> time_of_ ABSL_GUARDED_BY(mu_);
  Handle next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_POLL_DEADLINES_H_
