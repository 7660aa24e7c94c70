// The event-loop HTTP server on its own, with a handler that answers, echoes or holds.
#include "frontend/net/http_server.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/wait_for.h"

namespace parley::frontend {
namespace {

using ::parley::testing::RawConnection;
using ::parley::testing::WaitFor;

constexpr char kGetHold[] = "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n";
constexpr char kGetHello[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

int ThreadCount() {
  int count = 0;
  DIR* dir = opendir("/proc/self/task");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.loops == 0) options.loops = 2;
    options.headers_on_every_answer = {{"X-Frame-Options", "DENY"}};
    auto server = HttpServer::Start(
        options, [this](ExchangePtr exchange) { Handle(std::move(exchange)); },
        [](const RequestError& error, httplib::Response& response) {
          response.set_content(absl::StrCat(R"({"error":{"code":")", error.code, R"(","message":")",
                                            error.message, R"("}})"),
                               "application/json");
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  void Handle(ExchangePtr exchange) {
    const std::string path = exchange->request().path;
    if (path == "/hold") {
      exchange->OnClientGone([this] {
        absl::MutexLock lock(&mu_);
        ++gone_;
      });
      absl::MutexLock lock(&mu_);
      held_.push_back(std::move(exchange));
      return;
    }
    httplib::Response response;
    if (path == "/big") {
      response.set_content(std::string(16 << 20, 'x'), "text/plain");
    } else if (path == "/echo") {
      response.set_content(exchange->request().body, "text/plain");
    } else {
      response.set_content("hi", "text/plain");
    }
    exchange->Respond(std::move(response));
  }

