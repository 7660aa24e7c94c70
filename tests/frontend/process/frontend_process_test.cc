// The parley-frontend program as operators run it: next to a parley-broker process, with its
// flags, secret handling and SIGTERM drain.

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "parley/v1/broker.grpc.pb.h"
#include "parley/v1/http_api.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/from_json.h"
#include "tests/testing/jwt_minter.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::ChildProcess;

using ::parley::testing::FromJson;

class FrontendProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=1", "--drain_delay=0s"});
    broker_port_ = broker_->WaitForListeningPort();
    ASSERT_NE(broker_port_, 0) << broker_->Output();
  }

  // Waits until the broker (asked by its Stats RPC) has `count` parked polls.
  bool WaitForParkedPolls(uint64_t count) {
    auto broker = v1::Broker::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", broker_port_),
                                                          grpc::InsecureChannelCredentials()));
    return parley::testing::WaitFor([&] {
      grpc::ClientContext context;
      v1::StatsResponse stats;
      return broker->Stats(&context, v1::StatsRequest(), &stats).ok() &&
             stats.parked_polls() == count;
    });
  }

  std::unique_ptr<ChildProcess> StartFrontend(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {PARLEY_FRONTEND_BINARY, "--listen=127.0.0.1:0",
                                     absl::StrCat("--broker=127.0.0.1:", broker_port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(argv);
  }

  std::unique_ptr<ChildProcess> broker_;
  int broker_port_ = 0;
};

TEST_F(FrontendProcessTest, SigtermAnswersHeldPollsAndExitsZero) {
  auto frontend = StartFrontend({"--session-secret-file=/dev/null"});
  // An empty secret file is refused: a configured secret must be real.
  EXPECT_EQ(frontend->WaitForExit(absl::Seconds(10)), 2);
  EXPECT_NE(frontend->Output().find("at least 16"), std::string::npos) << frontend->Output();

  frontend = StartFrontend();
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  EXPECT_NE(frontend->Output().find("event=random_session_secret"),
            std::string::npos);  // the warning

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  ASSERT_TRUE(parley::testing::WaitFor(
      [&] { return client.Get("/readyz/broker") && client.Get("/readyz/broker")->status == 200; }));

  int held_status = 0;
  std::string held_body;
  absl::Time answered;
  std::thread poller([&] {
    httplib::Client own("127.0.0.1", port);
    own.set_read_timeout(60, 0);
    httplib::Result held = own.Get("/api/poll?cursor=1&wait=25", {{"Cookie", cookie}});
    if (held) {
      held_status = held->status;
      held_body = held->body;
    }
    answered = absl::Now();
  });
  ASSERT_TRUE(WaitForParkedPolls(1));
  const absl::Time signalled = absl::Now();
  frontend->Signal(SIGTERM);
  poller.join();
  EXPECT_EQ(held_status, 200) << held_body;
  EXPECT_NE(held_body.find(R"("messages":[])"), std::string::npos) << held_body;
  EXPECT_LT(answered - signalled, absl::Seconds(10));  // not the poll's 25 s
  EXPECT_EQ(frontend->WaitForExit(absl::Seconds(15)), 0) << frontend->Output();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(10));
}

