#ifndef PARLEY_BROKER_SERVER_SERVER_CALL_TAGS_H_
#define PARLEY_BROKER_SERVER_SERVER_CALL_TAGS_H_

#include <memory>
#include <utility>

namespace parley::broker {

// The tag bookkeeping every server call object on the async API shares (PollCall,
// PollStreamCall, the health service's WatchCall): which of its tags gRPC still holds, and
// the reference that keeps the object alive until all are back.
//
//   Requested      always, once; ok=false: no call came (the server is shutting down), and
//                  the done tag is then never delivered (gRPC issue #10136)
//   done           once if the request matched (AsyncNotifyWhenDone, asked for before the
//                  request); possibly before a finish
//   read, write,   each at most one outstanding; returned once per start
//   finish
//
// Not thread-safe: the owning call guards it with its own mutex.
template <typename Call>
class ServerCallTags {
 public:
  enum class Op { kRead = 1, kWrite = 2, kFinish = 4 };

  // The request is asked for; `self` keeps the call alive until every tag is back.
  void Requested(std::shared_ptr<Call> self) {
    awaiting_request_ = true;
    self_ = std::move(self);
  }
  void RequestReturned(bool ok) {
    awaiting_request_ = false;
    matched_ = ok;
  }
  void DoneReturned() { done_returned_ = true; }
  // `started`: whether the operation was started (the gate may have refused it).
  void Started(Op op, bool started) {
    if (started) outstanding_ |= static_cast<int>(op);
  }
  void Returned(Op op) { outstanding_ &= ~static_cast<int>(op); }
  // Marks `op` outstanding before it is started outside the lock, so nobody starts another
  // meanwhile; Returned(op) if it then cannot be started.
  void Claim(Op op) { outstanding_ |= static_cast<int>(op); }

  bool matched() const { return matched_; }
  bool done_returned() const { return done_returned_; }
  bool outstanding(Op op) const { return (outstanding_ & static_cast<int>(op)) != 0; }

  // Once nothing is outstanding: the call's own reference, for the caller to drop after it
  // has released its lock (the call may then be freed). Otherwise null.
  [[nodiscard]] std::shared_ptr<Call> ReleaseIfAllBack() {
    if (awaiting_request_ || outstanding_ != 0) return nullptr;
    if (matched_ && !done_returned_) return nullptr;
    return std::move(self_);
  }

 private:
  std::shared_ptr<Call> self_;
  bool awaiting_request_ = false;
  bool matched_ = false;
  bool done_returned_ = false;
  int outstanding_ = 0;  // Op bits
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_SERVER_CALL_TAGS_H_
