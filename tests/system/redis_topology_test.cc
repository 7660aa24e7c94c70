// Parley past one machine, as operators run it with --redis: two redis-server shards (AOF with
// appendfsync always), three parley-broker processes sharing them, two parley-frontends each
// over all three brokers. The topology is started once for the suite (make test runs it twice,
// plain and under the sanitizers); each test uses user names of its own and leaves every
// process running as it found it.

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "parley/v1/broker.grpc.pb.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/from_json.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/wait_for.h"

namespace parley {
namespace {

using ::parley::testing::ChildProcess;
using ::parley::testing::FromJson;
using ::parley::testing::RedisServer;
using ::parley::testing::WaitFor;

constexpr int kBrokers = 3;
constexpr int kFrontends = 2;

// The processes, started once.
class Topology {
 public:
  Topology() {
    RedisServer::Options always;
    always.appendfsync_always = true;
    for (auto& shard : shards_) shard = std::make_unique<RedisServer>(always);
    secret_file_ = absl::StrCat(::testing::TempDir(), "/topology-secret-", getpid());
    std::ofstream(secret_file_) << "a-secret-every-frontend-shares-0123456789\n";
    for (int i = 0; i < kBrokers; ++i) StartBroker(i);
    std::vector<std::string> brokers;
    for (int port : broker_ports_) brokers.push_back(absl::StrCat("127.0.0.1:", port));
    for (int i = 0; i < kFrontends; ++i) {
      frontends_[i] = std::make_unique<ChildProcess>(
          std::vector<std::string>{PARLEY_FRONTEND_BINARY, "--listen=127.0.0.1:0", "--loops=1",
                                   "--broker=" + absl::StrJoin(brokers, ","),
                                   "--session_secret_file=" + secret_file_, "--login_burst=1000"});
      frontend_ports_[i] = frontends_[i]->WaitForListeningPort();
      EXPECT_NE(frontend_ports_[i], 0) << frontends_[i]->Output();
    }
  }
  ~Topology() { std::remove(secret_file_.c_str()); }

  // Starts broker i, on the port it had before if it ran already.
  void StartBroker(int i) {
    std::vector<std::string> shards;
    for (auto& shard : shards_) shards.push_back(shard->address());
    brokers_[i] = std::make_unique<ChildProcess>(std::vector<std::string>{
        PARLEY_BROKER_BINARY, absl::StrCat("--listen=127.0.0.1:", broker_ports_[i]), "--threads=1",
        "--drain_delay=0s", "--redis=" + absl::StrJoin(shards, ","),
        "--metrics_listen=127.0.0.1:0"});
    broker_ports_[i] = brokers_[i]->WaitForListeningPort();
    EXPECT_NE(broker_ports_[i], 0) << brokers_[i]->Output();
    const std::optional<std::string> metrics = brokers_[i]->WaitForLine("metrics_port=");
    const size_t at = metrics ? metrics->find("metrics_port=") : std::string::npos;
    metrics_ports_[i] = at == std::string::npos ? 0 : std::atoi(metrics->c_str() + at + 13);
  }
  // Broker i's GET /metrics.
  std::string Metrics(int i) {
    httplib::Client client("127.0.0.1", metrics_ports_[i]);
    httplib::Result result = client.Get("/metrics");
    return result && result->status == 200 ? result->body : "";
  }
  void KillBroker(int i) {
    brokers_[i]->Signal(SIGKILL);
    brokers_[i]->WaitForExit(absl::Seconds(10));
  }
  // The broker's Stats as gRPC answers it.
  v1::StatsResponse BrokerStats(int i) {
    auto stub = v1::Broker::NewStub(BrokerChannel(i));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::StatsResponse stats;
    stub->Stats(&context, v1::StatsRequest(), &stats);
    return stats;
  }
  // Whether `service` is SERVING on broker i: "parley.v1.Broker" is readiness, "" liveness
  // (what the manifests probe each with).
  bool Serving(int i, const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(BrokerChannel(i));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, request, &response).ok() &&
           response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }
  bool BrokerReady(int i) { return Serving(i, "parley.v1.Broker"); }

