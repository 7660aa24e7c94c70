#include "common/grpc_tls.h"

#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of this program for TLS between frontend and broker (with "
          "--tls_key). Off by default: the broker port must then be reachable only by frontends.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificate that signed the other side's certificate. Broker: clients must "
          "present one (mutual TLS). Frontend and parley-health: TLS to the broker, checked "
          "against it.");

namespace parley {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  std::ifstream in(path);
  std::stringstream contents;
  if (!in || !(contents << in.rdbuf())) {
    return absl::NotFoundError(absl::StrCat("cannot read ", flag, " ", path));
  }
  if (contents.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, " is not a PEM file"));
  }
  return contents.str();
}

// The contents of the files `files` names (empty where none is named), read once for both
// kinds of credentials. A cert without its key (or the reverse) is an error.
absl::StatusOr<TlsFiles> ReadAll(const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  TlsFiles contents;
  for (auto [path, flag, out] : {std::tuple{&files.cert, "--tls_cert", &contents.cert},
                                 std::tuple{&files.key, "--tls_key", &contents.key},
                                 std::tuple{&files.ca, "--tls_ca", &contents.ca}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> pem = ReadPem(*path, flag);
    if (!pem.ok()) return pem.status();
    *out = *std::move(pem);
  }
  return contents;
}

}  // namespace

TlsFiles TlsFilesFromFlags() {
  return {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_ca)};
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BrokerServerCredentials(
    const TlsFiles& files) {
  if (files.cert.empty() && !files.ca.empty()) {
    return absl::InvalidArgumentError("--tls_ca on the broker needs --tls_cert and --tls_key");
  }
  absl::StatusOr<TlsFiles> pem = ReadAll(files);
  if (!pem.ok()) return pem.status();
  if (pem->cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      pem->ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                      : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_key_cert_pairs.push_back({pem->key, pem->cert});
  options.pem_root_certs = pem->ca;
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> BrokerChannelCredentials(
    const TlsFiles& files) {
  if (files.ca.empty() && !files.cert.empty()) {
    return absl::InvalidArgumentError("--tls_cert needs --tls_ca (the broker's CA)");
  }
  absl::StatusOr<TlsFiles> pem = ReadAll(files);
  if (!pem.ok()) return pem.status();
  if (pem->ca.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem->ca;
  options.pem_cert_chain = pem->cert;
  options.pem_private_key = pem->key;
  return grpc::SslCredentials(options);
}

}  // namespace parley
