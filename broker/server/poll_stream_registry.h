#ifndef PARLEY_BROKER_SERVER_POLL_STREAM_REGISTRY_H_
#define PARLEY_BROKER_SERVER_POLL_STREAM_REGISTRY_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace parley::broker {

// The open PollStream calls, so a draining broker can tell each to end once its polls are
// answered (an idle stream would otherwise stay open until the server's shutdown deadline).
// Thread-safe. Holds weak references: a stream that goes away unregisters itself (from its
// destructor) and is never touched again.
template <typename Stream>
class PollStreamRegistry {
 public:
  void Add(Stream* stream, std::weak_ptr<Stream> weak) {
    absl::MutexLock lock(&mu_);
    streams_[stream] = std::move(weak);
  }
  void Remove(Stream* stream) {
    absl::MutexLock lock(&mu_);
    streams_.erase(stream);
  }
  // Runs `function` on every stream still alive, with no lock of the registry held.
  template <typename Function>
  void ForEach(Function function) {
    std::vector<std::shared_ptr<Stream>> alive;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [stream, weak] : streams_) {
        if (auto locked = weak.lock()) alive.push_back(std::move(locked));
      }
    }
    for (const auto& stream : alive) function(*stream);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<Stream*, std::weak_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_POLL_STREAM_REGISTRY_H_
