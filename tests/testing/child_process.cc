#include "tests/testing/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/testing/wait_for.h"

extern char** environ;

namespace parley::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int error = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (error != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << strerror(error);
    close(pipe_fds[0]);
    pid_ = -1;
    return;
  }
  capture_ = std::thread(&ChildProcess::Capture, this, pipe_fds[0]);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (capture_.joinable()) capture_.join();
}

void ChildProcess::Capture(int fd) {
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    absl::MutexLock lock(&mu_);
    output_.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
}

std::optional<std::string> ChildProcess::WaitForLine(const std::string& text,
                                                     absl::Duration timeout) {
  std::optional<std::string> found;
  WaitFor(
      [&] {
        absl::MutexLock lock(&mu_);
        for (absl::string_view line : absl::StrSplit(output_, '\n')) {
          if (line.find(text) != absl::string_view::npos) {
            found = std::string(line);
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

int ChildProcess::WaitForListeningPort(absl::Duration timeout) {
  std::optional<std::string> line = WaitForLine(" port=", timeout);
  if (!line) return 0;
  const size_t at = line->find(" port=") + 6;
  int port = 0;
  if (!absl::SimpleAtoi(line->substr(at, line->find(' ', at) - at), &port)) return 0;
  return port;
}

void ChildProcess::Signal(int signal_number) {
  if (pid_ > 0 && !reaped_) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return std::nullopt;
  const bool exited = WaitFor(
      [&] {
        if (!reaped_ && waitpid(pid_, &wait_status_, WNOHANG) == pid_) reaped_ = true;
        return reaped_;
      },
      timeout);
  if (!exited) return std::nullopt;
  // The child is gone, but its last output may still be in the pipe: read it all before
  // anyone asks for Output() (a --help that exits at once came back empty under load).
  if (capture_.joinable()) capture_.join();
  if (WIFSIGNALED(wait_status_)) return -WTERMSIG(wait_status_);
  return WEXITSTATUS(wait_status_);
}

std::string ChildProcess::Output() {
  absl::MutexLock lock(&mu_);
  return output_;
}

}  // namespace parley::testing
