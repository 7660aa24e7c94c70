#ifndef PARLEY_TESTS_TESTING_CHILD_PROCESS_H_
#define PARLEY_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace parley::testing {

// A program started by a test, with its stderr (and stdout) captured line by line. Killed
// (SIGKILL) on destruction if still running. Used from one test thread; the capture runs on
// an internal thread.
class ChildProcess {
 public:
  // Starts `argv[0]` with the arguments; fails the test if it cannot.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Waits for an output line containing `text` and returns it.
  std::optional<std::string> WaitForLine(const std::string& text,
                                         absl::Duration timeout = absl::Seconds(10));
  // Waits for the "port=N" that Parley's programs log once listening; 0 if none came.
  int WaitForListeningPort(absl::Duration timeout = absl::Seconds(10));
  void Signal(int signal_number);
  // Waits for the process to exit; returns its exit status (or -signal), nullopt on timeout.
  std::optional<int> WaitForExit(absl::Duration timeout);
  std::string Output();

 private:
  void Capture(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;  // from waitpid, once reaped_
  std::thread capture_;
  absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_CHILD_PROCESS_H_
