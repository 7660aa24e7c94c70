#ifndef PARLEY_FRONTEND_BROKER_POLL_STREAM_H_
#define PARLEY_FRONTEND_BROKER_POLL_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "frontend/broker/broker_api.h"
#include "frontend/broker/completion.h"
#include "frontend/broker/poll_stream_counters.h"
#include "parley/v1/broker.grpc.pb.h"

namespace parley::frontend {

// One channel's PollStream to the broker: carries many long polls, each with its id,
// request and deadline, and hands each answer to its `done` (so to the route) as the unary
// Poll's would be, rebuilt from the stream's shared messages.
//
// Sending: polls and cancels queue up while a Write is outstanding and leave together in the
// next one (a burst of polls costs one message). A poll added with an executor (an HTTP loop)
// is sent by a flush posted there, so the polls of one loop turn leave in one message. A stream
// call is opened when a poll needs one and kept while the broker keeps it. When the call ends
// (broker restarted or vanished: keepalive notices within seconds), its cursor polls are sent again
// once on a new call, opened 100-350 ms later so that gRPC has stopped picking the dead connection
// (the cursor makes the re-send safe); a consume poll (the seed's /get_post) is not, as the broker
// may already have advanced its cursor: it is answered UNAVAILABLE (503) and the page asks again. A
// broker without the method (UNIMPLEMENTED) makes the stream hand its polls, and the next minute's,
// to `unary`. Each poll also has a deadline here (ExpireOverdue), in case the broker never answers.
// A call is retired at its age: new polls go on a new call (which the channel's round_robin
// may place on another broker, one added since, say), and the old one is half-closed, so the
// broker answers what it carries and ends it; nothing is re-sent.
//
// Threads: Add/Cancel from any thread (the HTTP loops); tags on the completion queue's
// thread. A poll's `done` is posted to its executor, all the answers for one executor that
// one message (or one expiry, one cancel) settles in one post; a poll without an executor
// has its `done` run by whichever thread settled it (outside mu_). The owner calls Close()
// and waits for it before the queue shuts down.
class PollStream {
 public:
  // Sends one poll as a unary Poll instead (the BrokerClient's own path).
  using UnaryPoll = absl::AnyInvocable<std::shared_ptr<BrokerApi::PendingPoll>(
      const v1::PollRequest& request, BrokerApi::Done<v1::PollResponse> done)>;

  // `max_age`: each call is retired after 80-120 % of it (0: never), see above.
  PollStream(v1::Broker::Stub* stub, grpc::CompletionQueue* queue, PollStreamCounters* counters,
             UnaryPoll unary, absl::Duration max_age = absl::ZeroDuration());
  ~PollStream();  // Close()
  PollStream(const PollStream&) = delete;
  PollStream& operator=(const PollStream&) = delete;

  // Starts a poll whose answer is due by `deadline`; `done` runs on `executor` (see above).
  std::shared_ptr<BrokerApi::PendingPoll> Add(const v1::PollRequest& request, absl::Time deadline,
                                              Executor* executor,
                                              BrokerApi::Done<v1::PollResponse> done);
  // Answers every poll OK and empty (the frontend shuts down), and later ones too.
  void AnswerAllEmpty();
  // Answers DEADLINE_EXCEEDED every poll whose deadline has passed (and tells the broker),
  // retires the open call at its age, and opens the call that polls left by a broken one wait
  // for (kReopenDelay). Call it often.
  void ExpireOverdue(absl::Time now);
  // Ends the stream call and waits until its tags have all come back. Idempotent.
  void Close();

 private:
  class Poll;
  class Call;
  struct Answered {
    std::shared_ptr<Poll> poll;
    grpc::Status status;
    v1::PollResponse response;
  };

  void Cancel(Poll* poll);
  // Opens a call if polls wait and none is open (nor the broker lacks the method).
  void EnsureCallLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteMoreLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The flush posted by Add: sends what the executor's turn added.
  void Flush();
  void OnStarted(Call* call, bool ok);
  void OnRead(Call* call, bool ok);
  void OnWritten(Call* call, bool ok);
  void OnHalfClosed(Call* call);
  void RetireLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HalfCloseLocked(Call* call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelCallsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SentOnOpenCallLocked(const Poll& poll) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnFinished(Call* call);
  void TagBack(Call* call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands each answer to its poll's `done`: posted, one post per executor, or run here.
  static void Run(std::vector<Answered>& answered);
  static void RunOne(Answered& answer);

  v1::Broker::Stub* const stub_;
  grpc::CompletionQueue* const queue_;
  PollStreamCounters* const counters_;
  UnaryPoll unary_;
  const absl::Duration max_age_;

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<Poll>> polls_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> unsent_ ABSL_GUARDED_BY(mu_);   // ids; cancelled ones are skipped
  std::vector<uint64_t> cancels_ ABSL_GUARDED_BY(mu_);  // ids the broker should drop
  std::unique_ptr<Call> call_ ABSL_GUARDED_BY(mu_);     // the open call, if any
  std::vector<std::unique_ptr<Call>> ending_ ABSL_GUARDED_BY(mu_);  // tags still out
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;                    // of call_
  absl::Time unimplemented_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time reopen_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // kReopenDelay
  bool flush_posted_ ABSL_GUARDED_BY(mu_) = false;                       // a Flush is on its way
  bool answer_empty_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_BROKER_POLL_STREAM_H_