// The process's thread count, from /proc.
int ThreadsOf(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

TEST_F(FrontendProcessTest, HeldPollsCostNoThreadEach) {
  constexpr int kPolls = 300;
  auto frontend = StartFrontend({"--loops=2", "--login_burst=1000"});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  httplib::Client client("127.0.0.1", port);
  std::vector<std::string> tokens;
  for (int i = 0; i < kPolls; ++i) {
    httplib::Result login =
        client.Post("/api/session", absl::StrCat(R"({"name":"u)", i, R"("})"), "application/json");
    ASSERT_TRUE(login && login->status == 200) << (login ? login->body : "no answer");
    tokens.push_back(FromJson<v1::SessionInfo>(login->body).token());
  }
  // Each polls from where its queue is once everyone is in (later logins were JOIN lines).
  std::vector<uint64_t> cursors;
  for (const std::string& token : tokens) {
    httplib::Result session = client.Get("/api/session", {{"Authorization", "Bearer " + token}});
    ASSERT_TRUE(session && session->status == 200);
    cursors.push_back(FromJson<v1::SessionInfo>(session->body).cursor());
  }
  const int threads_idle = ThreadsOf(frontend->pid());
  std::vector<std::unique_ptr<testing::RawConnection>> held;
  for (int i = 0; i < kPolls; ++i) {
    held.push_back(std::make_unique<testing::RawConnection>(port));
    ASSERT_TRUE(held.back()->Send(absl::StrCat("GET /api/poll?wait=25&cursor=", cursors[i],
                                               " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ",
                                               tokens[i], "\r\n\r\n")));
  }
  ASSERT_TRUE(WaitForParkedPolls(kPolls));
  // 300 requests held by the process, not by threads: a thread per connection would add 300.
  EXPECT_LT(ThreadsOf(frontend->pid()) - threads_idle, 8)
      << threads_idle << " threads before the polls";
  frontend->Signal(SIGTERM);
  EXPECT_EQ(frontend->WaitForExit(absl::Seconds(15)), 0) << frontend->Output();
}

// --max_connections defaults to what the open-file limit leaves room for (the soft limit
// raised to the hard one, less 128 for the rest), and a value the limit cannot hold is
// refused at start instead of failing connections with EMFILE later.
TEST_F(FrontendProcessTest, MaxConnectionsComesFromTheOpenFileLimit) {
  auto limited = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/usr/bin/prlimit", "--nofile=200:300", PARLEY_FRONTEND_BINARY,
                                     "--listen=127.0.0.1:0",
                                     absl::StrCat("--broker=127.0.0.1:", broker_port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(argv);
  };
  auto frontend = limited({});
  std::optional<std::string> listening = frontend->WaitForLine("event=listening");
  ASSERT_TRUE(listening.has_value()) << frontend->Output();
  EXPECT_TRUE(absl::StrContains(*listening, "max_connections=172")) << *listening;

  frontend = limited({"--max_connections=173"});
  EXPECT_EQ(frontend->WaitForExit(absl::Seconds(10)), 2);
  EXPECT_TRUE(absl::StrContains(frontend->Output(), "needs 301 open files, but the limit is 300"))
      << frontend->Output();

  frontend = limited({"--max_connections=172"});
  listening = frontend->WaitForLine("event=listening");
  ASSERT_TRUE(listening.has_value()) << frontend->Output();
  EXPECT_TRUE(absl::StrContains(*listening, "max_connections=172")) << *listening;
}

TEST_F(FrontendProcessTest, TheSessionSecretIsNeverLogged) {
  const std::string secret = "never-log-this-secret-4f1c9e";
  const std::string file = absl::StrCat(::testing::TempDir(), "/secret-", getpid());
  std::ofstream(file) << secret << "\n";
  auto frontend = StartFrontend({"--session_secret_file=" + file, "--log_level=debug"});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  httplib::Client client("127.0.0.1", port);
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(login && login->status == 200);
  const std::string token = FromJson<v1::SessionInfo>(login->body).token();
  EXPECT_EQ(client.Get("/api/session", {{"Authorization", "Bearer " + token}})->status, 200);
  EXPECT_EQ(client.Get("/api/session", {{"Authorization", "Bearer forged~x~1~00"}})->status, 401);
  frontend->Signal(SIGTERM);
  EXPECT_EQ(frontend->WaitForExit(absl::Seconds(15)), 0);
  const std::string output = frontend->Output();
  EXPECT_NE(output.find("event=http_request"), std::string::npos) << output;  // debug was on
  EXPECT_EQ(output.find(secret), std::string::npos) << output;
  EXPECT_EQ(output.find(token), std::string::npos) << output;  // nor the tokens made with it
  std::remove(file.c_str());
}

// The placeholders example files once shipped (and any like them) are refused at start, from
// the environment and from a file alike: anyone who read the repository could sign tokens.
TEST_F(FrontendProcessTest, APlaceholderSessionSecretIsRefusedAtStart) {
  ChildProcess from_env({"/usr/bin/env",
                         "PARLEY_SESSION_SECRET=replace-me-with-openssl-rand-hex-32-output",
                         PARLEY_FRONTEND_BINARY, "--listen=127.0.0.1:0",
                         absl::StrCat("--broker=127.0.0.1:", broker_port_)});
  EXPECT_EQ(from_env.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_TRUE(absl::StrContains(from_env.Output(), "PARLEY_SESSION_SECRET is a placeholder"))
      << from_env.Output();
  const std::string file = absl::StrCat(::testing::TempDir(), "/placeholder-", getpid());
  std::ofstream(file) << "parley-local-development-secret-change-me\n";
  auto from_file = StartFrontend({"--session_secret_file=" + file});
  EXPECT_EQ(from_file->WaitForExit(absl::Seconds(10)), 2);
  EXPECT_TRUE(absl::StrContains(from_file->Output(), "the session secret is a placeholder"))
      << from_file->Output();
  std::remove(file.c_str());
}

// --metrics_listen moves what operators ask (/metrics, /readyz/broker) off the public port,
// which then answers 404 for them and still serves the probes.
TEST_F(FrontendProcessTest, MetricsListenMovesOperatorEndpointsOffThePublicPort) {
  auto frontend = StartFrontend({"--metrics_listen=127.0.0.1:0"});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  std::optional<std::string> line = frontend->WaitForLine("event=metrics_listening");
  ASSERT_TRUE(line.has_value()) << frontend->Output();
  int metrics_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line->substr(line->find("metrics_port=") + 13), &metrics_port))
      << *line;
  httplib::Client operators("127.0.0.1", metrics_port);
  httplib::Result metrics = operators.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_TRUE(absl::StrContains(metrics->body, "parley_frontend_open_connections"));
  EXPECT_TRUE(parley::testing::WaitFor([&] {
    httplib::Result broker = operators.Get("/readyz/broker");
    return broker && broker->status == 200;
  }));
  EXPECT_EQ(operators.Get("/api/rooms")->status, 404);
  EXPECT_EQ(operators.Post("/metrics", "", "text/plain")->status, 405);

  httplib::Client public_port("127.0.0.1", port);
  EXPECT_EQ(public_port.Get("/metrics")->status, 404);
  EXPECT_EQ(public_port.Get("/readyz/broker")->status, 404);
  EXPECT_EQ(public_port.Get("/readyz")->status, 200);
  EXPECT_EQ(public_port.Get("/healthz")->status, 200);
}