  RedisServer& shard(int i) { return *shards_[i]; }
  // Whether parley.v1.Broker is SERVING on the broker at `port`.
  static bool ServingAt(int port) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("parley.v1.Broker");
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, request, &response).ok() &&
           response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }
  int frontend_port(int i) const { return frontend_ports_[i]; }
  std::string Logs() {
    std::string logs;
    for (auto& broker : brokers_) absl::StrAppend(&logs, broker->Output());
    for (auto& frontend : frontends_) absl::StrAppend(&logs, frontend->Output());
    return logs;
  }

 public:
  // The server API's calls straight to broker i, as grpcurl makes them.
  std::unique_ptr<v1::Broker::Stub> BrokerStub(int i) {
    return v1::Broker::NewStub(BrokerChannel(i));
  }
  std::shared_ptr<grpc::Channel> BrokerChannel(int i) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", broker_ports_[i]),
                               grpc::InsecureChannelCredentials());
  }

 private:
  std::unique_ptr<RedisServer> shards_[2];
  std::string secret_file_;
  std::unique_ptr<ChildProcess> brokers_[kBrokers];
  int broker_ports_[kBrokers] = {};
  int metrics_ports_[kBrokers] = {};
  std::unique_ptr<ChildProcess> frontends_[kFrontends];
  int frontend_ports_[kFrontends] = {};
};

// One chat user, through one frontend's HTTP API.
class User {
 public:
  User(int frontend_port, std::string name) : port_(frontend_port), name_(std::move(name)) {}

  // Logs in (retrying while the stack answers 503); fails the test otherwise.
  void Login() {
    int status = 0;
    std::string body;
    ASSERT_TRUE(WaitFor([&] {
      httplib::Result login = Client().Post(
          "/api/session", absl::StrCat(R"({"name":")", name_, R"("})"), "application/json");
      status = login ? login->status : 0;
      body = login ? login->body : "";
      return status != 0 && status != 503;
    }));
    ASSERT_EQ(status, 200) << body;
    const auto session = FromJson<v1::SessionInfo>(body);
    token_ = session.token();
    cursor_ = session.cursor();
  }
  v1::SessionInfo Session(int* status) {
    httplib::Result result = Client().Get("/api/session", Auth());
    *status = result ? result->status : 0;
    return result && result->status == 200 ? FromJson<v1::SessionInfo>(result->body)
                                           : v1::SessionInfo();
  }
  int Join(const std::string& room) {
    httplib::Result result =
        Client().Post(absl::StrCat("/api/rooms/", room, "/join"), Auth(), "", "application/json");
    return result ? result->status : 0;
  }
  // GET `path` with the session; the HTTP status (0: no answer).
  int StatusOf(const std::string& path) {
    httplib::Result result = Client().Get(path, Auth());
    return result ? result->status : 0;
  }
  int Leave(const std::string& room) {
    httplib::Result result =
        Client().Post(absl::StrCat("/api/rooms/", room, "/leave"), Auth(), "", "application/json");
    return result ? result->status : 0;
  }
  // The rooms GET /api/rooms lists (empty if it fails).
  std::vector<std::string> Rooms() {
    httplib::Result result = Client().Get("/api/rooms", Auth());
    if (!result || result->status != 200) return {};
    const auto rooms = FromJson<v1::RoomsResponse>(result->body);
    return {rooms.rooms().begin(), rooms.rooms().end()};
  }
  // Publishes to a room ("#room") or a user; the HTTP status (0: no answer).
  httplib::Result Say(const std::string& to, const std::string& text,
                      const std::string& client_id) {
    const std::string target = to[0] == '#' ? absl::StrCat(R"("room":")", to.substr(1), R"(")")
                                            : absl::StrCat(R"("to":")", to, R"(")");
    return Client().Post(
        "/api/messages", Auth(),
        absl::StrCat("{", target, R"(,"text":")", text, R"(","clientId":")", client_id, R"("})"),
        "application/json");
  }
  // Publishes, retrying with the same clientId while the stack answers 503.
  void SayUntilDone(const std::string& to, const std::string& text) {
    const std::string id = absl::StrCat(name_, "-", text);
    int status = 0;
    std::string body;
    ASSERT_TRUE(WaitFor([&] {
      httplib::Result result = Say(to, text, id);
      status = result ? result->status : 0;
      body = result ? result->body : "";
      return status != 0 && status != 503;
    }));
    ASSERT_EQ(status, 200) << body;
  }
  // Long-polls from the cursor until `count` chat or direct lines arrived (or `timeout`),
  // riding out 503s; returns their texts in the order received.
  std::vector<std::string> Receive(size_t count, absl::Duration timeout = absl::Seconds(30)) {
    std::vector<std::string> texts;
    const absl::Time give_up = absl::Now() + timeout;
    while (texts.size() < count && absl::Now() < give_up) {
      httplib::Client client = Client();
      client.set_read_timeout(10, 0);
      httplib::Result polled =
          client.Get(absl::StrCat("/api/poll?wait=5&cursor=", cursor_), Auth());
      if (!polled || polled->status != 200) {
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      const auto response = FromJson<v1::PollResponse>(polled->body);
      for (const v1::Message& message : response.messages()) {
        if (message.kind() == v1::CHAT || message.kind() == v1::DIRECT) {
          texts.push_back(message.text());
        }
      }
      cursor_ = response.cursor();
    }
    return texts;
  }

  const std::string& token() const { return token_; }
  void set_token(std::string token) { token_ = std::move(token); }
  uint64_t cursor() const { return cursor_; }
  httplib::Headers Auth() const { return {{"Authorization", "Bearer " + token_}}; }
  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(10, 0);
    return client;
  }

