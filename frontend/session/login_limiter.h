#ifndef PARLEY_FRONTEND_SESSION_LOGIN_LIMITER_H_
#define PARLEY_FRONTEND_SESSION_LOGIN_LIMITER_H_

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/token_bucket.h"

namespace parley::frontend {

// Limits logins per client address: a token bucket per address (`burst` at once, refilled
// at `per_minute`), so one address cannot try names or fill the broker with sessions. Each
// frontend counts on its own. Buckets that are full again are forgotten, and at most
// `max_addresses` are kept (beyond that the map is swept first). Thread-safe.
class LoginLimiter {
 public:
  LoginLimiter(double per_minute, double burst, size_t max_addresses = 100'000);

  // OK, or RESOURCE_EXHAUSTED saying in how many seconds a login will be accepted again.
  absl::Status Admit(absl::string_view address, absl::Time now);
  // Seconds until one more login is allowed at the configured rate (for Retry-After).
  int retry_seconds() const { return std::max(1, static_cast<int>(std::ceil(1 / per_second_))); }

 private:
  const double per_second_;
  const double burst_;
  const size_t max_addresses_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, TokenBucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// The address a request comes from: the socket's peer, or with `trust_forwarded_for` (behind
// a proxy that appends it) the last address of X-Forwarded-For.
std::string ClientAddress(const httplib::Request& request, bool trust_forwarded_for);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SESSION_LOGIN_LIMITER_H_
