#ifndef PARLEY_TESTS_TESTING_IN_PROCESS_BROKER_H_
#define PARLEY_TESTS_TESTING_IN_PROCESS_BROKER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/core/clock.h"
#include "broker/server/broker_server.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::testing {

// A Poll of `user`'s queue after `cursor`, parking up to `wait_ms`.
v1::PollRequest PollFor(const std::string& user, uint64_t cursor, uint32_t wait_ms);

// A real broker on 127.0.0.1 at an ephemeral port inside the test process, with a channel to
// it. Used from the test's main thread.
class InProcessBroker {
 public:
  // Listens on 127.0.0.1:`port` (0: an ephemeral port); its time is `clock`'s (not owned;
  // outlives the broker), or the system's.
  explicit InProcessBroker(broker::BrokerServerOptions options = {}, int port = 0,
                           const broker::Clock* clock = nullptr);
  ~InProcessBroker();

  broker::BrokerServer& server() { return *server_; }
  std::string address() const;
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::Broker::Stub& stub() { return *stub_; }

  // Connect(user, session "<user>-session"); fails the test on error. Returns the response.
  v1::ConnectResponse Connect(const std::string& user);
  // Publish text to a room; fails the test on error.
  v1::PublishResponse Say(const std::string& user, const std::string& room,
                          const std::string& text);
  // Connects users u0 .. u<count-1>, then returns each one's cursor once all are in (each
  // queue holds the JOINs of those who came after it, so no two are alike).
  std::vector<uint64_t> ConnectNumbered(int count);
  // Poll without waiting; returns the status and fills *response.
  grpc::Status PollNow(const v1::PollRequest& request, v1::PollResponse* response);
  uint64_t ParkedPolls();

 private:
  broker::SystemClock system_clock_;
  std::unique_ptr<broker::BrokerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Broker::Stub> stub_;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_IN_PROCESS_BROKER_H_
