#ifndef PARLEY_FRONTEND_SERVER_HANGUP_WATCHER_H_
#define PARLEY_FRONTEND_SERVER_HANGUP_WATCHER_H_

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "frontend/broker/broker_client.h"

namespace parley::frontend {

// Ends a held long poll as soon as its client goes away (closes or resets the connection)
// instead of when the poll's deadline passes: a browser that reloads or closes its tab would
// otherwise leave a thread, a broker waiter and a held-poll count behind for up to --max_wait.
// cpp-httplib cannot see this; our connection loop owns the socket (BoundedHttpServer).
//
// One thread and one epoll set for the whole frontend, watching only the sockets of polls
// in flight, for peer hangup (EPOLLRDHUP/EPOLLHUP/EPOLLERR; a client that only half-closes
// its side counts as gone). On hangup it cancels that poll's gRPC call.
// Thread-safe. Owned by FrontendServer; outlives every Watch.
class HangupWatcher {
 public:
  HangupWatcher();
  ~HangupWatcher();  // stops the thread
  HangupWatcher(const HangupWatcher&) = delete;
  HangupWatcher& operator=(const HangupWatcher&) = delete;

  // Watches one connection's socket for the polls made with it (BrokerClient::Poll attaches
  // and detaches each call). Lives on the HTTP worker thread's stack, for one request; only
  // that thread calls its methods.
  class Watch final : public PollCancellation {
   public:
    // `socket` < 0 (no connection known) or no watcher: watches nothing.
    Watch(HangupWatcher* watcher, int socket) : watcher_(watcher), socket_(socket) {}
    ~Watch() override { Detach(); }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    void Attach(grpc::ClientContext* context) override;
    void Detach() override;
    // Whether the client was seen to go away while a call was attached.
    bool client_gone();

   private:
    friend class HangupWatcher;
    HangupWatcher* const watcher_;
    const int socket_;
    uint64_t id_ = 0;  // non-zero while attached
    grpc::ClientContext* context_ ABSL_GUARDED_BY(watcher_->mu_) = nullptr;
    bool gone_ ABSL_GUARDED_BY(watcher_->mu_) = false;
  };

 private:
  void Run();

  const int epoll_;
  const int stop_event_;  // eventfd in the epoll set under id 0; readable once stopping
  absl::Mutex mu_;
  // Attached watches by id (ids are never reused, so a stale event finds nothing). A Watch
  // detaches under mu_, and the thread cancels only under mu_: it never touches a context
  // whose call has returned.
  absl::flat_hash_map<uint64_t, Watch*> attached_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::thread thread_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SERVER_HANGUP_WATCHER_H_
