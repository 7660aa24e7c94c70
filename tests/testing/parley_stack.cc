#include "tests/testing/parley_stack.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "parley/v1/http_api.pb.h"

namespace parley::testing {

ParleyStack::ParleyStack(frontend::FrontendOptions frontend_options,
                         broker::BrokerServerOptions broker_options,
                         const broker::Clock* broker_clock)
    : broker_options_(broker_options), broker_clock_(broker_clock) {
  StartBroker();
  // Every test user logs in from 127.0.0.1: the per-address login limit would stop the
  // tests that need hundreds (it has its own tests).
  frontend_options.login_rate_per_minute = 1e9;
  frontend_options.login_burst = 1e9;
  frontend_options.host = "127.0.0.1";
  frontend_options.port = 0;
  frontend_options.broker = broker_->address();
  auto frontend = frontend::FrontendServer::Start(frontend_options, kSecret);
  if (!frontend.ok()) {
    ADD_FAILURE() << frontend.status();
    std::abort();
  }
  frontend_ = std::move(*frontend);
}

ParleyStack::~ParleyStack() {
  frontend_->Shutdown();
  broker_.reset();
}

void ParleyStack::StartBroker() {
  broker_ = std::make_unique<InProcessBroker>(broker_options_, broker_port_, broker_clock_);
  broker_port_ = broker_->server().port();
}

void ParleyStack::StopBroker() { broker_.reset(); }

std::unique_ptr<httplib::Client> ParleyStack::Client() const {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port());
  client->set_read_timeout(60, 0);
  client->set_connection_timeout(5, 0);
  return client;
}

std::string ParleyStack::LogIn(const std::string& name) {
  auto client = Client();
  httplib::Result result =
      client->Post("/api/session", absl::StrCat(R"({"name":")", name, R"("})"), "application/json");
  EXPECT_TRUE(result) << httplib::to_string(result.error());
  if (!result) return "";
  EXPECT_EQ(result->status, 200) << result->body;
  v1::SessionInfo info;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(result->body, &info).ok());
  return info.token();
}

httplib::Result ParleyStack::Get(const std::string& token, const std::string& path) {
  auto client = Client();
  return client->Get(path, {{"Authorization", "Bearer " + token}});
}

httplib::Result ParleyStack::PostJson(const std::string& token, const std::string& path,
                                      const std::string& json) {
  auto client = Client();
  return client->Post(path, {{"Authorization", "Bearer " + token}}, json, "application/json");
}

httplib::Result ParleyStack::Say(const std::string& token, const std::string& text,
                                 const std::string& room, const std::string& client_id) {
  return PostJson(token, "/api/messages",
                  absl::StrCat(R"({"room":")", room, R"(","text":")", text, R"(","clientId":")",
                               client_id, R"("})"));
}

}  // namespace parley::testing