TEST_F(FrontendProcessTest, HelpExplainsTheFlags) {
  ChildProcess help({PARLEY_FRONTEND_BINARY, "--help"});
  EXPECT_EQ(help.WaitForExit(absl::Seconds(10)), 1);  // abseil's --help exit status
  for (const char* flag :
       {"--listen", "--broker", "--max_connections", "--max_body_bytes", "--session_secret_file",
        "--web_root", "--max_header_bytes", "--read_timeout", "--json_cache_messages"}) {
    EXPECT_NE(help.Output().find(flag), std::string::npos) << flag;
  }
}

TEST_F(FrontendProcessTest, LoginsPerAddressAreLimited) {
  auto frontend = StartFrontend({"--login_burst=2", "--login_rate_per_minute=1"});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  httplib::Client client("127.0.0.1", port);
  for (const char* name : {"a1", "a2"}) {
    EXPECT_EQ(
        client
            .Post("/api/session", absl::StrCat(R"({"name":")", name, R"("})"), "application/json")
            ->status,
        200);
  }
  httplib::Result limited = client.Post("/api/session", R"({"name":"a3"})", "application/json");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "60");
  EXPECT_NE(limited->body.find(R"("code":"rate_limited")"), std::string::npos) << limited->body;
  httplib::Result form = client.Post("/login", "name=a4", "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 429);
  EXPECT_NE(form->body.find("Too many logins"), std::string::npos);
}

