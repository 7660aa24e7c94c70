// The frontend in front of several brokers: --broker parsing, calls and PollStreams spread
// over every broker (round_robin), a broker that crashes skipped with its cursor polls moved,
// and PollStream calls retired at their age without re-sending anything. The brokers here
// are in-memory ones, so each test connects its users on every broker.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "frontend/broker/broker_client.h"
#include "frontend/broker/broker_target.h"
#include "tests/testing/in_process_broker.h"
#include "tests/testing/outcome.h"
#include "tests/testing/silent_proxy.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::InProcessBroker;
using ::parley::testing::Outcome;
using ::parley::testing::PollFor;
using ::parley::testing::SilentProxy;
using ::parley::testing::WaitFor;
using PollOutcome = Outcome<v1::PollResponse>;

TEST(BrokerTargetTest, ListsOfIpLiteralsBecomeOneRoundRobinTarget) {
  absl::StatusOr<BrokerTarget> one = ParseBrokerTarget("127.0.0.1:50051");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->grpc_target, "127.0.0.1:50051");
  EXPECT_EQ(one->listed_brokers, 1);
  absl::StatusOr<BrokerTarget> named = ParseBrokerTarget("broker:50051");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->grpc_target, "broker:50051");
  absl::StatusOr<BrokerTarget> list = ParseBrokerTarget("10.0.0.1:50051,10.0.0.2:50052");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->grpc_target, "ipv4:10.0.0.1:50051,10.0.0.2:50052");
  EXPECT_EQ(list->listed_brokers, 2);
  absl::StatusOr<BrokerTarget> v6 = ParseBrokerTarget("[::1]:50051,[::1]:50052");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->grpc_target, "ipv6:[::1]:50051,[::1]:50052");
  absl::StatusOr<BrokerTarget> dns = ParseBrokerTarget("dns:///broker:50051");
  ASSERT_TRUE(dns.ok());
  EXPECT_EQ(dns->grpc_target, "dns:///broker:50051");
  EXPECT_EQ(dns->listed_brokers, 0);
  for (const char* bad : {"", "10.0.0.1", "10.0.0.1:0", "10.0.0.1:50051,",
                          "10.0.0.1:50051,broker:50051", "10.0.0.1:1,[::1]:2", ":50051"}) {
    EXPECT_EQ(ParseBrokerTarget(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(std::string(ParseBrokerTarget("10.0.0.1:1,broker:2").status().message()),
              ::testing::HasSubstr("dns:///"));
}

// Two brokers, each behind a proxy that the test can cut (a crash), and a client over both.
class BrokerSpreadTest : public ::testing::Test {
 protected:
  std::unique_ptr<BrokerClient> Client(absl::Duration stream_max_age = absl::Minutes(2)) {
    BrokerClientOptions options;
    absl::StatusOr<BrokerTarget> target = ParseBrokerTarget(
        absl::StrCat("127.0.0.1:", proxy_a_.port(), ",127.0.0.1:", proxy_b_.port()));
    EXPECT_TRUE(target.ok()) << target.status();
    options.address = target->grpc_target;
    options.brokers = target->listed_brokers;
    options.counters = &counters_;
    options.stream_max_age = stream_max_age;
    return std::make_unique<BrokerClient>(options);
  }

  // Connects `user` on both brokers (they share no state); returns the cursor, alike on both.
  uint64_t ConnectEverywhere(const std::string& user) {
    const uint64_t cursor = a_.Connect(user).cursor();
    EXPECT_EQ(b_.Connect(user).cursor(), cursor);
    return cursor;
  }

  // One parked poll for each of `users` users (connected on both brokers), named p0, p1, ...
  // A user's polls keep to one broker, so enough users reach both (all on one: 2 in 2^32).
  std::vector<std::unique_ptr<PollOutcome>> PollAsManyUsers(BrokerClient& client, int users) {
    std::vector<std::unique_ptr<PollOutcome>> polls;
    // Everyone first: each login tells the lobby, and the polls must find nothing to read.
    for (int i = 0; i < users; ++i) ConnectEverywhere(absl::StrCat("p", i));
    for (int i = 0; i < users; ++i) {
      const std::string user = absl::StrCat("p", i);
      const uint64_t cursor = ConnectEverywhere(user);  // resumed: the queue's end now
      polls.push_back(std::make_unique<PollOutcome>());
      client.PollAsync(PollFor(user, cursor, 30'000), nullptr, polls.back()->Callback());
    }
    return polls;
  }

  InProcessBroker a_;
  InProcessBroker b_;
  SilentProxy proxy_a_{a_.server().port()};
  SilentProxy proxy_b_{b_.server().port()};
  PollStreamCounters counters_;
};

TEST_F(BrokerSpreadTest, PollsAndCallsReachEveryBroker) {
  auto client = Client();
  const std::vector<std::unique_ptr<PollOutcome>> polls = PollAsManyUsers(*client, 32);
  ASSERT_TRUE(WaitFor([&] { return a_.ParkedPolls() + b_.ParkedPolls() == 32; }));
  EXPECT_GE(a_.ParkedPolls(), 1u);
  EXPECT_GE(b_.ParkedPolls(), 1u);
  for (int i = 0; i < 10; ++i) {
    Outcome<v1::ConnectResponse> connected;
    v1::ConnectRequest request;
    request.set_user(absl::StrCat("u", i));
    request.set_session(absl::StrCat("u", i, "-session"));
    client->ConnectAsync(request, connected.Callback());
    ASSERT_TRUE(connected.Wait());
    ASSERT_TRUE(connected.status.ok()) << connected.status.error_message();
  }
  v1::StatsResponse stats_a, stats_b;
  grpc::ClientContext context_a, context_b;
  ASSERT_TRUE(a_.stub().Stats(&context_a, v1::StatsRequest(), &stats_a).ok());
  ASSERT_TRUE(b_.stub().Stats(&context_b, v1::StatsRequest(), &stats_b).ok());
  // The 32 pollers on both, each of the 10 others on one.
  EXPECT_EQ(stats_a.users() + stats_b.users(), 2u * 32u + 10u);
  EXPECT_GE(stats_a.users(), 32u + 1u);
  EXPECT_GE(stats_b.users(), 32u + 1u);
  client->CancelPolls();
}

TEST_F(BrokerSpreadTest, OneUsersPollsKeepToOneBroker) {
  auto client = Client();
  const uint64_t cursor = ConnectEverywhere("alice");
  std::vector<std::unique_ptr<PollOutcome>> polls;
  for (int i = 0; i < 8; ++i) {
    polls.push_back(std::make_unique<PollOutcome>());
    client->PollAsync(PollFor("alice", cursor, 30'000), nullptr, polls.back()->Callback());
  }
  ASSERT_TRUE(WaitFor([&] { return a_.ParkedPolls() + b_.ParkedPolls() == 8; }));
  EXPECT_TRUE(a_.ParkedPolls() == 8 || b_.ParkedPolls() == 8)
      << "A holds " << a_.ParkedPolls() << ", B " << b_.ParkedPolls();
  client->CancelPolls();
}

TEST_F(BrokerSpreadTest, ABrokerThatCrashesIsSkippedAndItsCursorPollsMoveToAnother) {
  auto client = Client();
  const std::vector<std::unique_ptr<PollOutcome>> polls = PollAsManyUsers(*client, 32);
  ASSERT_TRUE(WaitFor([&] { return a_.ParkedPolls() + b_.ParkedPolls() == 32; }));
  ASSERT_GE(a_.ParkedPolls(), 1u);
  const uint64_t on_b = b_.ParkedPolls();
  proxy_a_.Cut();
  // A's polls are sent once more, to B (A refuses connections now); none is answered yet.
  ASSERT_TRUE(WaitFor([&] { return b_.ParkedPolls() == 32; }))
      << "B holds " << b_.ParkedPolls() << ", had " << on_b;
  EXPECT_EQ(counters_.resends.load(), static_cast<int64_t>(32 - on_b));
  for (auto& poll : polls) EXPECT_FALSE(poll->done.HasBeenNotified());
  b_.Say("p0", "lobby", "after the crash");  // every p is in the lobby
  for (auto& poll : polls) {
    ASSERT_TRUE(poll->Wait());
    ASSERT_TRUE(poll->status.ok()) << poll->status.error_message();
    ASSERT_EQ(poll->response.messages_size(), 1);
    EXPECT_EQ(poll->response.messages(0).text(), "after the crash");
  }
}

TEST_F(BrokerSpreadTest, AStreamCallIsRetiredAtItsAgeWithoutReSendingItsPolls) {
  auto client = Client(absl::Milliseconds(500));
  const uint64_t cursor = ConnectEverywhere("alice");
  PollOutcome before;
  client->PollAsync(PollFor("alice", cursor, 30'000), nullptr, before.Callback());
  ASSERT_TRUE(WaitFor([&] { return a_.ParkedPolls() + b_.ParkedPolls() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return counters_.streams_retired.load() >= 1; }));
  // The retired call is half-closed, not ended: its poll stays parked at its broker.
  PollOutcome after;
  client->PollAsync(PollFor("alice", cursor, 30'000), nullptr, after.Callback());
  ASSERT_TRUE(WaitFor([&] { return a_.ParkedPolls() + b_.ParkedPolls() == 2; }));
  EXPECT_FALSE(before.done.HasBeenNotified());
  a_.Say("alice", "lobby", "to both");
  b_.Say("alice", "lobby", "to both");
  for (PollOutcome* poll : {&before, &after}) {
    ASSERT_TRUE(poll->Wait());
    ASSERT_TRUE(poll->status.ok()) << poll->status.error_message();
    ASSERT_EQ(poll->response.messages_size(), 1);
  }
  EXPECT_EQ(counters_.resends.load(), 0);
}

TEST(BrokerConnectionAgeTest, AnAgedConnectionSendsNewCallsToANewOneAndLetsOpenOnesFinish) {
  // What lets frontends spread onto brokers added since: at its age the broker tells the
  // connection to go (GOAWAY); calls after that open a new connection (for a DNS target, after
  // resolving again), while a parked poll on the old one is still answered there.
  broker::BrokerServerOptions options;
  options.max_connection_age = absl::Milliseconds(300);
  InProcessBroker broker(options);
  SilentProxy proxy(broker.server().port());
  PollStreamCounters counters;
  BrokerClientOptions client_options;
  client_options.address = absl::StrCat("127.0.0.1:", proxy.port());
  client_options.counters = &counters;
  BrokerClient client(client_options);
  const uint64_t cursor = broker.Connect("alice").cursor();
  PollOutcome parked;
  client.PollAsync(PollFor("alice", cursor, 30'000), nullptr, parked.Callback());
  ASSERT_TRUE(WaitFor([&] { return broker.ParkedPolls() == 1; }));
  const int before = proxy.connections_accepted();
  ASSERT_TRUE(WaitFor([&] {
    Outcome<v1::StatsResponse> stats;
    client.StatsAsync(stats.Callback());
    return stats.Wait() && stats.status.ok() && proxy.connections_accepted() > before;
  }));
  broker.Say("alice", "lobby", "on the old connection");
  ASSERT_TRUE(parked.Wait());
  ASSERT_TRUE(parked.status.ok()) << parked.status.error_message();
  EXPECT_EQ(parked.response.messages_size(), 1);
  EXPECT_EQ(counters.resends.load(), 0);
}

}  // namespace
}  // namespace parley::frontend