 private:
  const int port_;
  const std::string name_;
  std::string token_;
  uint64_t cursor_ = 0;
};

std::vector<std::string> Numbered(const std::string& prefix, int count) {
  std::vector<std::string> texts;
  for (int i = 0; i < count; ++i) texts.push_back(absl::StrCat(prefix, i));
  return texts;
}

class RedisTopologyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { topology_ = new Topology(); }
  static void TearDownTestSuite() {
    delete topology_;
    topology_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure()) ADD_FAILURE() << "logs:\n" << topology_->Logs();
  }

  static Topology* topology_;
};

Topology* RedisTopologyTest::topology_ = nullptr;

TEST_F(RedisTopologyTest, UsersOnDifferentFrontendsAndBrokersChatInRoomsAndDirectly) {
  User alice(topology_->frontend_port(0), "alice");
  User bob(topology_->frontend_port(1), "bob");
  alice.Login();
  bob.Login();
  ASSERT_EQ(alice.Join("tea"), 200);
  ASSERT_EQ(bob.Join("tea"), 200);
  alice.SayUntilDone("#tea", "hello-tea");
  bob.SayUntilDone("alice", "psst");
  // bob's queue has his own copy of the direct message too.
  EXPECT_EQ(bob.Receive(2), (std::vector<std::string>{"hello-tea", "psst"}));
  EXPECT_EQ(alice.Receive(2), (std::vector<std::string>{"hello-tea", "psst"}));
  // One state, whichever broker is asked (each with a memory of its own would differ).
  const uint64_t users = topology_->BrokerStats(0).users();
  EXPECT_GE(users, 2u);
  for (int i = 1; i < kBrokers; ++i) EXPECT_EQ(topology_->BrokerStats(i).users(), users);
}

