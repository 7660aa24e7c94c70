#include "tests/testing/fake_broker.h"

#include <utility>

#include "tests/testing/wait_for.h"

namespace parley::testing {

class FakeBroker::HeldPoll final : public PendingPoll {
 public:
  HeldPoll(FakeBroker* broker, size_t index) : broker_(broker), index_(index) {}
  void Cancel() override {
    {
      absl::MutexLock lock(&broker_->mu_);
      broker_->polls_[index_]->cancelled = true;
    }
    broker_->Finish(index_, grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), {});
  }

 private:
  FakeBroker* const broker_;
  const size_t index_;
};

void FakeBroker::Answer(const std::string& method, Script script) {
  absl::MutexLock lock(&mu_);
  scripts_[method] = std::move(script);
}

std::vector<std::string> FakeBroker::Requests(const std::string& method) {
  absl::MutexLock lock(&mu_);
  return requests_[method];
}

int FakeBroker::Calls(const std::string& method) {
  return static_cast<int>(Requests(method).size());
}

template <typename Request, typename Response>
void FakeBroker::Unary(const std::string& method, const Request& request, Done<Response> done) {
  Script script;
  {
    absl::MutexLock lock(&mu_);
    requests_[method].push_back(request.ShortDebugString());
    if (auto it = scripts_.find(method); it != scripts_.end()) script = it->second;
  }
  Response response;
  grpc::Status status = script ? script(request, &response) : grpc::Status::OK;
  done(std::move(status), std::move(response));
}

std::shared_ptr<FakeBroker::PendingPoll> FakeBroker::PollAsync(const v1::PollRequest& request,
                                                               Executor* executor,
                                                               Done<v1::PollResponse> done) {
  size_t index = 0;
  bool shutting_down;
  {
    absl::MutexLock lock(&mu_);
    requests_["Poll"].push_back(request.ShortDebugString());
    shutting_down = polls_cancelled_;
    if (!shutting_down) {
      auto poll = std::make_shared<Poll>();
      poll->request = request;
      poll->executor = executor;
      poll->done = std::move(done);
      polls_.push_back(poll);
      index = polls_.size() - 1;
    }
  }
  if (shutting_down) {  // as BrokerClient: answered empty at once
    done(grpc::Status::OK, v1::PollResponse());
    return nullptr;
  }
  return std::make_shared<HeldPoll>(this, index);
}

bool FakeBroker::WaitForPolls(size_t count, absl::Duration timeout) {
  return WaitFor(
      [&] {
        absl::MutexLock lock(&mu_);
        return polls_.size() >= count;
      },
      timeout);
}

v1::PollRequest FakeBroker::PollRequestAt(size_t i) {
  absl::MutexLock lock(&mu_);
  return polls_.at(i)->request;
}

bool FakeBroker::PollCancelled(size_t i) {
  absl::MutexLock lock(&mu_);
  return polls_.at(i)->cancelled;
}

bool FakeBroker::polls_cancelled() {
  absl::MutexLock lock(&mu_);
  return polls_cancelled_;
}

void FakeBroker::AnswerPoll(size_t i, grpc::Status status, v1::PollResponse response) {
  Finish(i, std::move(status), std::move(response), /*posted=*/true);
}

bool FakeBroker::Finish(size_t i, grpc::Status status, v1::PollResponse response, bool posted) {
  Done<v1::PollResponse> done;
  Executor* executor = nullptr;
  {
    absl::MutexLock lock(&mu_);
    Poll& poll = *polls_.at(i);
    if (poll.finished) return false;
    poll.finished = true;
    done = std::move(poll.done);
    if (posted) executor = poll.executor;
  }
  if (executor != nullptr) {
    executor->Post([done = std::move(done), status = std::move(status),
                    response = std::move(response)]() mutable {
      done(std::move(status), std::move(response));
    });
    return true;
  }
  done(std::move(status), std::move(response));
  return true;
}

void FakeBroker::CancelPolls() {
  size_t count;
  {
    absl::MutexLock lock(&mu_);
    polls_cancelled_ = true;
    count = polls_.size();
  }
  for (size_t i = 0; i < count; ++i) Finish(i, grpc::Status::OK, {});
}

void FakeBroker::ConnectAsync(const v1::ConnectRequest& r, Done<v1::ConnectResponse> d) {
  Unary("Connect", r, std::move(d));
}
void FakeBroker::DisconnectAsync(const v1::DisconnectRequest& r, Done<v1::DisconnectResponse> d) {
  Unary("Disconnect", r, std::move(d));
}
void FakeBroker::PublishAsync(const v1::PublishRequest& r, Done<v1::PublishResponse> d) {
  Unary("Publish", r, std::move(d));
}
void FakeBroker::JoinAsync(const v1::JoinRequest& r, Done<v1::JoinResponse> d) {
  Unary("Join", r, std::move(d));
}
void FakeBroker::LeaveAsync(const v1::LeaveRequest& r, Done<v1::LeaveResponse> d) {
  Unary("Leave", r, std::move(d));
}
void FakeBroker::HistoryAsync(const v1::HistoryRequest& r, Done<v1::HistoryResponse> d) {
  Unary("History", r, std::move(d));
}
void FakeBroker::MembersAsync(const v1::MembersRequest& r, Done<v1::MembersResponse> d) {
  Unary("Members", r, std::move(d));
}
void FakeBroker::RoomsAsync(const v1::RoomsRequest& r, Done<v1::RoomsResponse> d) {
  Unary("Rooms", r, std::move(d));
}
void FakeBroker::StatsAsync(Done<v1::StatsResponse> d) {
  Unary("Stats", v1::StatsRequest(), std::move(d));
}

}  // namespace parley::testing
