#include "frontend/session/login_limiter.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace parley::frontend {

LoginLimiter::LoginLimiter(double per_minute, double burst, size_t max_addresses)
    : per_second_(per_minute / 60), burst_(burst), max_addresses_(max_addresses) {}

absl::Status LoginLimiter::Admit(absl::string_view address, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (buckets_.size() >= max_addresses_) {
    absl::erase_if(buckets_, [now](auto& entry) { return entry.second.IsFull(now); });
    // Still full of active addresses: refuse new ones rather than grow without bound.
    if (buckets_.size() >= max_addresses_ && !buckets_.contains(address)) {
      return absl::ResourceExhaustedError("too many logins right now; try again in a minute");
    }
  }
  auto [it, inserted] =
      buckets_.try_emplace(std::string(address), TokenBucket(per_second_, burst_, now));
  const absl::Duration wait = it->second.TryTake(now);
  if (wait <= absl::ZeroDuration()) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("too many logins from this address; try again in ",
                   static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(wait))), " s"));
}

std::string ClientAddress(const httplib::Request& request, bool trust_forwarded_for) {
  if (trust_forwarded_for && request.has_header("X-Forwarded-For")) {
    const std::string forwarded = request.get_header_value("X-Forwarded-For");  // owns the text
    std::vector<absl::string_view> hops = absl::StrSplit(forwarded, ',', absl::SkipWhitespace());
    if (!hops.empty()) return std::string(absl::StripAsciiWhitespace(hops.back()));
  }
  return request.remote_addr;
}

}  // namespace parley::frontend