TEST_F(FrontendProcessTest, TheDefaultLoginLimitIsABurstOfTenThenThirtyAMinute) {
  auto frontend = StartFrontend({});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  httplib::Client client("127.0.0.1", port);
  const absl::Time start = absl::Now();
  int accepted = 0;
  std::optional<httplib::Response> limited;
  for (int i = 0; i < 30; ++i) {
    httplib::Result login =
        client.Post("/api/session", absl::StrCat(R"({"name":"d)", i, R"("})"), "application/json");
    ASSERT_TRUE(login);
    if (login->status != 200) {
      limited = *login;
      break;
    }
    ++accepted;
  }
  // The burst, and what 30 a minute refilled meanwhile (one every 2 s).
  const int refilled = static_cast<int>(absl::ToDoubleSeconds(absl::Now() - start) / 2);
  EXPECT_GE(accepted, 10);
  EXPECT_LE(accepted, 10 + refilled);
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "2");
}

// The request limits as docs/api.md and docs/architecture.md state their defaults, on a
// frontend started with no limit flags (the tests that need a limit pass their own, which
// would hide a wrong default): 16 KiB bodies and request heads, polls of at most 30 s, 1000
// requests per keep-alive connection, an idle one closed after 5 s.
TEST_F(FrontendProcessTest, TheRequestLimitsDefaultToTheDocumentedValues) {
  auto frontend = StartFrontend({});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  httplib::Client client("127.0.0.1", port);

  auto body_of = [](size_t bytes) {
    return absl::StrCat(R"({"name":")", std::string(bytes - 11, 'a'), R"("})");
  };
  httplib::Result at_limit = client.Post("/api/session", body_of(16 * 1024), "application/json");
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->status, 400) << at_limit->body;  // read, and the name refused
  httplib::Result over = client.Post("/api/session", body_of(16 * 1024 + 1), "application/json");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  EXPECT_TRUE(absl::StrContains(over->body, "larger than 16384 bytes")) << over->body;

  // Heads of just under and over 16 KiB, in headers of 4000 bytes (each line is within 8 KiB).
  auto head_of = [](int headers) {
    std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < headers; ++i) {
      absl::StrAppend(&head, "X-Pad-", i, ": ", std::string(4000, 'p'), "\r\n");
    }
    return head + "\r\n";
  };
  ASSERT_LT(head_of(4).size(), 16u * 1024);
  parley::testing::RawConnection small_head(port);
  ASSERT_TRUE(small_head.Send(head_of(4)));
  EXPECT_TRUE(small_head.ReadUntilContains("HTTP/1.1 200", absl::Seconds(10)))
      << small_head.received();
  parley::testing::RawConnection large_head(port);
  ASSERT_TRUE(large_head.Send(head_of(5)));
  EXPECT_TRUE(large_head.ReadUntilClosed(absl::Seconds(10)));
  EXPECT_TRUE(absl::StrContains(large_head.received(), "HTTP/1.1 431")) << large_head.received();
  EXPECT_TRUE(absl::StrContains(large_head.received(), "larger than 16384 bytes"))
      << large_head.received();

  // A poll may wait 30 s, not 31.
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(login && login->status == 200);
  const v1::SessionInfo alice = FromJson<v1::SessionInfo>(login->body);
  const std::string token = alice.token();
  parley::testing::RawConnection poll(port);
  ASSERT_TRUE(
      poll.Send(absl::StrCat("GET /api/poll?wait=30&cursor=", alice.cursor(),
                             " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ", token, "\r\n\r\n")));
  EXPECT_TRUE(WaitForParkedPolls(1));
  httplib::Result too_long =
      client.Get("/api/poll?wait=31", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 400) << too_long->body;

  // The thousandth request on a connection is its last.
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string requests;
  for (int i = 0; i < 1001; ++i) requests += request;
  parley::testing::RawConnection many(port);
  ASSERT_TRUE(many.Send(requests));
  EXPECT_TRUE(many.ReadUntilClosed(absl::Seconds(30)));
  const std::vector<absl::string_view> answers = absl::StrSplit(many.received(), "HTTP/1.1 200");
  EXPECT_EQ(answers.size(), 1001u);  // 1000 answers
  EXPECT_TRUE(absl::StrContains(answers.back(), "Connection: close")) << answers.back();

  // An idle connection is closed after 5 s: not before, nor long after.
  parley::testing::RawConnection idle(port);
  ASSERT_TRUE(idle.Send(request));
  ASSERT_TRUE(idle.ReadUntilContains("HTTP/1.1 200", absl::Seconds(10)));
  const absl::Time answered = absl::Now();
  EXPECT_TRUE(idle.ReadUntilClosed(absl::Seconds(30)));
  EXPECT_GE(absl::Now() - answered, absl::Milliseconds(4800));
  EXPECT_LT(absl::Now() - answered, absl::Seconds(9));
}

