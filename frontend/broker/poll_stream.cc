#include "frontend/broker/poll_stream.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_error_reason.h"

namespace parley::frontend {
namespace {

// How long a broker that answered UNIMPLEMENTED is polled by unary calls before the stream
// is tried again (it may have been upgraded meanwhile).
constexpr absl::Duration kUnimplementedRetry = absl::Minutes(1);
// How long after a broken call its polls wait before going out on a new one. gRPC tells a
// call its connection died a few milliseconds before its load balancer stops picking that
// connection: a call opened at once can land on the dead one and fail again, which would
// cost the polls their one re-send (the ExpireOverdue tick opens the call).
constexpr absl::Duration kReopenDelay = absl::Milliseconds(100);

}  // namespace

// One poll on the stream. Its `done` is run by whoever removes it from polls_ (under mu_);
// once handed to the unary path (`fallback_`), Cancel goes there.
class PollStream::Poll final : public BrokerApi::PendingPoll {
 public:
  Poll(PollStream* stream, uint64_t id, const v1::PollRequest& request, absl::Time deadline,
       Executor* executor, BrokerApi::Done<v1::PollResponse> done)
      : stream_(stream),
        id_(id),
        request_(request),
        deadline_(deadline),
        executor_(executor),
        done_(std::move(done)) {}

  void Cancel() override {
    std::shared_ptr<BrokerApi::PendingPoll> fallback;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      fallback = fallback_;
    }
    if (fallback != nullptr) {
      fallback->Cancel();
    } else {
      stream_->Cancel(this);
    }
  }

  void SetFallback(std::shared_ptr<BrokerApi::PendingPoll> fallback) {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      fallback_ = fallback;
      cancelled = cancelled_;
    }
    // Cancelled while it moved to the unary path: the stream could no longer find it.
    if (cancelled && fallback != nullptr) fallback->Cancel();
  }

  PollStream* const stream_;
  const uint64_t id_;
  const v1::PollRequest request_;
  const absl::Time deadline_;
  Executor* const executor_;
  BrokerApi::Done<v1::PollResponse> done_;
  // Under the stream's mu_:
  uint64_t generation_ = 0;  // of the call it was sent on; 0: not sent yet
  bool resent_ = false;

 private:
  absl::Mutex mu_;
  std::shared_ptr<BrokerApi::PendingPoll> fallback_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// One PollStream RPC. Owned by the stream (call_, then ending_ until its last tag is back);
// its fields are touched under the stream's mu_, `in` also by OnRead between reads.
class PollStream::Call {
 public:
  enum class Op { kStart, kRead, kWrite, kWritesDone, kFinish };
  class Tag final : public Completion {
   public:
    Tag(Call* call, Op op) : call_(call), op_(op) {}
    void Complete(bool ok) override {
      PollStream* stream = call_->stream;
      switch (op_) {  // nothing may touch the call after these: they may delete it
        case Op::kStart:
          return stream->OnStarted(call_, ok);
        case Op::kRead:
          return stream->OnRead(call_, ok);
        case Op::kWrite:
          return stream->OnWritten(call_, ok);
        case Op::kWritesDone:
          return stream->OnHalfClosed(call_);
        case Op::kFinish:
          return stream->OnFinished(call_);
      }
    }

   private:
    Call* const call_;
    const Op op_;
  };

  Call(PollStream* stream, uint64_t generation) : stream(stream), generation(generation) {}

  PollStream* const stream;
  const uint64_t generation;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<v1::PollStreamRequest, v1::PollStreamResponse>> rw;
  v1::PollStreamRequest out;
  v1::PollStreamResponse in;
  grpc::Status status;
  int tags_out = 0;
  bool started = false;
  bool writing = false;
  bool finishing = false;
  absl::Time retire_at = absl::InfiniteFuture();
  bool retired = false;      // no new polls; half-closed once no write is out
  bool half_closed = false;  // WritesDone sent
  Tag start_tag{this, Op::kStart};
  Tag read_tag{this, Op::kRead};
  Tag write_tag{this, Op::kWrite};
  Tag writes_done_tag{this, Op::kWritesDone};
  Tag finish_tag{this, Op::kFinish};
};

PollStream::PollStream(v1::Broker::Stub* stub, grpc::CompletionQueue* queue,
                       PollStreamCounters* counters, UnaryPoll unary, absl::Duration max_age)
    : stub_(stub),
      queue_(queue),
      counters_(counters),
      unary_(std::move(unary)),
      max_age_(max_age) {}

PollStream::~PollStream() { Close(); }

