#ifndef PARLEY_TESTS_TESTING_SYNC_CHAT_STATE_H_
#define PARLEY_TESTS_TESTING_SYNC_CHAT_STATE_H_

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "broker/core/chat_state.h"

namespace parley::testing {

// Waits for one asynchronous operation: `start` is given the `done` to pass on.
template <typename T, typename Start>
absl::StatusOr<T> Await(Start start) {
  absl::Notification finished;
  std::optional<absl::StatusOr<T>> result;
  start([&](absl::StatusOr<T> answer) {
    result.emplace(std::move(answer));
    finished.Notify();
  });
  finished.WaitForNotification();
  return *std::move(result);
}

template <typename Start>
absl::Status AwaitStatus(Start start) {
  absl::Notification finished;
  absl::Status result;
  start([&](absl::Status answer) {
    result = std::move(answer);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

// ChatState's operations as blocking calls, for tests: each waits until the operation has
// answered, on whatever thread it answers, then runs `settle` (test_chat_stores.h's Settle:
// the wakes it caused have happened). The rest of ChatState is passed through. Used from one
// test thread.
class SyncChatState {
 public:
  explicit SyncChatState(
      broker::ChatState* state, std::function<void()> settle = [] {})
      : state_(state), settle_(std::move(settle)) {}

  absl::StatusOr<broker::ConnectResult> Connect(absl::string_view user, absl::string_view session,
                                                absl::Time started) {
    return Settled(Await<broker::ConnectResult>(
        [&](auto done) { state_->Connect(user, session, started, std::move(done)); }));
  }
  absl::StatusOr<broker::ConnectResult> Connect(absl::string_view user, absl::string_view session) {
    return Connect(user, session, absl::InfinitePast());
  }
  absl::Status Disconnect(absl::string_view user, absl::string_view session) {
    return Settled(
        AwaitStatus([&](auto done) { state_->Disconnect(user, session, std::move(done)); }));
  }
  absl::StatusOr<broker::PublishResult> Publish(const broker::PublishInput& input) {
    return Settled(
        Await<broker::PublishResult>([&](auto done) { state_->Publish(input, std::move(done)); }));
  }
  absl::StatusOr<broker::ReadOutcome> ReadOrPark(const broker::ReadInput& input,
                                                 std::shared_ptr<broker::PollWaiter> waiter) {
    return Settled(Await<broker::ReadOutcome>(
        [&](auto done) { state_->ReadOrPark(input, std::move(waiter), std::move(done)); }));
  }
  absl::StatusOr<broker::JoinResult> Join(absl::string_view user, absl::string_view room,
                                          bool granted = false) {
    return Settled(Await<broker::JoinResult>(
        [&](auto done) { state_->Join(user, room, granted, std::move(done)); }));
  }
  absl::Status Leave(absl::string_view user, absl::string_view room) {
    return Settled(AwaitStatus([&](auto done) { state_->Leave(user, room, std::move(done)); }));
  }
  // The newest page's messages.
  absl::StatusOr<std::vector<broker::MessagePtr>> History(absl::string_view room, size_t limit,
                                                          absl::string_view reader = "") {
    absl::StatusOr<broker::HistoryPage> page = HistoryPage(room, {.limit = limit, .before = ""}, reader);
    if (!page.ok()) return page.status();
    return std::move(page->messages);
  }
  absl::StatusOr<broker::HistoryPage> HistoryPage(absl::string_view room,
                                                  const broker::HistoryQuery& query,
                                                  absl::string_view reader = "") {
    return Await<broker::HistoryPage>(
        [&](auto done) { state_->History(room, reader, query, std::move(done)); });
  }
  absl::StatusOr<broker::MembersResult> Members(absl::string_view room,
                                                const broker::MembersQuery& query,
                                                absl::string_view reader = "") {
    return Await<broker::MembersResult>(
        [&](auto done) { state_->Members(room, reader, query, std::move(done)); });
  }
  absl::StatusOr<std::vector<broker::RoomPresenceInfo>> RoomsOf(absl::string_view user) {
    return Await<std::vector<broker::RoomPresenceInfo>>(
        [&](auto done) { state_->RoomsOf(user, std::move(done)); });
  }

  absl::StatusOr<broker::CreateRoomResult> CreateRoom(const broker::RoomSpec& spec) {
    return Settled(Await<broker::CreateRoomResult>(
        [&](auto done) { state_->CreateRoom(spec, std::move(done)); }));
  }
  absl::StatusOr<bool> AddMember(absl::string_view room, absl::string_view user) {
    return Settled(Await<bool>([&](auto done) { state_->AddMember(room, user, std::move(done)); }));
  }
  absl::StatusOr<bool> RemoveMember(absl::string_view room, absl::string_view user) {
    return Settled(
        Await<bool>([&](auto done) { state_->RemoveMember(room, user, std::move(done)); }));
  }
  absl::StatusOr<bool> EndUser(absl::string_view user) {
    return Settled(Await<bool>([&](auto done) { state_->EndUser(user, std::move(done)); }));
  }
  absl::StatusOr<std::vector<broker::RoomListing>> ListRooms() {
    return Await<std::vector<broker::RoomListing>>(
        [&](auto done) { state_->ListRooms(std::move(done)); });
  }

  bool Unpark(absl::string_view user, broker::PollWaiter* waiter) {
    return state_->Unpark(user, waiter);
  }
  broker::ChatStats Stats() {
    return Await<broker::ChatStats>([&](auto done) { state_->Stats(std::move(done)); }).value();
  }
  std::vector<size_t> QueueDepths() { return state_->QueueDepths(); }
  broker::SweepResult Sweep() { return TrySweep().value(); }
  // A sweep that may fail (a fault injected into it).
  absl::StatusOr<broker::SweepResult> TrySweep() {
    return Settled(Await<broker::SweepResult>([&](auto done) { state_->Sweep(std::move(done)); }));
  }
  absl::Status PublishDuePresence() {
    return Settled(AwaitStatus([&](auto done) { state_->PublishDuePresence(std::move(done)); }));
  }
  void BeginDrain() { state_->BeginDrain(); }
  const broker::ChatOptions& options() const { return state_->options(); }

 private:
  template <typename T>
  T Settled(T result) {
    settle_();
    return result;
  }

  broker::ChatState* const state_;
  const std::function<void()> settle_;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_SYNC_CHAT_STATE_H_
