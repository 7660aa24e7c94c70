#ifndef PARLEY_FRONTEND_NET_DESCRIPTOR_LIMIT_H_
#define PARLEY_FRONTEND_NET_DESCRIPTOR_LIMIT_H_

#include <cstddef>
#include <cstdint>

namespace parley::frontend {

// How many connections the open-file limit leaves room for. Every connection is a descriptor;
// the rest of the process needs some too (kReservedDescriptors: the broker channels, the
// listening sockets, epoll and event descriptors, the page's files, logs). Any thread.

inline constexpr uint64_t kReservedDescriptors = 128;

// Raises this process's soft RLIMIT_NOFILE to its hard limit, as nginx's
// worker_rlimit_nofile does, and answers the soft limit then in force.
uint64_t RaiseDescriptorLimit();

// The connections a process whose open-file limit is `limit` can hold (0 if it leaves none).
size_t ConnectionsWithin(uint64_t limit);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_NET_DESCRIPTOR_LIMIT_H_
