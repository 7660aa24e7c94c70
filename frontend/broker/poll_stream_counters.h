#ifndef PARLEY_FRONTEND_BROKER_POLL_STREAM_COUNTERS_H_
#define PARLEY_FRONTEND_BROKER_POLL_STREAM_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace parley::frontend {

// Figures of the frontend's PollStreams, for its metrics. Owned by whoever reads them; every
// PollStream counts into it.
struct PollStreamCounters {
  std::atomic<int64_t> polls_in_flight{0};  // sent or waiting to be sent on a stream
  std::atomic<int64_t> resends{0};          // cursor polls re-sent after their stream broke
  std::atomic<int64_t> streams_started{0};
  std::atomic<int64_t> streams_retired{0};  // half-closed at their age, their polls answered
  std::atomic<int64_t> unary_fallbacks{0};  // polls sent as unary Poll: broker without stream
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_BROKER_POLL_STREAM_COUNTERS_H_
