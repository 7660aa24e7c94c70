// Session token parsing (frontend/session/session_tokens) against fuzzed tokens: never
// crash, and the only tokens that verify are the ones the same secret would have issued.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/time/time.h"
#include "frontend/session/session_tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const parley::frontend::SessionTokens tokens("fuzzing-secret-0123456789", absl::Hours(24));
  const std::string token(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  absl::StatusOr<parley::frontend::Session> session = tokens.Verify(token, now);
  if (session.ok()) {
    // A forged token could only verify by matching the HMAC: then it is the canonical one.
    if (tokens.Encode(*session) != token || session->expires_at <= now) std::abort();
  } else if (session.status().code() != absl::StatusCode::kUnauthenticated) {
    std::abort();
  }
  return 0;
}
