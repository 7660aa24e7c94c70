#include "broker/server/poll_deadlines.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/testing/wait_for.h"

namespace parley::broker {
namespace {

using ::parley::testing::WaitFor;

// Records the order in which targets were called.
struct Log {
  absl::Mutex mu;
  std::vector<int> called ABSL_GUARDED_BY(mu);
  size_t size() {
    absl::MutexLock lock(&mu);
    return called.size();
  }
};

class Recorder : public PollDeadlines::Target {
 public:
  Recorder(Log* log, int id) : log_(log), id_(id) {}
  void OnDeadline() override {
    absl::MutexLock lock(&log_->mu);
    log_->called.push_back(id_);
  }

 private:
  Log* const log_;
  const int id_;
};

TEST(PollDeadlinesTest, CallsEachTargetOnceInDeadlineOrder) {
  PollDeadlines deadlines;
  Log log;
  const absl::Time now = absl::Now();
  deadlines.Add(now + absl::Milliseconds(60), std::make_shared<Recorder>(&log, 3));
  deadlines.Add(now + absl::Milliseconds(20), std::make_shared<Recorder>(&log, 1));
  deadlines.Add(now + absl::Milliseconds(40), std::make_shared<Recorder>(&log, 2));
  deadlines.Add(now - absl::Seconds(1), std::make_shared<Recorder>(&log, 0));  // already past
  ASSERT_TRUE(WaitFor([&] { return log.size() == 4; }));
  absl::MutexLock lock(&log.mu);
  EXPECT_EQ(log.called, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_GE(absl::Now() - now, absl::Milliseconds(60));
}

TEST(PollDeadlinesTest, ACancelledTargetIsNeverCalledAndIsReleased) {
  PollDeadlines deadlines;
  Log log;
  auto cancelled = std::make_shared<Recorder>(&log, 1);
  std::weak_ptr<Recorder> watch = cancelled;
  const PollDeadlines::Handle handle =
      deadlines.Add(absl::Now() + absl::Milliseconds(30), std::move(cancelled));
  deadlines.Add(absl::Now() + absl::Milliseconds(60), std::make_shared<Recorder>(&log, 2));
  EXPECT_EQ(deadlines.pending(), 2u);
  deadlines.Cancel(handle);
  deadlines.Cancel(handle);  // twice is harmless
  EXPECT_TRUE(watch.expired());
  ASSERT_TRUE(WaitFor([&] { return log.size() == 1; }));
  absl::MutexLock lock(&log.mu);
  EXPECT_EQ(log.called, std::vector<int>{2});
}

TEST(PollDeadlinesTest, StopDropsWhatIsPendingWithoutCallingIt) {
  Log log;
  auto target = std::make_shared<Recorder>(&log, 1);
  std::weak_ptr<Recorder> watch = target;
  {
    PollDeadlines deadlines;
    deadlines.Add(absl::Now() + absl::Hours(1), std::move(target));
    deadlines.Stop();
    EXPECT_TRUE(watch.expired());
    EXPECT_EQ(deadlines.pending(), 0u);
  }
  EXPECT_EQ(log.size(), 0u);
}

}  // namespace
}  // namespace parley::broker