// The server API over Redis: a private room made through one broker is kept from a user on
// another frontend and broker through every route; a disconnect through a third ends the
// member's session wherever it is.
TEST_F(RedisTopologyTest, APrivateRoomAndADisconnectHoldAcrossBrokersAndFrontends) {
  User carla(topology_->frontend_port(0), "carla");
  User dmitri(topology_->frontend_port(1), "dmitri");
  carla.Login();
  dmitri.Login();
  {
    grpc::ClientContext context;
    v1::CreateRoomRequest create;
    create.set_name("vault");
    create.set_private_(true);
    create.add_members("carla");
    v1::CreateRoomResponse created;
    ASSERT_TRUE(topology_->BrokerStub(0)->CreateRoom(&context, create, &created).ok());
    EXPECT_EQ(created.joined_size(), 1);
  }
  EXPECT_EQ(carla.Rooms(), (std::vector<std::string>{"lobby", "vault"}));
  carla.SayUntilDone("#vault", "the-combination");
  EXPECT_EQ(dmitri.Join("vault"), 404);
  EXPECT_EQ(dmitri.StatusOf("/api/rooms/vault/history"), 404);
  EXPECT_EQ(dmitri.StatusOf("/api/rooms/vault/members"), 404);
  EXPECT_EQ(dmitri.Say("#vault", "hi", "d-1")->status, 404);
  EXPECT_EQ(dmitri.Rooms(), std::vector<std::string>{"lobby"});
  const absl::Time logged_in = absl::Now();
  {
    grpc::ClientContext context;
    v1::DisconnectUserRequest end;
    end.set_user("carla");
    v1::DisconnectUserResponse ended;
    ASSERT_TRUE(topology_->BrokerStub(2)->DisconnectUser(&context, end, &ended).ok());
    EXPECT_TRUE(ended.was_connected());
  }
  int status = 0;
  carla.Session(&status);
  EXPECT_EQ(status, 401);
  // A new login once the second of the disconnect has passed (sessions start in whole
  // seconds; those of that second are refused with the rest) is welcome.
  ASSERT_TRUE(
      WaitFor([&] { return absl::ToUnixSeconds(absl::Now()) > absl::ToUnixSeconds(logged_in); }));
  carla.Login();
  EXPECT_EQ(carla.Rooms(), (std::vector<std::string>{"lobby", "vault"}));  // back in her room
}

TEST_F(RedisTopologyTest,
       AKilledBrokersParkedPollsAreAnsweredElsewhereWithEveryMessageOnceInOrder) {
  constexpr int kReaders = 6;
  constexpr int kMessages = 20;
  std::vector<std::unique_ptr<User>> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(std::make_unique<User>(topology_->frontend_port(i % kFrontends),
                                             absl::StrCat("reader", i)));
    readers.back()->Login();
    ASSERT_EQ(readers.back()->Join("crash"), 200);
  }
  User sender(topology_->frontend_port(0), "sender");
  sender.Login();
  ASSERT_EQ(sender.Join("crash"), 200);
  std::vector<std::vector<std::string>> received(kReaders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&, i] { received[i] = readers[i]->Receive(kMessages); });
  }
  // Polls spread over the brokers; kill one holding some.
  int victim = -1;
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < kBrokers; ++i) {
      if (topology_->BrokerStats(i).parked_polls() > 0) victim = i;
    }
    return victim >= 0;
  }));
  topology_->KillBroker(victim);
  for (const std::string& text : Numbered("crash-", kMessages)) sender.SayUntilDone("#crash", text);
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_EQ(received[i], Numbered("crash-", kMessages)) << "reader" << i;
  }
  topology_->StartBroker(victim);
}

TEST_F(RedisTopologyTest, AllBrokersRestartedKeepEveryEpochCursorAndMessage) {
  User carol(topology_->frontend_port(0), "carol");
  User dave(topology_->frontend_port(1), "dave");
  carol.Login();
  dave.Login();
  for (const std::string& text : Numbered("before-", 3)) carol.SayUntilDone("dave", text);
  int status = 0;
  const uint64_t epoch = dave.Session(&status).epoch();
  ASSERT_EQ(status, 200);
  for (int i = 0; i < kBrokers; ++i) topology_->KillBroker(i);
  for (int i = 0; i < kBrokers; ++i) topology_->StartBroker(i);
  v1::SessionInfo after;
  ASSERT_TRUE(WaitFor([&] {
    after = dave.Session(&status);
    return status == 200;
  }));
  EXPECT_EQ(after.epoch(), epoch);
  EXPECT_EQ(dave.Receive(3), Numbered("before-", 3));
}

