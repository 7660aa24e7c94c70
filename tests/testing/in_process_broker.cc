#include "tests/testing/in_process_broker.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace parley::testing {

v1::PollRequest PollFor(const std::string& user, uint64_t cursor, uint32_t wait_ms) {
  v1::PollRequest request;
  request.set_user(user);
  request.set_cursor(cursor);
  request.set_wait_ms(wait_ms);
  return request;
}

InProcessBroker::InProcessBroker(broker::BrokerServerOptions options, int port,
                                 const broker::Clock* clock) {
  options.listen = absl::StrCat("127.0.0.1:", port);
  auto server = broker::BrokerServer::Start(options, clock != nullptr ? clock : &system_clock_);
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    std::abort();  // every test needs its broker
  }
  server_ = std::move(*server);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  stub_ = v1::Broker::NewStub(channel_);
}

InProcessBroker::~InProcessBroker() { server_->Shutdown(); }

std::string InProcessBroker::address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

v1::ConnectResponse InProcessBroker::Connect(const std::string& user) {
  grpc::ClientContext context;
  v1::ConnectRequest request;
  request.set_user(user);
  request.set_session(user + "-session");
  v1::ConnectResponse response;
  grpc::Status status = stub_->Connect(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

v1::PublishResponse InProcessBroker::Say(const std::string& user, const std::string& room,
                                         const std::string& text) {
  grpc::ClientContext context;
  v1::PublishRequest request;
  request.set_sender(user);
  request.set_room(room);
  request.set_text(text);
  v1::PublishResponse response;
  grpc::Status status = stub_->Publish(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

grpc::Status InProcessBroker::PollNow(const v1::PollRequest& request, v1::PollResponse* response) {
  v1::PollRequest now = request;
  now.set_wait_ms(0);
  grpc::ClientContext context;
  return stub_->Poll(&context, now, response);
}

std::vector<uint64_t> InProcessBroker::ConnectNumbered(int count) {
  for (int i = 0; i < count; ++i) Connect("u" + std::to_string(i));
  std::vector<uint64_t> cursors;
  for (int i = 0; i < count; ++i) {
    v1::PollRequest request = PollFor("u" + std::to_string(i), 0, 0);
    request.set_max_messages(static_cast<uint32_t>(count));
    v1::PollResponse response;
    EXPECT_TRUE(PollNow(request, &response).ok());
    cursors.push_back(response.cursor());
  }
  return cursors;
}

uint64_t InProcessBroker::ParkedPolls() { return server_->state().parked_polls(); }

}  // namespace parley::testing
