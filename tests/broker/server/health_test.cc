// The standard health service, checked with stubs generated from Debian's grpc-proto.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/in_process_broker.h"

namespace parley::broker {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Check(Health::Stub& health, const std::string& service) {
  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = health.Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

// A Watch of `service`, with a deadline far enough for any test here.
std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> OpenWatch(Health::Stub& health,
                                                                   const std::string& service,
                                                                   grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  HealthCheckRequest request;
  request.set_service(service);
  return health.Watch(context, request);
}

TEST(HealthTest, ServingWhileUpNotServingOnceShutdownBegins) {
  parley::testing::InProcessBroker broker;
  auto health = Health::NewStub(broker.channel());
  EXPECT_EQ(Check(*health, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(*health, "parley.v1.Broker"), HealthCheckResponse::SERVING);
  broker.server().BeginShutdown();
  EXPECT_EQ(Check(*health, ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(*health, "parley.v1.Broker"), HealthCheckResponse::NOT_SERVING);
}

// A prober that watches (Health/Watch, as Kubernetes' gRPC probe and grpc-health-probe can)
// is told of the change, not only one that asks again.
TEST(HealthTest, AWatchIsToldNotServingWhenShutdownBegins) {
  parley::testing::InProcessBroker broker;
  auto health = Health::NewStub(broker.channel());
  grpc::ClientContext context;
  auto watch = OpenWatch(*health, "parley.v1.Broker", &context);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  broker.server().BeginShutdown();
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  context.TryCancel();
  watch->Finish();
}

TEST(HealthTest, CheckOfAnUnknownServiceIsNotFound) {
  parley::testing::InProcessBroker broker;
  auto health = Health::NewStub(broker.channel());
  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service("parley.v1.Nothing");
  HealthCheckResponse response;
  grpc::Status status = health->Check(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("parley.v1.Nothing"), std::string::npos)
      << status.error_message();
}

// As the health protocol says: a watch of a name the server does not know is answered
// SERVICE_UNKNOWN and stays open (the service may appear later).
TEST(HealthTest, AWatchOfAnUnknownServiceIsToldServiceUnknown) {
  parley::testing::InProcessBroker broker;
  auto health = Health::NewStub(broker.channel());
  grpc::ClientContext context;
  auto watch = OpenWatch(*health, "parley.v1.Nothing", &context);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  context.TryCancel();
  watch->Finish();
}

// A watch lasts until the client leaves; the broker's shutdown must not wait for it, and
// ends it.
TEST(HealthTest, ShutdownEndsAnOpenWatch) {
  broker::BrokerServerOptions options;
  options.shutdown_timeout = absl::Seconds(30);  // a watch counted in-flight would hold it
  parley::testing::InProcessBroker broker(options);
  auto health = Health::NewStub(broker.channel());
  grpc::ClientContext context;
  auto watch = OpenWatch(*health, "", &context);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  const absl::Time start = absl::Now();
  broker.server().Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  while (watch->Read(&response)) EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Finish().ok());
}

}  // namespace
}  // namespace parley::broker