// X-Forwarded-For decides the login limiter's address only with --trust_forwarded_for.
TEST_F(FrontendProcessTest, ForwardedForIsTheClientAddressOnlyWithItsFlag) {
  for (const bool trusted : {true, false}) {
    std::vector<std::string> flags = {"--login_burst=1", "--login_rate_per_minute=1"};
    if (trusted) flags.push_back("--trust_forwarded_for");
    auto frontend = StartFrontend(flags);
    const int port = frontend->WaitForListeningPort();
    ASSERT_NE(port, 0) << frontend->Output();
    httplib::Client client("127.0.0.1", port);
    auto log_in = [&](const std::string& name, const std::string& from) {
      return client
          .Post("/api/session", {{"X-Forwarded-For", "192.0.2.9, " + from}},
                absl::StrCat(R"({"name":")", name, trusted ? "t" : "u", R"("})"),
                "application/json")
          ->status;
    };
    EXPECT_EQ(log_in("a1", "198.51.100.1"), 200) << trusted;
    EXPECT_EQ(log_in("a2", "198.51.100.1"), 429) << trusted;
    // Another forwarded address: its own limit when trusted; the same socket's when not.
    EXPECT_EQ(log_in("a3", "198.51.100.2"), trusted ? 200 : 429) << trusted;
  }
}

