#ifndef PARLEY_FRONTEND_SERVER_HANGUP_WATCHER_H_
#define PARLEY_FRONTEND_SERVER_HANGUP_WATCHER_H_

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "frontend/broker/broker_client.h"
#include "frontend/server/bounded_http_server.h"

namespace parley::frontend {

// Ends a held long poll as soon as its client goes away (closes or resets the connection)
// instead of when the poll's deadline passes: a browser that reloads or closes its tab would
// otherwise leave a thread, a broker waiter and a held-poll count behind for up to --max_wait.
// cpp-httplib cannot see this; our connection loop owns the socket (BoundedHttpServer).
//
// One thread and one epoll set for the whole frontend. A connection's socket joins the set on
// its first long poll (edge-triggered, for peer hangup only: EPOLLRDHUP/EPOLLHUP/EPOLLERR; a
// client that only half-closes its side counts as gone) and leaves it when the connection
// ends, so a keep-alive connection's later polls cost no system call. On hangup the thread
// cancels the poll in flight on that connection, or the next one at once.
// Thread-safe. Owned by FrontendServer; outlives every connection.
class HangupWatcher {
 public:
  HangupWatcher();
  ~HangupWatcher();  // stops the thread
  HangupWatcher(const HangupWatcher&) = delete;
  HangupWatcher& operator=(const HangupWatcher&) = delete;

  // Watches one request's polls (BrokerClient::Poll attaches and detaches each call). Lives
  // on the HTTP worker thread's stack for one request; only that thread calls its methods.
  class Watch final : public PollCancellation {
   public:
    // Inert without a watcher or a connection (a handler not run by the connection loop).
    Watch(HangupWatcher* watcher, ServedConnection* connection)
        : watcher_(watcher), connection_(connection) {}
    ~Watch() override { Detach(); }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    void Attach(grpc::ClientContext* context) override;
    void Detach() override;
    // Whether the client has been seen to go away.
    bool client_gone();

   private:
    HangupWatcher* const watcher_;
    ServedConnection* const connection_;
    bool attached_ = false;
  };

 private:
  struct Entry {
    grpc::ClientContext* context = nullptr;  // the poll in flight, cancelled at hangup
    bool gone = false;
  };
  // Adds the connection's socket to the epoll set and sets its on_close to take it out.
  void Register(ServedConnection* connection);
  void Run();

  const int epoll_;
  const int stop_event_;  // eventfd in the epoll set under id 0; readable once stopping
  absl::Mutex mu_;
  // Registered connections by id (ids are never reused, so a stale event finds nothing).
  // The thread cancels only under mu_, and a poll detaches under mu_: it never touches a
  // context whose call has returned.
  absl::flat_hash_map<uint64_t, Entry> connections_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::thread thread_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SERVER_HANGUP_WATCHER_H_
