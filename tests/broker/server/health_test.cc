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
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  HealthCheckRequest request;
  request.set_service("parley.v1.Broker");
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> watch = health->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  broker.server().BeginShutdown();
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  context.TryCancel();
  watch->Finish();
}

}  // namespace
}  // namespace parley::broker