TEST_F(FrontendProcessTest, KeepAliveFlagsCloseConnectionsAsDocumented) {
  auto frontend = StartFrontend({"--keep_alive_max_requests=2", "--keep_alive_timeout=1s"});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  // The second request on a connection is its last: answered with Connection: close, then
  // closed.
  parley::testing::RawConnection twice(port);
  ASSERT_TRUE(twice.Send(request + request));
  EXPECT_TRUE(twice.ReadUntilClosed(absl::Seconds(5)));
  const std::vector<absl::string_view> answers = absl::StrSplit(twice.received(), "HTTP/1.1 200");
  EXPECT_EQ(answers.size(), 3u) << twice.received();  // two answers
  EXPECT_TRUE(absl::StrContains(twice.received(), "Connection: close")) << twice.received();
  // An idle keep-alive connection is closed after --keep_alive_timeout.
  parley::testing::RawConnection idle(port);
  ASSERT_TRUE(idle.Send(request));
  ASSERT_TRUE(idle.ReadUntilContains("HTTP/1.1 200", absl::Seconds(5)));
  const absl::Time answered = absl::Now();
  EXPECT_TRUE(idle.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_GE(absl::Now() - answered, absl::Milliseconds(800));
  EXPECT_LT(absl::Now() - answered, absl::Seconds(4));  // not the default 5 s
}

// Neither program logs a message's text or a request's query string, at any level: debug,
// the most verbose, logs every request.
TEST_F(FrontendProcessTest, LogsNeverCarryMessageTextOrQueryStrings) {
  ChildProcess broker({PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=1",
                       "--drain_delay=0s", "--log_level=debug"});
  const int broker_port = broker.WaitForListeningPort();
  ASSERT_NE(broker_port, 0) << broker.Output();
  ChildProcess frontend({PARLEY_FRONTEND_BINARY, "--listen=127.0.0.1:0",
                         absl::StrCat("--broker=127.0.0.1:", broker_port), "--log_level=debug"});
  const int port = frontend.WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend.Output();
  httplib::Client client("127.0.0.1", port);
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(login && login->status == 200);
  const httplib::Headers auth = {
      {"Authorization", "Bearer " + FromJson<v1::SessionInfo>(login->body).token()}};
  const std::string text = "private-words-7d2e";
  const std::string query = "query-marker-91ab";
  ASSERT_EQ(
      client
          .Post("/api/messages", auth, absl::StrCat(R"({"room":"lobby","text":")", text, R"("})"),
                "application/json")
          ->status,
      200);
  ASSERT_EQ(client.Get(absl::StrCat("/api/poll?cursor=0&wait=0&x=", query), auth)->status, 200);
  ASSERT_EQ(client.Get(absl::StrCat("/nowhere?", query))->status, 404);
  frontend.Signal(SIGTERM);
  broker.Signal(SIGTERM);
  EXPECT_EQ(frontend.WaitForExit(absl::Seconds(15)), 0);
  EXPECT_EQ(broker.WaitForExit(absl::Seconds(15)), 0);
  for (const std::string& output : {frontend.Output(), broker.Output()}) {
    EXPECT_NE(output.find("level=debug"), std::string::npos) << output;  // debug was on
    EXPECT_EQ(output.find(text), std::string::npos) << output;
    EXPECT_EQ(output.find(query), std::string::npos) << output;
  }
  EXPECT_NE(frontend.Output().find("/api/poll"), std::string::npos);  // the path is logged
}

TEST_F(FrontendProcessTest, ABrokerKilledMidPollIs503FastAndANewOneIsFoundWithoutRestart) {
  auto frontend = StartFrontend();
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(login && login->status == 200);
  const auto session = FromJson<v1::SessionInfo>(login->body);
  const httplib::Headers auth = {{"Authorization", "Bearer " + session.token()}};

  int held_status = 0;
  absl::Time answered;
  std::thread poller([&] {
    httplib::Client own("127.0.0.1", port);
    own.set_read_timeout(60, 0);
    httplib::Result held = own.Get(
        absl::StrCat("/api/poll?wait=25&cursor=", session.cursor(), "&epoch=", session.epoch()),
        auth);
    if (held) held_status = held->status;
    answered = absl::Now();
  });
  ASSERT_TRUE(WaitForParkedPolls(1));
  const absl::Time killed = absl::Now();
  broker_->Signal(SIGKILL);  // no drain, no goodbye: everything in its memory is gone
  poller.join();
  EXPECT_EQ(held_status, 503);
  EXPECT_LT(answered - killed, absl::Seconds(15));  // not the poll's 25 s
  EXPECT_EQ(client.Get("/healthz")->status, 200);   // the frontend lives on
  EXPECT_EQ(client.Get("/api/poll?wait=0&cursor=0", auth)->status, 503);

  // A new broker on the same port: found by itself, the session is connected again with a
  // new epoch, and the old cursor is answered at once from the new queue with gap.
  broker_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      PARLEY_BROKER_BINARY, absl::StrCat("--listen=127.0.0.1:", broker_port_), "--threads=1",
      "--drain_delay=0s"});
  ASSERT_EQ(broker_->WaitForListeningPort(), broker_port_) << broker_->Output();
  std::string after;
  ASSERT_TRUE(parley::testing::WaitFor(
      [&] {
        httplib::Result polled = client.Get(
            absl::StrCat("/api/poll?wait=0&cursor=", session.cursor(), "&epoch=", session.epoch()),
            auth);
        if (!polled || polled->status != 200) return false;
        after = polled->body;
        return true;
      },
      absl::Seconds(15)));
  const auto polled = FromJson<v1::PollResponse>(after);
  EXPECT_NE(polled.epoch(), session.epoch());
  EXPECT_TRUE(polled.gap());
  EXPECT_EQ(frontend->Output().find("event=stopped"), std::string::npos);  // never restarted
}