std::shared_ptr<BrokerApi::PendingPoll> PollStream::Add(const v1::PollRequest& request,
                                                        absl::Time deadline, Executor* executor,
                                                        BrokerApi::Done<v1::PollResponse> done) {
  bool unary = false;
  bool post_flush = false;
  std::shared_ptr<Poll> poll;
  {
    absl::MutexLock lock(&mu_);
    if (answer_empty_ || closed_) {
      // Shutting down: answered empty at once, below.
    } else if (absl::Now() < unimplemented_until_) {
      unary = true;
    } else {
      poll = std::make_shared<Poll>(this, next_id_++, request, deadline, executor, std::move(done));
      polls_.emplace(poll->id_, poll);
      unsent_.push_back(poll->id_);
      counters_->polls_in_flight.fetch_add(1, std::memory_order_relaxed);
      EnsureCallLocked();
      if (executor == nullptr) {
        WriteMoreLocked();
      } else if (!flush_posted_) {
        flush_posted_ = post_flush = true;
      }
    }
  }
  if (poll != nullptr) {
    // Outside mu_: an executor that has stopped runs the flush at once.
    if (post_flush) executor->Post([this] { Flush(); });
    return poll;
  }
  if (unary) {
    counters_->unary_fallbacks.fetch_add(1, std::memory_order_relaxed);
    return unary_(request, std::move(done));
  }
  done(grpc::Status::OK, v1::PollResponse());
  return nullptr;
}

void PollStream::Cancel(Poll* poll) {
  std::vector<Answered> answered;
  {
    absl::MutexLock lock(&mu_);
    auto it = polls_.find(poll->id_);
    if (it == polls_.end()) return;  // answered already
    answered.push_back(
        {std::move(it->second), grpc::Status(grpc::StatusCode::CANCELLED, "the client left"), {}});
    polls_.erase(it);
    counters_->polls_in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (SentOnOpenCallLocked(*poll)) {
      cancels_.push_back(poll->id_);
      WriteMoreLocked();
    }
  }
  Run(answered);
}

void PollStream::ExpireOverdue(absl::Time now) {
  std::vector<Answered> answered;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = polls_.begin(); it != polls_.end();) {
      Poll& poll = *it->second;
      if (poll.deadline_ > now) {
        ++it;
        continue;
      }
      if (SentOnOpenCallLocked(poll)) cancels_.push_back(poll.id_);
      answered.push_back(
          {std::move(it->second),
           grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the broker did not answer in time"),
           {}});
      polls_.erase(it++);
    }
    counters_->polls_in_flight.fetch_sub(static_cast<int64_t>(answered.size()),
                                         std::memory_order_relaxed);
    if (call_ != nullptr && call_->started && !call_->finishing && now >= call_->retire_at) {
      RetireLocked();
    }
    EnsureCallLocked();  // a broken call's polls wait for the tick (kReopenDelay)
    if (!answered.empty()) WriteMoreLocked();
  }
  Run(answered);
}

void PollStream::AnswerAllEmpty() {
  std::vector<Answered> answered;
  {
    absl::MutexLock lock(&mu_);
    answer_empty_ = true;
    for (auto& [id, poll] : polls_) answered.push_back({std::move(poll), grpc::Status::OK, {}});
    polls_.clear();
    unsent_.clear();
    counters_->polls_in_flight.fetch_sub(static_cast<int64_t>(answered.size()),
                                         std::memory_order_relaxed);
    CancelCallsLocked();  // their polls are answered: let them go
  }
  Run(answered);
}

void PollStream::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  CancelCallsLocked();
  mu_.Await(absl::Condition(
      +[](PollStream* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->call_ == nullptr && self->ending_.empty();
      },
      this));
}

void PollStream::CancelCallsLocked() {
  if (call_ != nullptr) call_->context.TryCancel();
  for (auto& call : ending_) call->context.TryCancel();
}

bool PollStream::SentOnOpenCallLocked(const Poll& poll) const {
  // A retired call takes no more writes: a poll cancelled there stays parked at the broker
  // until its wait ends, and the answer is dropped here.
  return poll.generation_ != 0 && call_ != nullptr && poll.generation_ == call_->generation;
}

void PollStream::RetireLocked() {
  Call* call = call_.get();
  call->retired = true;
  ending_.push_back(std::move(call_));
  counters_->streams_retired.fetch_add(1, std::memory_order_relaxed);
  if (!call->writing) HalfCloseLocked(call);
}

void PollStream::HalfCloseLocked(Call* call) {
  // The broker answers what the call carries and then ends it OK (OnFinished).
  call->half_closed = true;
  ++call->tags_out;
  call->rw->WritesDone(&call->writes_done_tag);
}

