#include "tests/testing/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace parley::testing {
namespace {

std::atomic<int> signals_caught{0};
void CountSignal(int) { signals_caught.fetch_add(1); }

// The scheduler state letter ('R', 'S', ...) of thread `tid` of this process.
char ThreadState(pid_t tid) {
  std::ifstream stat(absl::StrCat("/proc/self/task/", tid, "/stat"));
  std::string line;
  std::getline(stat, line);
  const size_t after_name = line.rfind(')');
  return after_name == std::string::npos || after_name + 2 >= line.size() ? '?'
                                                                          : line[after_name + 2];
}

// libFuzzer's watchdog is a SIGALRM handler without SA_RESTART: a connect waiting for its
// handshake when it fires returns EINTR while the handshake goes on. The connection must
// still come up (it did not: the fuzzer failed "connect failed: Interrupted system call").
TEST(RawConnectionTest, AConnectASignalInterruptsStillConnects) {
  struct sigaction action {};
  action.sa_handler = CountSignal;  // no SA_RESTART, like libFuzzer's
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);

  // A listener whose accept queue (backlog 0: one connection) is full, so the next connect
  // waits for its SYN to be retransmitted after the queue drains.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 0), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);
  RawConnection queued(port);
  ASSERT_TRUE(queued.ok());

  std::atomic<pid_t> connecting_tid{0};
  bool connected = false;
  int connect_errno = 0;
  std::thread connecting([&] {
    connecting_tid = static_cast<pid_t>(syscall(SYS_gettid));
    RawConnection waiting(port);
    connected = waiting.ok();
    connect_errno = errno;
  });
  // The thread sleeps in connect; interrupt it there, then let the queue drain. (No ASSERT
  // until it is joined: the accept below is what lets it finish.)
  const int signals_before = signals_caught.load();
  EXPECT_TRUE(WaitFor([&] { return connecting_tid != 0 && ThreadState(connecting_tid) == 'S'; },
                      absl::Seconds(10)));
  pthread_kill(connecting.native_handle(), SIGUSR1);
  EXPECT_TRUE(WaitFor([&] { return signals_caught.load() > signals_before; }, absl::Seconds(10)));
  const int accepted = accept(listener, nullptr, nullptr);
  EXPECT_GE(accepted, 0);
  connecting.join();
  EXPECT_TRUE(connected) << "connect failed: " << std::strerror(connect_errno);

  if (accepted >= 0) close(accepted);
  close(listener);
  sigaction(SIGUSR1, &previous, nullptr);
}

}  // namespace
}  // namespace parley::testing
