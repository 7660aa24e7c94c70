#include "frontend/net/descriptor_limit.h"

#include <sys/resource.h>

namespace parley::frontend {

uint64_t RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(limit.rlim_cur);
}

size_t ConnectionsWithin(uint64_t limit) {
  return limit > kReservedDescriptors ? static_cast<size_t>(limit - kReservedDescriptors) : 0;
}

}  // namespace parley::frontend