  size_t Held() {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  int Gone() {
    absl::MutexLock lock(&mu_);
    return gone_;
  }
  // Answers every held exchange with `text`.
  void AnswerHeld(const std::string& text) {
    std::vector<ExchangePtr> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (const ExchangePtr& exchange : held) {
      httplib::Response response;
      response.set_content(text, "text/plain");
      exchange->Respond(std::move(response));
    }
  }
  int64_t Connections() { return server_->counters().connections.load(); }

  std::unique_ptr<HttpServer> server_;
  absl::Mutex mu_;
  std::vector<ExchangePtr> held_ ABSL_GUARDED_BY(mu_);
  int gone_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(HttpServerTest, FiveHundredHeldRequestsOnTwoLoopThreads) {
  const int threads_before = ThreadCount();
  StartServer();
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < 500; ++i) {
    clients.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(clients.back()->Send(kGetHold));
  }
  ASSERT_TRUE(WaitFor([&] { return Held() == 500; }));
  EXPECT_EQ(ThreadCount() - threads_before, 2);  // the loops, nothing per connection
  AnswerHeld("done");
  for (auto& client : clients) {
    ASSERT_TRUE(client->ReadUntilContains("done", absl::Seconds(5)));
    EXPECT_NE(client->received().find("HTTP/1.1 200 OK"), std::string::npos);
    EXPECT_NE(client->received().find("X-Frame-Options: DENY"), std::string::npos);
    EXPECT_NE(client->received().find("Content-Length: 4"), std::string::npos);
  }
}

TEST_F(HttpServerTest, APipelinedRequestWaitsForTheAnswerBeforeIt) {
  StartServer();
  RawConnection client(server_->port());
  ASSERT_TRUE(client.Send(absl::StrCat(kGetHold, kGetHello)));
  ASSERT_TRUE(WaitFor([&] { return Held() == 1; }));
  EXPECT_FALSE(client.ReadUntilContains("hi", absl::Milliseconds(100)));
  AnswerHeld("first");
  ASSERT_TRUE(client.ReadUntilContains("HTTP/1.1 200", absl::Seconds(5), 2));
  ASSERT_TRUE(client.ReadUntilContains("hi", absl::Seconds(5)));
  EXPECT_LT(client.received().find("first"), client.received().find("hi"));
}

// Connections are watched edge-triggered: a request that arrives while the one before it is
// held makes its one edge then, and must still be read once that answer is written.
TEST_F(HttpServerTest, ARequestSentWhileTheOneBeforeIsHeldIsServedInItsTurn) {
  StartServer();
  RawConnection client(server_->port());
  ASSERT_TRUE(client.Send(kGetHold));
  ASSERT_TRUE(WaitFor([&] { return Held() == 1; }));
  ASSERT_TRUE(client.Send(kGetHello));
  AnswerHeld("first");
  ASSERT_TRUE(client.ReadUntilContains("hi", absl::Seconds(5))) << client.received();
  EXPECT_LT(client.received().find("first"), client.received().find("hi"));
  // And the connection goes on: a third request on it is read and answered.
  ASSERT_TRUE(client.Send(kGetHello));
  ASSERT_TRUE(client.ReadUntilContains("HTTP/1.1 200", absl::Seconds(5), 3)) << client.received();
}

TEST_F(HttpServerTest, AClientThatLeavesMidExchangeIsToldAtOnce) {
  StartServer();
  RawConnection resets(server_->port());
  RawConnection closes(server_->port());
  ASSERT_TRUE(resets.Send(kGetHold));
  ASSERT_TRUE(closes.Send(kGetHold));
  ASSERT_TRUE(WaitFor([&] { return Held() == 2; }));
  resets.Reset();
  ASSERT_TRUE(WaitFor([&] { return Gone() == 1; }));
  closes.Reset();
  ASSERT_TRUE(WaitFor([&] { return Gone() == 2 && Connections() == 0; }));
  {
    absl::MutexLock lock(&mu_);
    for (const ExchangePtr& exchange : held_) EXPECT_TRUE(exchange->client_gone());
  }
  AnswerHeld("too late");  // harmless
}

TEST_F(HttpServerTest, ARequestTrickledByteByByteIsServed) {
  StartServer();
  RawConnection client(server_->port());
  const std::string request =
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  for (char c : request) ASSERT_TRUE(client.Send(std::string(1, c)));
  ASSERT_TRUE(client.ReadUntilContains("hello", absl::Seconds(5)));
  EXPECT_NE(client.received().find("Content-Length: 5"), std::string::npos);
}

TEST_F(HttpServerTest, AnUnfinishedRequestGets408AndAClientThatDoesNotReadIsCut) {
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(200);
  options.write_timeout = absl::Milliseconds(200);
  StartServer(options);
  RawConnection slow(server_->port());
  ASSERT_TRUE(slow.Send("GET /hello HTTP/1.1\r\nHo"));
  ASSERT_TRUE(slow.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_NE(slow.received().find("HTTP/1.1 408 Request Timeout"), std::string::npos);
  EXPECT_NE(slow.received().find("request_timeout"), std::string::npos);
  EXPECT_NE(slow.received().find("X-Frame-Options: DENY"), std::string::npos);

  ASSERT_TRUE(WaitFor([&] { return Connections() == 0; }));
  RawConnection deaf(server_->port());   // asks for 16 MiB and never reads
  const absl::Time asked = absl::Now();  // before the request: the write deadline starts later
  ASSERT_TRUE(deaf.Send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return Connections() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return Connections() == 0; }, absl::Seconds(30)));
  EXPECT_GE(absl::Now() - asked, absl::Milliseconds(200));  // cut by the deadline, not done
}

TEST_F(HttpServerTest, OversizedRequestsGetTheirStatusAndAClose) {
  StartServer();
  RawConnection long_line(server_->port());
  ASSERT_TRUE(long_line.Send("GET /" + std::string(10000, 'a')));
  ASSERT_TRUE(long_line.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_NE(long_line.received().find("414 URI Too Long"), std::string::npos);
  RawConnection big_body(server_->port());
  ASSERT_TRUE(big_body.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 999999\r\n\r\n"));
  ASSERT_TRUE(big_body.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_NE(big_body.received().find("413 Payload Too Large"), std::string::npos);
  EXPECT_NE(big_body.received().find("Connection: close"), std::string::npos);
}

TEST_F(HttpServerTest, AtCapacityTheOldestIdleConnectionMakesRoomElse503) {
  HttpServerOptions options;
  options.max_connections = 2;
  options.loops = 1;
  StartServer(options);
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.Send(kGetHello));
  ASSERT_TRUE(idle.ReadUntilContains("hi", absl::Seconds(5)));  // now idle, kept alive
  RawConnection busy(server_->port());
  ASSERT_TRUE(busy.Send(kGetHold));
  ASSERT_TRUE(WaitFor([&] { return Held() == 1; }));
  RawConnection newcomer(server_->port());
  ASSERT_TRUE(newcomer.Send(kGetHello));
  ASSERT_TRUE(newcomer.ReadUntilContains("hi", absl::Seconds(5)));
  EXPECT_TRUE(WaitFor([&] { return idle.PeerClosed(); }));
  EXPECT_EQ(server_->counters().idle_closed_for_room.load(), 1u);
  // Now one held and the newcomer idle: the next takes the newcomer's place; then both busy.
  RawConnection second_busy(server_->port());
  ASSERT_TRUE(second_busy.Send(kGetHold));
  ASSERT_TRUE(WaitFor([&] { return Held() == 2; }));
  RawConnection refused(server_->port());
  ASSERT_TRUE(refused.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_NE(refused.received().find("503 Service Unavailable"), std::string::npos);
  EXPECT_NE(refused.received().find("at_capacity"), std::string::npos);
  EXPECT_NE(refused.received().find("Retry-After: 1"), std::string::npos);
  AnswerHeld("ok");
}

TEST_F(HttpServerTest, TheConnectionIdleLongestIsTheOneClosedForRoom) {
  HttpServerOptions options;
  options.max_connections = 2;
  options.loops = 1;
  StartServer(options);
  RawConnection first(server_->port());
  ASSERT_TRUE(first.Send(kGetHello));
  ASSERT_TRUE(first.ReadUntilContains("hi", absl::Seconds(5)));
  RawConnection second(server_->port());
  ASSERT_TRUE(second.Send(kGetHello));
  ASSERT_TRUE(second.ReadUntilContains("hi", absl::Seconds(5)));
  // The first connection is used again: now the second has been idle longer, though younger.
  ASSERT_TRUE(first.Send(kGetHello));
  ASSERT_TRUE(first.ReadUntilContains("hi", absl::Seconds(5), 2));
  RawConnection newcomer(server_->port());
  ASSERT_TRUE(newcomer.Send(kGetHello));
  ASSERT_TRUE(newcomer.ReadUntilContains("hi", absl::Seconds(5)));
  EXPECT_TRUE(WaitFor([&] { return second.PeerClosed(); }));
  EXPECT_EQ(server_->counters().idle_closed_for_room.load(), 1u);
  // The first is still served.
  EXPECT_FALSE(first.PeerClosed());
  ASSERT_TRUE(first.Send(kGetHello));
  EXPECT_TRUE(first.ReadUntilContains("hi", absl::Seconds(5), 3));
}

TEST_F(HttpServerTest, KeepAliveEndsAfterMaxRequestsOrWhenIdle) {
  HttpServerOptions options;
  options.keep_alive_max_requests = 2;
  options.keep_alive_timeout = absl::Milliseconds(200);
  StartServer(options);
  RawConnection client(server_->port());
  ASSERT_TRUE(client.Send(absl::StrCat(kGetHello, kGetHello)));
  ASSERT_TRUE(client.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_NE(client.received().find("Connection: keep-alive"), std::string::npos);
  EXPECT_NE(client.received().find("Connection: close"), std::string::npos);
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.Send(kGetHello));
  const absl::Time answered = absl::Now();
  ASSERT_TRUE(idle.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_GE(absl::Now() - answered, absl::Milliseconds(150));
}

TEST_F(HttpServerTest, HeadAndExpectContinue) {
  StartServer();
  RawConnection head(server_->port());
  ASSERT_TRUE(head.Send("HEAD /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(head.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_NE(head.received().find("Content-Length: 2"), std::string::npos);
  EXPECT_EQ(head.received().find("\r\n\r\nhi"), std::string::npos);  // no body
  RawConnection expect(server_->port());
  ASSERT_TRUE(expect.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  ASSERT_TRUE(expect.ReadUntilContains("HTTP/1.1 100 Continue\r\n\r\n", absl::Seconds(5)));
  ASSERT_TRUE(expect.Send("abc"));
  ASSERT_TRUE(expect.ReadUntilContains("abc", absl::Seconds(5)));
}

TEST_F(HttpServerTest, StopTellsHeldExchangesTheirClientIsGoneAndClosesEverything) {
  StartServer();
  RawConnection held(server_->port());
  RawConnection idle(server_->port());
  ASSERT_TRUE(held.Send(kGetHold));
  ASSERT_TRUE(idle.Send(kGetHello));
  ASSERT_TRUE(idle.ReadUntilContains("hi", absl::Seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return Held() == 1; }));
  server_->Stop(absl::Milliseconds(50));
  EXPECT_EQ(Gone(), 1);
  EXPECT_EQ(Connections(), 0);
  EXPECT_TRUE(held.ReadUntilClosed(absl::Seconds(5)));
  EXPECT_TRUE(idle.ReadUntilClosed(absl::Seconds(5)));
}

}  // namespace
}  // namespace parley::frontend
