// parley-health: the containers' health check (slim images have no curl or grpcurl).
//   parley-health --grpc=127.0.0.1:50051 [--service=parley.v1.Broker]   gRPC health: SERVING?
//                 [--tls_ca=ca.pem [--tls_cert=c.pem --tls_key=c.key]]  (a TLS broker)
//   parley-health --http=127.0.0.1:8080/readyz                          HTTP GET: 200?
// Exits 0 when healthy, 1 when not (and says why on stderr), 2 on bad usage.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "common/grpc_tls.h"
#include "common/program.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, grpc, "", "host:port of a gRPC server to ask grpc.health.v1.Health/Check.");
ABSL_FLAG(std::string, service, "", "Service name for --grpc (empty: the whole server).");
ABSL_FLAG(std::string, http, "", "host:port/path to GET; healthy on 200.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(2), "How long to wait for an answer.");

namespace {

int CheckGrpc(const std::string& target, const std::string& service, absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      parley::BrokerChannelCredentials(parley::TlsFilesFromFlags());
  if (!credentials.ok()) {
    std::fprintf(stderr, "parley-health: %s\n",
                 std::string(credentials.status().message()).c_str());
    return 2;
  }
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(target, *credentials));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "parley-health: %s: %s\n", target.c_str(), status.error_message().c_str());
    return 1;
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    std::fprintf(
        stderr, "parley-health: %s: %s\n", target.c_str(),
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()).c_str());
    return 1;
  }
  return 0;
}

int CheckHttp(const std::string& url, absl::Duration timeout) {
  const size_t slash = url.find('/');
  const std::string host_port = url.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    std::fprintf(stderr, "parley-health: --http must be host:port/path\n");
    return 2;
  }
  httplib::Client client(host_port.substr(0, colon), port);
  const auto micros = absl::ToInt64Microseconds(timeout);
  client.set_connection_timeout(micros / 1000000, micros % 1000000);
  client.set_read_timeout(micros / 1000000, micros % 1000000);
  httplib::Result result = client.Get(path);
  if (!result) {
    std::fprintf(stderr, "parley-health: %s: %s\n", url.c_str(),
                 httplib::to_string(result.error()).c_str());
    return 1;
  }
  if (result->status != 200) {
    std::fprintf(stderr, "parley-health: %s: HTTP %d\n", url.c_str(), result->status);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  parley::ParseCommandLine(argc, argv,
                           "Health check for Parley's containers.\n"
                           "Usage: parley-health --grpc=host:port [--service=name] | "
                           "--http=host:port/path",
                           "tools/health/health_main.cc");
  const std::string grpc_target = absl::GetFlag(FLAGS_grpc);
  const std::string http_target = absl::GetFlag(FLAGS_http);
  if (grpc_target.empty() == http_target.empty()) {
    std::fprintf(stderr, "parley-health: give exactly one of --grpc and --http\n");
    return 2;
  }
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  return grpc_target.empty() ? CheckHttp(http_target, timeout)
                             : CheckGrpc(grpc_target, absl::GetFlag(FLAGS_service), timeout);
}