TEST_F(RedisTopologyTest, ARedisKilledAndRestartedFromItsAofLosesNothingAcknowledged) {
  User erin(topology_->frontend_port(0), "erin");
  User frank(topology_->frontend_port(1), "frank");
  erin.Login();
  frank.Login();
  for (const std::string& text : Numbered("durable-", 10)) erin.SayUntilDone("frank", text);
  for (int i = 0; i < 2; ++i) topology_->shard(i).Kill();
  for (int i = 0; i < 2; ++i) topology_->shard(i).Start();
  EXPECT_EQ(frank.Receive(10), Numbered("durable-", 10));
}

TEST_F(RedisTopologyTest, ARedisOutOfReachAnswers503WithinTheDeadlineThenRecovers) {
  User gina(topology_->frontend_port(0), "gina");
  User hal(topology_->frontend_port(1), "hal");
  gina.Login();
  hal.Login();
  // Ready first (a broker turns ready at its first sweep after start), so what follows is
  // the outage's doing.
  ASSERT_TRUE(WaitFor([&] { return topology_->BrokerReady(0); }));
  for (int i = 0; i < 2; ++i) topology_->shard(i).Stop();
  const absl::Time start = absl::Now();
  httplib::Result refused = gina.Say("hal", "while-down", "gina-down");
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_TRUE(refused->has_header("Retry-After"));
  EXPECT_LT(took, absl::Seconds(10)) << "ended by --broker_timeout (2 s), not left hanging";
  // Out of rotation, not dead: readiness turns NOT_SERVING, and liveness stays SERVING (a
  // broker restarted by its liveness probe for a Redis outage would only add to it).
  EXPECT_TRUE(WaitFor([&] { return !topology_->BrokerReady(0); }));
  EXPECT_TRUE(topology_->Serving(0, ""));
  for (int i = 0; i < 2; ++i) topology_->shard(i).Start();
  EXPECT_TRUE(WaitFor([&] { return topology_->BrokerReady(0); }));
  EXPECT_TRUE(topology_->Serving(0, ""));
  gina.SayUntilDone("hal", "after-up");
  EXPECT_EQ(hal.Receive(1), std::vector<std::string>{"after-up"});
}

TEST_F(RedisTopologyTest, AReplayedTokenAfterLogoutStaysRefusedAcrossABrokerRestart) {
  User ivy(topology_->frontend_port(0), "ivy");
  ivy.Login();
  httplib::Result logout = ivy.Client().Delete("/api/session", ivy.Auth());
  ASSERT_TRUE(logout && logout->status == 200);
  for (int i = 0; i < kBrokers; ++i) topology_->KillBroker(i);
  for (int i = 0; i < kBrokers; ++i) topology_->StartBroker(i);
  int status = 0;
  ASSERT_TRUE(WaitFor([&] {
    ivy.Session(&status);
    return status != 503 && status != 0;
  }));
  EXPECT_EQ(status, 401);  // the logged-out session is remembered in Redis
}

TEST_F(RedisTopologyTest, AFullStoreIs503StoreFullWithRetryAfterNot429) {
  User lee(topology_->frontend_port(0), "lee");
  User may(topology_->frontend_port(1), "may");
  lee.Login();
  may.Login();
  // Redis at its maxmemory with noeviction refuses every write.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(topology_->shard(i).Run({"CONFIG", "SET", "maxmemory", "1"}).ok());
  }
  httplib::Result refused = lee.Say("may", "when-full", "lee-full");
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(topology_->shard(i).Run({"CONFIG", "SET", "maxmemory", "0"}).ok());
  }
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_NE(refused->body.find(R"("code":"store_full")"), std::string::npos) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "2");
  // Room again: the same try goes through.
  lee.SayUntilDone("may", "when-full");
  EXPECT_EQ(may.Receive(1), std::vector<std::string>{"when-full"});
}

