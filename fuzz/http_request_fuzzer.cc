// Raw HTTP requests, as bytes off a connection, into the real frontend: its event-loop server,
// request parser and every route, over a loopback socket, with a broker that answers every
// call at once (OK, empty). Each input is one connection: the bytes are written, the writing
// side closed, and the server must then answer and close, or just close, within 5 s; what it
// sends must be HTTP/1.1 responses, none a 5xx it does not answer on purpose. A hang, a crash
// or anything else aborts the run.
// (http_parser_fuzzer feeds the parser alone, in pieces.)

#include <netinet/in.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "frontend/broker/broker_api.h"
#include "frontend/frontend_options.h"
#include "frontend/server/frontend_server.h"
#include "tests/testing/raw_connection.h"

namespace {

using parley::frontend::BrokerApi;

// Answers every call at once on the calling thread, OK and empty, as the BrokerApi contract
// allows; thread-safe (it keeps nothing).
class AnsweringBroker : public BrokerApi {
 public:
  std::shared_ptr<PendingPoll> PollAsync(const parley::v1::PollRequest& request,
                                         parley::Executor* /*executor*/,
                                         Done<parley::v1::PollResponse> done) override {
    parley::v1::PollResponse response;
    response.set_cursor(request.cursor());
    response.set_epoch(request.epoch() == 0 ? 1 : request.epoch());
    done(grpc::Status::OK, std::move(response));
    return nullptr;
  }
  void ConnectAsync(const parley::v1::ConnectRequest&,
                    Done<parley::v1::ConnectResponse> done) override {
    parley::v1::ConnectResponse response;
    response.set_epoch(1);
    done(grpc::Status::OK, std::move(response));
  }
  void DisconnectAsync(const parley::v1::DisconnectRequest&,
                       Done<parley::v1::DisconnectResponse> done) override {
    done(grpc::Status::OK, {});
  }
  void PublishAsync(const parley::v1::PublishRequest&,
                    Done<parley::v1::PublishResponse> done) override {
    done(grpc::Status::OK, {});
  }
  void JoinAsync(const parley::v1::JoinRequest&, Done<parley::v1::JoinResponse> done) override {
    done(grpc::Status::OK, {});
  }
  void LeaveAsync(const parley::v1::LeaveRequest&, Done<parley::v1::LeaveResponse> done) override {
    done(grpc::Status::OK, {});
  }
  void HistoryAsync(const parley::v1::HistoryRequest&,
                    Done<parley::v1::HistoryResponse> done) override {
    done(grpc::Status::OK, {});
  }
  void MembersAsync(const parley::v1::MembersRequest&,
                    Done<parley::v1::MembersResponse> done) override {
    done(grpc::Status::OK, {});
  }
  void RoomsAsync(const parley::v1::RoomsRequest&, Done<parley::v1::RoomsResponse> done) override {
    done(grpc::Status::OK, {});
  }
  void StatsAsync(Done<parley::v1::StatsResponse> done) override { done(grpc::Status::OK, {}); }
  void CancelPolls() override {}
  void Quiesce() override {}
};

[[noreturn]] void Fail(const std::string& what, absl::string_view received) {
  std::fprintf(stderr, "http_request_fuzzer: %s; received %zu bytes:\n%.*s\n", what.c_str(),
               received.size(), static_cast<int>(std::min<size_t>(received.size(), 2000)),
               received.data());
  std::abort();
}

// The frontend, started once for the whole run and never stopped (the process exits).
int FrontendPort() {
  static const int port = [] {
    parley::frontend::FrontendOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.loops = 1;
    options.max_header_bytes = 4096;  // small, so the fuzzer reaches the caps
    options.max_body_bytes = 4096;
    options.seed_wait = absl::Milliseconds(20);
    // Longer than the 5 s a connection gets: its close must come from the end of its input,
    // not from a timeout.
    options.keep_alive_timeout = absl::Seconds(30);
    options.read_timeout = absl::Seconds(30);
    options.login_rate_per_minute = 1e9;
    options.login_burst = 1e9;
    auto server = parley::frontend::FrontendServer::Start(options, "fuzzing-secret-0123456789",
                                                          std::make_unique<AnsweringBroker>());
    if (!server.ok()) Fail(std::string(server.status().message()), "");
    return server->release()->port();
  }();
  return port;
}

// What the server sent is nothing, or begins with an HTTP/1.1 status line whose status it may
// answer (later responses on a keep-alive connection are not parsed).
void CheckResponses(absl::string_view received) {
  if (received.empty()) return;  // closed without an answer: allowed
  if (!absl::StartsWith(received, "HTTP/1.1 ")) Fail("not an HTTP/1.1 response", received);
  int status = 0;
  if (received.size() < 12 || !absl::SimpleAtoi(received.substr(9, 3), &status) || status < 100 ||
      status > 599) {
    Fail("no status code", received);
  }
  // The 5xx the server answers on purpose: 501 and 505 (a transfer coding or HTTP version it
  // does not serve), 503 (at capacity, draining). Any other, a 500 above all, is a fault.
  if (status >= 500 && status != 501 && status != 503 && status != 505) {
    Fail("a server error from a broker that answers OK", received);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  // Each connection ends in TIME_WAIT on this side (it closes first), holding its local port
  // for a minute; a run makes far more connections than one address has ports, so the source
  // address cycles through 127.0.0.2-254, each with its own ports.
  static uint32_t connections = 0;
  parley::testing::RawConnection connection(FrontendPort(),
                                            INADDR_LOOPBACK + 1 + connections++ % 253);
  if (!connection.ok()) Fail(absl::StrCat("connect failed: ", std::strerror(errno)), "");
  // The server may answer and close before it has read everything (a refused head): then the
  // rest cannot be written, which is fine.
  connection.Send(absl::string_view(reinterpret_cast<const char*>(data), size));
  connection.CloseWrite();
  if (!connection.ReadUntilClosed(absl::Seconds(5))) {
    Fail("no answer and no close within 5 s", connection.received());
  }
  CheckResponses(connection.received());
  return 0;
}
