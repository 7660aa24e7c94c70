// The broker client's asynchronous calls against a real broker in this process.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "frontend/broker/broker_client.h"
#include "tests/testing/in_process_broker.h"
#include "tests/testing/outcome.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::InProcessBroker;
using ::parley::testing::Outcome;
using ::parley::testing::WaitFor;

class BrokerClientAsyncTest : public ::testing::Test {
 protected:
  void Connect(const std::string& user) {
    v1::ConnectRequest request;
    request.set_user(user);
    request.set_session(user + "-s");
    Outcome<v1::ConnectResponse> connected;
    client_.ConnectAsync(request, connected.Callback());
    ASSERT_TRUE(connected.Wait());
    ASSERT_TRUE(connected.status.ok()) << connected.status.error_message();
    cursor_ = connected.response.cursor();
  }
  v1::PollRequest PollFrom(const std::string& user, uint32_t wait_ms) {
    v1::PollRequest request;
    request.set_user(user);
    request.set_cursor(cursor_);
    request.set_wait_ms(wait_ms);
    return request;
  }
  size_t Parked() { return broker_.server().state().parked_polls(); }

  InProcessBroker broker_;
  BrokerClient client_{
      BrokerClientOptions{broker_.address(), nullptr, absl::Seconds(2), absl::Seconds(2), 2}};
  uint64_t cursor_ = 0;
};

TEST_F(BrokerClientAsyncTest, AParkedPollCompletesWhenAMessageArrives) {
  Connect("alice");
  Outcome<v1::PollResponse> polled;
  auto pending = client_.PollAsync(PollFrom("alice", 20'000), nullptr, polled.Callback());
  ASSERT_NE(pending, nullptr);
  ASSERT_TRUE(WaitFor([&] { return Parked() == 1; }));
  EXPECT_FALSE(polled.done.HasBeenNotified());
  v1::PublishRequest publish;
  publish.set_sender("alice");
  publish.set_room("lobby");
  publish.set_text("hello");
  Outcome<v1::PublishResponse> published;
  client_.PublishAsync(publish, published.Callback());
  ASSERT_TRUE(published.Wait());
  ASSERT_TRUE(published.status.ok());
  ASSERT_TRUE(polled.Wait());
  ASSERT_TRUE(polled.status.ok());
  ASSERT_EQ(polled.response.messages_size(), 1);
  EXPECT_EQ(polled.response.messages(0).text(), "hello");
}

TEST_F(BrokerClientAsyncTest, CancelEndsOnePollAndCancelPollsEndsTheRestEmpty) {
  Connect("alice");
  Outcome<v1::PollResponse> cancelled;
  Outcome<v1::PollResponse> drained;
  auto first = client_.PollAsync(PollFrom("alice", 20'000), nullptr, cancelled.Callback());
  auto second = client_.PollAsync(PollFrom("alice", 20'000), nullptr, drained.Callback());
  ASSERT_TRUE(WaitFor([&] { return Parked() == 2; }));
  first->Cancel();
  ASSERT_TRUE(cancelled.Wait(absl::Seconds(5)));
  EXPECT_EQ(cancelled.status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(WaitFor([&] { return Parked() == 1; }));
  client_.CancelPolls();
  ASSERT_TRUE(drained.Wait(absl::Seconds(5)));
  EXPECT_TRUE(drained.status.ok());  // shutdown answers empty, not as an error
  EXPECT_EQ(drained.response.messages_size(), 0);
  Outcome<v1::PollResponse> late;
  EXPECT_EQ(client_.PollAsync(PollFrom("alice", 20'000), nullptr, late.Callback()), nullptr);
  ASSERT_TRUE(late.done.HasBeenNotified());  // answered at once, on this thread
  EXPECT_TRUE(late.status.ok());
}

TEST_F(BrokerClientAsyncTest, QuiesceAnswersParkedPollsEmpty) {
  Connect("alice");
  Outcome<v1::PollResponse> parked;
  client_.PollAsync(PollFrom("alice", 20'000), nullptr, parked.Callback());
  ASSERT_TRUE(WaitFor([&] { return Parked() == 1; }));
  client_.Quiesce();
  EXPECT_TRUE(parked.done.HasBeenNotified());
  EXPECT_TRUE(parked.status.ok());  // answered empty, as on shutdown
  EXPECT_EQ(parked.response.messages_size(), 0);
}

TEST_F(BrokerClientAsyncTest, QuiesceReturnsOnlyOnceEveryCallbackHasRun) {
  // A callback still running (on gRPC's thread) when Quiesce is called: Quiesce must not
  // return before it has, or the frontend would free what the callback is using.
  absl::Notification entered, release, returned;
  std::atomic<bool> finished{false};
  client_.StatsAsync([&](grpc::Status, v1::StatsResponse) {
    entered.Notify();
    release.WaitForNotification();
    finished = true;
  });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  std::thread quiescer([&] {
    client_.Quiesce();
    returned.Notify();
  });
  // A Quiesce that does not wait returns at once; one that does cannot return in this time.
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  release.Notify();
  quiescer.join();
  EXPECT_TRUE(finished);
}

TEST_F(BrokerClientAsyncTest, ErrorsComeBackAsStatusesAndADeadBrokerWithinTheTimeout) {
  v1::JoinRequest join;
  join.set_user("nobody");
  join.set_room("games");
  Outcome<v1::JoinResponse> joined;
  client_.JoinAsync(join, joined.Callback());
  ASSERT_TRUE(joined.Wait());
  EXPECT_EQ(joined.status.error_code(), grpc::StatusCode::NOT_FOUND);

  BrokerClient nowhere(
      BrokerClientOptions{"127.0.0.1:1", nullptr, absl::Milliseconds(300), absl::Seconds(1), 1});
  Outcome<v1::StatsResponse> stats;
  const absl::Time asked = absl::Now();
  nowhere.StatsAsync(stats.Callback());
  ASSERT_TRUE(stats.Wait(absl::Seconds(60)));
  EXPECT_FALSE(stats.status.ok());
  EXPECT_LT(absl::Now() - asked, absl::Seconds(10));  // not gRPC's reconnect backoff (to 20 s)
}

}  // namespace
}  // namespace parley::frontend
