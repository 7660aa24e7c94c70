#ifndef PARLEY_TESTS_TESTING_PARLEY_STACK_H_
#define PARLEY_TESTS_TESTING_PARLEY_STACK_H_

#include <httplib.h>

#include <memory>
#include <string>

#include "frontend/frontend_options.h"
#include "frontend/server/frontend_server.h"
#include "tests/testing/from_json.h"
#include "tests/testing/in_process_broker.h"

namespace parley::testing {

// A whole Parley in the test process: a real broker and a real frontend on ephemeral loopback
// ports, and real HTTP clients for it. Used from the test's main thread (clients may be
// created and used on other threads).
class ParleyStack {
 public:
  static constexpr char kSecret[] = "test-secret-0123456789";

  // The broker's time is `broker_clock`'s (not owned; outlives the stack), or the system's.
  explicit ParleyStack(frontend::FrontendOptions frontend_options = {},
                       broker::BrokerServerOptions broker_options = {},
                       const broker::Clock* broker_clock = nullptr);
  ~ParleyStack();

  InProcessBroker& broker() { return *broker_; }
  frontend::FrontendServer& frontend() { return *frontend_; }
  int port() const { return frontend_->port(); }

  // A client for the frontend (no keep-alive limits of its own; 60 s read timeout).
  std::unique_ptr<httplib::Client> Client() const;

  // Logs `name` in through POST /api/session and returns the token; fails the test if not.
  std::string LogIn(const std::string& name);

  // Requests with "Authorization: Bearer <token>".
  httplib::Result Get(const std::string& token, const std::string& path);
  httplib::Result PostJson(const std::string& token, const std::string& path,
                           const std::string& json);
  // POST /api/messages: `text` to `room`, with the idempotency key `client_id` ("": none).
  // `text` goes into the JSON as it is (no escaping).
  httplib::Result Say(const std::string& token, const std::string& text,
                      const std::string& room = "lobby", const std::string& client_id = "");

  // Stops the broker (its port stays known) and starts a fresh one on the same port.
  void StopBroker();
  void StartBroker();

 private:
  broker::BrokerServerOptions broker_options_;
  const broker::Clock* broker_clock_;
  int broker_port_ = 0;
  std::unique_ptr<InProcessBroker> broker_;
  std::unique_ptr<frontend::FrontendServer> frontend_;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_PARLEY_STACK_H_