void PollStream::OnHalfClosed(Call* call) {
  absl::MutexLock lock(&mu_);
  TagBack(call);
}

void PollStream::EnsureCallLocked() {
  if (call_ != nullptr || closed_ || unsent_.empty() || absl::Now() < reopen_after_) return;
  call_ = std::make_unique<Call>(this, ++generation_);
  if (max_age_ > absl::ZeroDuration()) {
    // Spread over 80-120 % of the age, so a frontend's streams do not all move at once.
    call_->retire_at = absl::Now() + max_age_ * absl::Uniform(random_, 0.8, 1.2);
  }
  counters_->streams_started.fetch_add(1, std::memory_order_relaxed);
  call_->rw = stub_->PrepareAsyncPollStream(&call_->context, queue_);
  call_->tags_out = 1;
  call_->rw->StartCall(&call_->start_tag);
}

void PollStream::WriteMoreLocked() {
  Call* call = call_.get();
  if (call == nullptr || !call->started || call->writing || call->finishing) return;
  if (unsent_.empty() && cancels_.empty()) return;
  call->out.Clear();
  const absl::Time now = absl::Now();
  for (uint64_t id : unsent_) {
    auto it = polls_.find(id);
    if (it == polls_.end()) continue;  // cancelled before it left
    Poll& poll = *it->second;
    poll.generation_ = call->generation;
    v1::StreamPoll* out = call->out.add_polls();
    out->set_id(id);
    *out->mutable_request() = poll.request_;
    const int64_t left_ms = absl::ToInt64Milliseconds(poll.deadline_ - now);
    out->set_deadline_ms(static_cast<uint32_t>(std::clamp<int64_t>(left_ms, 1, UINT32_MAX)));
  }
  unsent_.clear();
  for (uint64_t id : cancels_) call->out.add_cancel(id);
  cancels_.clear();
  if (call->out.polls_size() == 0 && call->out.cancel_size() == 0) return;
  call->writing = true;
  ++call->tags_out;
  call->rw->Write(call->out, &call->write_tag);
}

void PollStream::Flush() {
  absl::MutexLock lock(&mu_);
  flush_posted_ = false;
  WriteMoreLocked();
}

void PollStream::OnStarted(Call* call, bool ok) {
  absl::MutexLock lock(&mu_);
  if (ok) {
    call->started = true;
    ++call->tags_out;
    call->rw->Read(&call->in, &call->read_tag);
    WriteMoreLocked();
  } else {
    call->finishing = true;  // Finish tells why
    ++call->tags_out;
    call->rw->Finish(&call->status, &call->finish_tag);
  }
  TagBack(call);
}

void PollStream::OnWritten(Call* call, bool ok) {
  absl::MutexLock lock(&mu_);
  call->writing = false;
  // A failed write: the read fails too and ends the call.
  if (ok && call->retired && !call->half_closed) {
    HalfCloseLocked(call);
  } else if (ok) {
    WriteMoreLocked();
  }
  TagBack(call);
}

void PollStream::OnRead(Call* call, bool ok) {
  std::vector<Answered> answered;
  std::vector<v1::StreamPollAnswer*> answers;
  {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      call->finishing = true;
      ++call->tags_out;
      call->rw->Finish(&call->status, &call->finish_tag);
      TagBack(call);
      return;
    }
    for (v1::StreamPollAnswer& answer : *call->in.mutable_answers()) {
      auto it = polls_.find(answer.id());
      if (it == polls_.end()) continue;  // cancelled or expired meanwhile
      answered.push_back({std::move(it->second), {}, {}});
      answers.push_back(&answer);
      polls_.erase(it);
    }
    counters_->polls_in_flight.fetch_sub(static_cast<int64_t>(answered.size()),
                                         std::memory_order_relaxed);
  }
  // Without mu_: `in` is not read into again until the next Read below.
  const auto& messages = call->in.messages();
  for (size_t i = 0; i < answered.size(); ++i) {
    v1::StreamPollAnswer& answer = *answers[i];
    Answered& out = answered[i];
    if (answer.code() != 0) {
      // A code outside gRPC's (a broker from the future) is UNKNOWN, not an invalid enum.
      const bool known = answer.code() > 0 && answer.code() <= grpc::StatusCode::UNAUTHENTICATED;
      out.status = GrpcStatusWithReason(
          known ? static_cast<grpc::StatusCode>(answer.code()) : grpc::StatusCode::UNKNOWN,
          answer.error(), answer.reason());
      continue;
    }
    if (answer.message_index_size() != answer.seq_size()) {
      out.status = grpc::Status(grpc::StatusCode::INTERNAL, "malformed stream answer");
      continue;
    }
    out.response = std::move(*answer.mutable_response());
    for (int m = 0; m < answer.message_index_size(); ++m) {
      const uint32_t index = answer.message_index(m);
      if (index >= static_cast<uint32_t>(messages.size())) {
        out.status = grpc::Status(grpc::StatusCode::INTERNAL, "malformed stream answer");
        out.response.Clear();
        break;
      }
      v1::Message* message = out.response.add_messages();
      *message = messages[static_cast<int>(index)];
      message->set_seq(answer.seq(m));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    ++call->tags_out;
    call->rw->Read(&call->in, &call->read_tag);
    TagBack(call);
  }
  Run(answered);
}

