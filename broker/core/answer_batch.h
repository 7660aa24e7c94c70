#ifndef PARLEY_BROKER_CORE_ANSWER_BATCH_H_
#define PARLEY_BROKER_CORE_ANSWER_BATCH_H_

#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"

namespace parley::broker {

// A burst of poll answers on one thread (the polls one message woke) as one batch: while an
// AnswerBatch lives on a thread, work each answer would start for its connection (a stream's
// write) is held back, once per connection, and done when the batch ends. So the thread hands
// every answer over before any write competes with it for the CPU, and a stream sends the
// burst in one write instead of its first answer alone and the rest after.
//
// Lives on one thread's stack; a nested batch hands its work to nobody else (each runs its
// own). The held work runs with no lock of the batch's owner held.
class AnswerBatch {
 public:
  AnswerBatch() : outer_(current_) { current_ = this; }
  ~AnswerBatch() { RunNow(); }
  AnswerBatch(const AnswerBatch&) = delete;
  AnswerBatch& operator=(const AnswerBatch&) = delete;

  // Holds `work` for `key` until the batch on this thread ends (once per key: a key already
  // held keeps its first work). False when no batch is open here: run it yourself.
  static bool Defer(const void* key, absl::AnyInvocable<void()> work) {
    if (current_ == nullptr) return false;
    if (current_->keys_.insert(key).second) current_->held_.push_back(std::move(work));
    return true;
  }

  // Ends the batch on this thread and runs what was held.
  void RunNow() {
    if (current_ == this) current_ = outer_;
    std::vector<absl::AnyInvocable<void()>> held = std::move(held_);
    held_.clear();
    keys_.clear();
    for (auto& work : held) work();
  }

 private:
  static inline thread_local AnswerBatch* current_ = nullptr;
  AnswerBatch* const outer_;
  absl::flat_hash_set<const void*> keys_;
  std::vector<absl::AnyInvocable<void()>> held_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_ANSWER_BATCH_H_
