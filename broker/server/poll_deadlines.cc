#include "broker/server/poll_deadlines.h"

#include <vector>

#include "absl/time/clock.h"

namespace parley::broker {

PollDeadlines::PollDeadlines() : thread_(&PollDeadlines::Run, this) {}

PollDeadlines::~PollDeadlines() { Stop(); }

PollDeadlines::Handle PollDeadlines::Add(absl::Time when, std::shared_ptr<Target> target) {
  absl::MutexLock lock(&mu_);
  const Handle handle = next_handle_++;
  const bool earliest = by_time_.empty() || when < by_time_.begin()->first.first;
  by_time_.emplace(std::make_pair(when, handle), std::move(target));
  time_of_.emplace(handle, when);
  if (earliest) changed_.Signal();
  return handle;
}

void PollDeadlines::Cancel(Handle handle) {
  std::shared_ptr<Target> dropped;  // released after the lock: it may be the last reference
  absl::MutexLock lock(&mu_);
  auto it = time_of_.find(handle);
  if (it == time_of_.end()) return;
  auto entry = by_time_.find({it->second, handle});
  dropped = std::move(entry->second);
  by_time_.erase(entry);
  time_of_.erase(it);
}

void PollDeadlines::Stop() {
  decltype(by_time_) dropped;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    changed_.Signal();
  }
  thread_.join();
  absl::MutexLock lock(&mu_);
  dropped.swap(by_time_);
  time_of_.clear();
}

size_t PollDeadlines::pending() {
  absl::MutexLock lock(&mu_);
  return by_time_.size();
}

void PollDeadlines::Run() {
  std::vector<std::shared_ptr<Target>> due;
  mu_.Lock();
  while (!stopping_) {
    if (by_time_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    const absl::Time next = by_time_.begin()->first.first;
    if (absl::Now() < next) {
      changed_.WaitWithDeadline(&mu_, next);
      continue;
    }
    const absl::Time now = absl::Now();
    while (!by_time_.empty() && by_time_.begin()->first.first <= now) {
      time_of_.erase(by_time_.begin()->first.second);
      due.push_back(std::move(by_time_.begin()->second));
      by_time_.erase(by_time_.begin());
    }
    mu_.Unlock();
    for (const auto& target : due) target->OnDeadline();
    due.clear();  // may delete targets: still without the lock
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace parley::broker