TEST_F(RedisTopologyTest, OneClientIdSentThroughBothFrontendsAtOnceGivesOneMessageOnce) {
  // A page's retry racing its slow first try: the two land on different frontends and brokers.
  User nia(topology_->frontend_port(0), "nia");
  User oto(topology_->frontend_port(1), "oto");
  nia.Login();
  oto.Login();
  ASSERT_EQ(nia.Join("race"), 200);
  ASSERT_EQ(oto.Join("race"), 200);
  User nia_elsewhere(topology_->frontend_port(1), "nia");
  nia_elsewhere.set_token(nia.token());
  constexpr int kRaces = 10;
  std::vector<std::string> expected;
  for (int race = 0; race < kRaces; ++race) {
    const std::string to = race % 2 == 0 ? "oto" : "#race";
    const std::string text = absl::StrCat("race-", race);
    expected.push_back(text);
    // Each try's status and body (0: no answer).
    std::pair<int, std::string> answers[2];
    auto send = [&](User& user, int i) {
      httplib::Result result = user.Say(to, text, text);
      answers[i] = {result ? result->status : 0, result ? result->body : ""};
    };
    std::thread other([&] { send(nia_elsewhere, 1); });
    send(nia, 0);
    other.join();
    std::vector<std::string> ids;
    int firsts = 0;
    for (const auto& [status, body] : answers) {
      ASSERT_EQ(status, 200) << body;
      const auto sent = FromJson<v1::PublishResponse>(body);
      ids.push_back(sent.message().id());
      firsts += sent.duplicate() ? 0 : 1;
    }
    EXPECT_EQ(ids[0], ids[1]) << text;
    EXPECT_EQ(firsts, 1) << text;
  }
  EXPECT_EQ(oto.Receive(kRaces), expected);  // each once, in order
}

TEST_F(RedisTopologyTest, ABrokerGivenAnotherShardListOrAnEvictingRedisStaysNotServingAndSaysWhy) {
  // The same shards in the other order: keys would hash to the wrong shards.
  ChildProcess reversed({PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=1",
                         "--drain_delay=0s",
                         absl::StrCat("--redis=", topology_->shard(1).address(), ",",
                                      topology_->shard(0).address())});
  const int port = reversed.WaitForListeningPort();
  ASSERT_NE(port, 0) << reversed.Output();
  const std::optional<std::string> why = reversed.WaitForLine("redis_shards_refused");
  ASSERT_TRUE(why.has_value()) << reversed.Output();
  EXPECT_NE(why->find("give every broker the same --redis list"), std::string::npos) << *why;
  // And stays out of rotation: its readiness is read again every sweeper turn (10-250 ms).
  EXPECT_FALSE(WaitFor([&] { return Topology::ServingAt(port); }, absl::Seconds(1)));
  // A Redis that would evict keys (common on managed Redis) is refused too.
  RedisServer evicting;
  ASSERT_TRUE(evicting.Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}).ok());
  ChildProcess over_lru({PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=1",
                         "--drain_delay=0s", "--redis=" + evicting.address()});
  const int lru_port = over_lru.WaitForListeningPort();
  ASSERT_NE(lru_port, 0) << over_lru.Output();
  const std::optional<std::string> lru = over_lru.WaitForLine("redis_shards_refused");
  ASSERT_TRUE(lru.has_value()) << over_lru.Output();
  EXPECT_NE(lru->find("maxmemory-policy allkeys-lru"), std::string::npos) << *lru;
  EXPECT_FALSE(WaitFor([&] { return Topology::ServingAt(lru_port); }, absl::Seconds(1)));
  // The brokers given the list in its order serve.
  EXPECT_TRUE(WaitFor([&] { return topology_->BrokerReady(0); }));
}

