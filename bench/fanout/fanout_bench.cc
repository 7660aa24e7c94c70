// parley-fanout-bench: what one Publish to a room of N users costs the broker's chat core
// (ChatState: append to N queues, take N parked waiters, wake them), and what a join (a
// login into the lobby) and a leave cost there, without gRPC. Prints CPU µs for each. The gRPC
// answer to each woken poll comes on top and is in bench/run.sh's hold10k figures.
#include <time.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "broker/core/chat_state.h"
#include "broker/core/clock.h"
#include "broker/store/memory/memory_chat_store.h"
#include "tests/testing/sync_chat_state.h"

ABSL_FLAG(int, users, 10000, "Members of the room.");
ABSL_FLAG(int, messages, 200, "Messages published.");
ABSL_FLAG(bool, parked, true, "Every member has a parked poll, woken by each message.");
ABSL_FLAG(int, joins, 1000, "Logins (Connect: a queue and a lobby join) measured, then logouts.");

namespace {

using parley::broker::ChatState;

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// A parked poll that counts its wakes and parks again, as a woken PollCall would read and
// answer (here: park for the next message).
class Waiter : public parley::broker::PollWaiter, public std::enable_shared_from_this<Waiter> {
 public:
  Waiter(parley::testing::SyncChatState* state, std::string user)
      : state_(state), user_(std::move(user)) {}
  void Wake() override {
    ++wakes;
    parley::broker::ReadInput input;
    input.user = user_;
    input.cursor = cursor_;
    input.max_messages = 100;
    auto outcome = state_->ReadOrPark(input, nullptr);  // read what woke it
    if (outcome.ok()) cursor_ = outcome->read.cursor;
  }
  void Park() {
    parley::broker::ReadInput input;
    input.user = user_;
    input.cursor = cursor_;
    input.max_messages = 100;
    auto outcome = state_->ReadOrPark(input, shared_from_this());
    if (outcome.ok() && !outcome->parked) cursor_ = outcome->read.cursor;
  }
  int wakes = 0;

 private:
  parley::testing::SyncChatState* const state_;
  const std::string user_;
  uint64_t cursor_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int users = absl::GetFlag(FLAGS_users);
  const int messages = absl::GetFlag(FLAGS_messages);
  const bool parked = absl::GetFlag(FLAGS_parked);
  parley::broker::SystemClock clock;
  parley::broker::ChatOptions options;
  options.publish_rate = options.publish_burst = 1e9;  // one sender publishes everything
  parley::broker::MemoryChatStore store(options);
  ChatState chat(options, &clock, &store);
  parley::testing::SyncChatState state(&chat);
  std::vector<std::shared_ptr<Waiter>> waiters;
  for (int i = 0; i < users; ++i) {
    const std::string user = absl::StrCat("u", i);
    if (!state.Connect(user, "s").ok()) return 1;
    waiters.push_back(std::make_shared<Waiter>(&state, user));
  }
  for (auto& waiter : waiters) waiter->Park();  // catch up with the JOINs first
  double publish_cpu = 0;
  double repark_cpu = 0;
  for (int m = 0; m < messages; ++m) {
    if (parked) {
      const double start = ThreadCpuSeconds();
      for (auto& waiter : waiters) waiter->Park();
      repark_cpu += ThreadCpuSeconds() - start;
    }
    parley::broker::PublishInput input;
    input.sender = "u0";
    input.room = "lobby";
    input.text = absl::StrCat("message ", m);
    const double start = ThreadCpuSeconds();
    if (!state.Publish(input).ok()) return 1;
    publish_cpu += ThreadCpuSeconds() - start;
  }
  const int joins = absl::GetFlag(FLAGS_joins);
  double join_cpu = 0;
  double leave_cpu = 0;
  for (int j = 0; j < joins; ++j) {
    const std::string user = absl::StrCat("joiner", j);
    double start = ThreadCpuSeconds();
    if (!state.Connect(user, user).ok()) return 1;
    join_cpu += ThreadCpuSeconds() - start;
    start = ThreadCpuSeconds();
    if (!state.Disconnect(user, user).ok()) return 1;
    leave_cpu += ThreadCpuSeconds() - start;
  }
  std::printf(
      "parley-fanout-bench: into a room of %d members: %.2f us CPU per login (join), "
      "%.2f us per logout (leave)\n",
      users, join_cpu / joins * 1e6, leave_cpu / joins * 1e6);
  const double per_publish_us = publish_cpu / messages * 1e6;
  std::printf(
      "parley-fanout-bench: %d members%s, %d messages: %.0f us CPU per publish (%.3f us per "
      "recipient); parking a poll again: %.3f us\n",
      users, parked ? " each with a parked poll" : "", messages, per_publish_us,
      per_publish_us / users, parked ? repark_cpu / messages / users * 1e6 : 0.0);
  return waiters.front()->wakes >= (parked ? messages : 0) ? 0 : 1;
}