// An app's keys rotate without a restart: SIGHUP reads the --jwt_keys file at once, and the
// token flags are checked at start with a reason.
TEST_F(FrontendProcessTest, TokenKeysRotateOnSighupAndBadFlagsStopTheStart) {
  char dir_pattern[] = "/tmp/parley-keys-XXXXXX";
  const std::string dir = mkdtemp(dir_pattern);
  const std::string keys = dir + "/jwks.json";
  auto write_keys = [&](const std::string& contents) {
    std::ofstream(keys + ".new") << contents;
    ASSERT_EQ(std::rename((keys + ".new").c_str(), keys.c_str()), 0);
  };
  const parley::testing::JwtMinter old_key(parley::testing::JwtMinter::KeyType::kRsa);
  const parley::testing::JwtMinter new_key(parley::testing::JwtMinter::KeyType::kEc);
  write_keys(parley::testing::JwksOf({old_key.Jwk("old")}));

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--auth=tokens"},
        {"--auth=maybe"},
        {"--auth=tokens", "--jwt_keys=" + dir + "/missing.json"},
        {"--jwt_keys=" + keys},
        {"--admin_listen=127.0.0.1:1"}}) {
    auto refused = StartFrontend(bad);
    EXPECT_EQ(refused->WaitForExit(absl::Seconds(10)), 2) << refused->Output();
  }

  auto frontend = StartFrontend({"--auth=tokens", "--jwt_keys=" + keys});
  const int port = frontend->WaitForListeningPort();
  ASSERT_NE(port, 0) << frontend->Output();
  httplib::Client client("127.0.0.1", port);
  auto login = [&](const parley::testing::JwtMinter& key, const std::string& kid,
                   const std::string& alg, const std::string& user) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    const std::string token =
        key.Sign({{"alg", alg}, {"kid", kid}}, {{"sub", user}, {"exp", now + 600}, {"iat", now}});
    return client.Post("/api/session", nlohmann::json{{"token", token}}.dump(), "application/json");
  };
  EXPECT_EQ(login(old_key, "old", "RS256", "alice")->status, 200);
  httplib::Result early = login(new_key, "new", "ES256", "bob");
  EXPECT_EQ(early->status, 401);
  EXPECT_EQ(FromJson<v1::ErrorBody>(early->body).error().code(), "unknown_key");

  write_keys(parley::testing::JwksOf({new_key.Jwk("new")}));
  frontend->Signal(SIGHUP);
  ASSERT_TRUE(frontend->WaitForLine("event=jwt_keys_loaded").has_value()) << frontend->Output();
  EXPECT_EQ(login(new_key, "new", "ES256", "bob")->status, 200);
  httplib::Result retired = login(old_key, "old", "RS256", "carol");
  EXPECT_EQ(retired->status, 401);
  EXPECT_EQ(FromJson<v1::ErrorBody>(retired->body).error().code(), "unknown_key");
  frontend->Signal(SIGTERM);
  EXPECT_EQ(frontend->WaitForExit(absl::Seconds(20)), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::frontend