TEST_F(RedisTopologyTest, ALogoutWhileTheShardsAreFrozenIsRefusedThenItsRetryEndsTheSession) {
  User rex(topology_->frontend_port(0), "rex");
  rex.Login();
  for (int i = 0; i < 2; ++i) topology_->shard(i).Freeze();
  httplib::Result frozen = rex.Client().Delete("/api/session", rex.Auth());
  for (int i = 0; i < 2; ++i) topology_->shard(i).Thaw();
  ASSERT_TRUE(frozen);
  // Not confirmed: never 200 (the token might still work), but 503 to retry.
  EXPECT_EQ(frozen->status, 503) << frozen->body;
  EXPECT_TRUE(frozen->has_header("Retry-After"));
  int status = 0;
  ASSERT_TRUE(WaitFor([&] {  // the page retries
    httplib::Result retried = rex.Client().Delete("/api/session", rex.Auth());
    status = retried ? retried->status : 0;
    return status != 503 && status != 0;
  }));
  ASSERT_EQ(status, 200);
  User rex_elsewhere(topology_->frontend_port(1), "rex");
  rex_elsewhere.set_token(rex.token());
  // Through the other frontend, whose broker may still be reconnecting after the thaw (503):
  // asked again as a page would, never 200.
  ASSERT_TRUE(WaitFor([&] {
    rex_elsewhere.Session(&status);
    return status != 503 && status != 0;
  }));
  EXPECT_EQ(status, 401);
}

TEST_F(RedisTopologyTest, ALeaveWhileAShardIsFrozenIsRefusedAndItsRetryFinishesIt) {
  User sam(topology_->frontend_port(0), "sam");
  User tia(topology_->frontend_port(1), "tia");
  sam.Login();
  tia.Login();
  ASSERT_EQ(sam.Join("quiet"), 200);
  ASSERT_EQ(tia.Join("quiet"), 200);
  // The shard that does not hold sam: the leave's delivery needs it.
  const int other = topology_->shard(0).Run({"EXISTS", "pu:sam"}).value_or("") == "1" ? 1 : 0;
  topology_->shard(other).Freeze();
  const int frozen = sam.Leave("quiet");
  topology_->shard(other).Thaw();
  EXPECT_EQ(frozen, 503);
  int status = 0;
  ASSERT_TRUE(WaitFor([&] {
    status = sam.Leave("quiet");
    return status != 503 && status != 0;
  }));
  EXPECT_EQ(status, 200);  // finished, not 409 "not a member"
  // Rooms() is empty while a broker still reconnecting after the thaw answers 503.
  std::vector<std::string> rooms;
  EXPECT_TRUE(WaitFor([&] {
    rooms = sam.Rooms();
    return !rooms.empty();
  }));
  EXPECT_EQ(rooms, std::vector<std::string>{"lobby"});
  tia.SayUntilDone("#quiet", "after-leave");
  tia.SayUntilDone("sam", "direct-after");
  // sam's next lines: the direct message, not the room's.
  EXPECT_EQ(sam.Receive(1), std::vector<std::string>{"direct-after"});
}

// The figure a metrics line "name value" gives, or -1.
double MetricValue(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atof(text.c_str() + at + name.size() + 2);
}

TEST_F(RedisTopologyTest, BrokersReportRedisRoundTripsNotificationsAndTheirLag) {
  User jay(topology_->frontend_port(0), "jay");
  User kim(topology_->frontend_port(1), "kim");
  jay.Login();
  kim.Login();
  jay.SayUntilDone("kim", "measured");
  ASSERT_EQ(kim.Receive(1), std::vector<std::string>{"measured"});
  // Every broker hears every notification, whoever published it.
  for (int i = 0; i < kBrokers; ++i) {
    std::string text;
    EXPECT_TRUE(WaitFor([&] {
      text = topology_->Metrics(i);
      return MetricValue(text, "parley_broker_notification_lag_seconds_count") > 0;
    })) << text;
    EXPECT_GT(MetricValue(text, "parley_broker_redis_round_trip_seconds_count"), 0) << text;
    EXPECT_GT(MetricValue(text, "parley_broker_redis_notifications_total"), 0) << text;
    EXPECT_GE(MetricValue(text, "parley_broker_redis_errors_total{kind=\"deadline\"}"), 0) << text;
  }
}

}  // namespace
}  // namespace parley