void PollStream::OnFinished(Call* call) {
  std::vector<Answered> answered;
  std::vector<std::shared_ptr<Poll>> to_unary;
  {
    absl::MutexLock lock(&mu_);
    if (call == call_.get()) ending_.push_back(std::move(call_));
    const grpc::Status& status = call->status;
    const absl::Time now = absl::Now();
    const bool unimplemented = status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
    if (unimplemented) unimplemented_until_ = now + kUnimplementedRetry;
    for (auto it = polls_.begin(); it != polls_.end();) {
      Poll& poll = *it->second;
      const bool sent_here = poll.generation_ == call->generation;
      if (unimplemented && (sent_here || poll.generation_ == 0)) {
        to_unary.push_back(std::move(it->second));
        polls_.erase(it++);
        continue;
      }
      // Polls not yet sent were waiting for this call too: a call that never started
      // (the broker is down) must not leave them waiting for the next.
      if (!sent_here && poll.generation_ != 0) {
        ++it;
        continue;
      }
      // One more call for each poll: a consume poll that reached the broker may have
      // advanced its cursor already, so it is never sent twice.
      if (!poll.resent_ && poll.deadline_ > now && !closed_ &&
          !(sent_here && poll.request_.consume())) {
        poll.resent_ = true;
        if (sent_here) {
          poll.generation_ = 0;
          unsent_.push_back(poll.id_);
          counters_->resends.fetch_add(1, std::memory_order_relaxed);
          if (call->started) reopen_after_ = now + kReopenDelay;
        }
        ++it;
        continue;
      }
      answered.push_back(
          {std::move(it->second),
           grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("the poll stream to the broker ended: ",
                                     status.ok() ? "closed" : status.error_message())),
           {}});
      polls_.erase(it++);
    }
    if (unimplemented) unsent_.clear();
    counters_->polls_in_flight.fetch_sub(static_cast<int64_t>(answered.size() + to_unary.size()),
                                         std::memory_order_relaxed);
    EnsureCallLocked();
    TagBack(call);
  }
  Run(answered);
  for (const auto& poll : to_unary) {
    counters_->unary_fallbacks.fetch_add(1, std::memory_order_relaxed);
    poll->SetFallback(unary_(poll->request_, std::move(poll->done_)));
  }
}

void PollStream::TagBack(Call* call) {
  if (--call->tags_out > 0 || call == call_.get()) return;
  // Not the open call and nothing outstanding: free it.
  auto it = std::find_if(ending_.begin(), ending_.end(),
                         [call](const std::unique_ptr<Call>& c) { return c.get() == call; });
  if (it != ending_.end()) ending_.erase(it);
}

void PollStream::Run(std::vector<Answered>& answered) {
  // Few executors (one per HTTP loop): a list, in the order the answers came.
  absl::InlinedVector<std::pair<Executor*, std::vector<Answered>>, 4> posts;
  for (Answered& answer : answered) {
    Executor* executor = answer.poll->executor_;
    if (executor == nullptr) {
      RunOne(answer);
      continue;
    }
    auto it = std::find_if(posts.begin(), posts.end(),
                           [executor](const auto& post) { return post.first == executor; });
    if (it == posts.end()) it = posts.insert(posts.end(), {executor, {}});
    it->second.push_back(std::move(answer));
  }
  for (auto& [executor, batch] : posts) {
    executor->Post([batch = std::move(batch)]() mutable {
      for (Answered& answer : batch) RunOne(answer);
    });
  }
}

void PollStream::RunOne(Answered& answer) {
  BrokerApi::Done<v1::PollResponse> done = std::move(answer.poll->done_);
  done(std::move(answer.status), std::move(answer.response));
}

}  // namespace parley::frontend
