#ifndef PARLEY_COMMON_GRPC_TLS_H_
#define PARLEY_COMMON_GRPC_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace parley {

// The PEM files of the optional TLS between frontends (and parley-health) and the broker:
// --tls_cert, --tls_key, --tls_ca on each program. All empty: plaintext, for a trusted
// network only (docs/operations.md).
struct TlsFiles {
  std::string cert;  // this program's certificate chain
  std::string key;   // its private key
  std::string ca;    // the CA that signed the other side's certificate
};

// The files named by the --tls_cert, --tls_key and --tls_ca flags (defined with this
// function, so every program linking it has them).
TlsFiles TlsFilesFromFlags();

// The broker's credentials. cert and key: TLS. ca as well: clients must present a certificate
// signed by it (mutual TLS). Neither: plaintext. INVALID_ARGUMENT for a half-given pair or a
// CA without a certificate; NOT_FOUND for a file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BrokerServerCredentials(
    const TlsFiles& files);

// A client's credentials for the broker. ca: TLS, the broker's certificate checked against
// it. cert and key as well: the client's certificate for mutual TLS. Nothing: plaintext.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> BrokerChannelCredentials(
    const TlsFiles& files);

}  // namespace parley

#endif  // PARLEY_COMMON_GRPC_TLS_H_
