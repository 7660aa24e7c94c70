#include "tests/testing/test_chat_stores.h"

#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "broker/store/memory/memory_chat_store.h"
#include "broker/store/redis/redis_address.h"
#include "broker/store/redis/redis_chat_store.h"
#include "tests/testing/redis_server.h"

namespace parley::testing {
namespace {

using broker::ChatStore;
using broker::Done;
using broker::StatusDone;

// A MemoryChatStore whose every operation runs later on a thread of its own, so the answer
// (and what the listener hears) never comes on the caller's thread. Operations run in the
// order they were made. The destructor runs what is queued, then joins the thread.
class AnsweringLaterStore final : public ChatStore {
 public:
  explicit AnsweringLaterStore(const broker::ChatOptions& options)
      : inner_(options), thread_([this] { Run(); }) {}
  ~AnsweringLaterStore() override { Stop(); }

  // Runs what is queued (those answers still come), then nothing more.
  void Stop() override {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    thread_.join();
  }

  void SetListener(broker::ChatStoreListener* listener) override { inner_.SetListener(listener); }
  bool ready() const override { return true; }
  void Connect(const broker::ConnectRequest& request, absl::Time now,
               Done<broker::ConnectResult> done) override {
    Later([this, request, now, done = std::move(done)]() mutable {
      inner_.Connect(request, now, std::move(done));
    });
  }
  void Disconnect(absl::string_view user, absl::string_view session, absl::Time now,
                  StatusDone done) override {
    Later([this, user = std::string(user), session = std::string(session), now,
           done = std::move(done)]() mutable {
      inner_.Disconnect(user, session, now, std::move(done));
    });
  }
  void Publish(const broker::PublishRequest& request, absl::Time now,
               Done<broker::StorePublish> done) override {
    Later([this, request, now, done = std::move(done)]() mutable {
      inner_.Publish(request, now, std::move(done));
    });
  }
  void Read(const broker::ReadInput& input, size_t max_messages, absl::Time now,
            Done<broker::StoreRead> done) override {
    Later([this, input, max_messages, now, done = std::move(done)]() mutable {
      inner_.Read(input, max_messages, now, std::move(done));
    });
  }
  void Join(absl::string_view user, absl::string_view room, bool granted, absl::Time now,
            Done<broker::JoinResult> done) override {
    Later([this, user = std::string(user), room = std::string(room), granted, now,
           done = std::move(done)]() mutable {
      inner_.Join(user, room, granted, now, std::move(done));
    });
  }
  void Leave(absl::string_view user, absl::string_view room, absl::Time now,
             StatusDone done) override {
    Later([this, user = std::string(user), room = std::string(room), now,
           done = std::move(done)]() mutable { inner_.Leave(user, room, now, std::move(done)); });
  }
  void History(absl::string_view room, absl::string_view reader, const broker::HistoryQuery& query,
               Done<broker::HistoryPage> done) override {
    Later([this, room = std::string(room), reader = std::string(reader), query,
           done = std::move(done)]() mutable {
      inner_.History(room, reader, query, std::move(done));
    });
  }
  void Members(absl::string_view room, absl::string_view reader, const broker::MembersQuery& query,
               Done<broker::MembersResult> done) override {
    Later([this, room = std::string(room), reader = std::string(reader), query,
           done = std::move(done)]() mutable {
      inner_.Members(room, reader, query, std::move(done));
    });
  }
  void RoomsOf(absl::string_view user, Done<std::vector<broker::RoomPresenceInfo>> done) override {
    Later([this, user = std::string(user), done = std::move(done)]() mutable {
      inner_.RoomsOf(user, std::move(done));
    });
  }
  void CreateRoom(const broker::RoomSpec& spec, absl::Time now,
                  Done<broker::CreateRoomResult> done) override {
    Later([this, spec, now, done = std::move(done)]() mutable {
      inner_.CreateRoom(spec, now, std::move(done));
    });
  }
  void AddMember(absl::string_view room, absl::string_view user, absl::Time now,
                 Done<bool> done) override {
    Later(
        [this, room = std::string(room), user = std::string(user), now,
         done = std::move(done)]() mutable { inner_.AddMember(room, user, now, std::move(done)); });
  }
  void RemoveMember(absl::string_view room, absl::string_view user, absl::Time now,
                    Done<bool> done) override {
    Later([this, room = std::string(room), user = std::string(user), now,
           done = std::move(done)]() mutable {
      inner_.RemoveMember(room, user, now, std::move(done));
    });
  }
  void EndUser(absl::string_view user, absl::Time now, Done<bool> done) override {
    Later([this, user = std::string(user), now, done = std::move(done)]() mutable {
      inner_.EndUser(user, now, std::move(done));
    });
  }
  void ListRooms(Done<std::vector<broker::RoomListing>> done) override {
    Later([this, done = std::move(done)]() mutable { inner_.ListRooms(std::move(done)); });
  }
  void Sweep(std::vector<std::string> parked, absl::Time now,
             Done<broker::SweepResult> done) override {
    Later([this, parked = std::move(parked), now, done = std::move(done)]() mutable {
      inner_.Sweep(std::move(parked), now, std::move(done));
    });
  }
  void PublishDuePresence(absl::Time now, StatusDone done) override {
    Later([this, now, done = std::move(done)]() mutable {
      inner_.PublishDuePresence(now, std::move(done));
    });
  }
  void Stats(Done<broker::StoreStats> done) override {
    Later([this, done = std::move(done)]() mutable { inner_.Stats(std::move(done)); });
  }
  std::vector<size_t> QueueDepths() override { return inner_.QueueDepths(); }

  // Returns once the operations queued so far have run to their end: the memory store tells
  // its listener after it answers, so a caller woken by an answer may be ahead of the telling.
  void Settle() {
    absl::Notification ran;
    Later([&ran] { ran.Notify(); });
    ran.WaitForNotification();
  }

 private:
  void Later(absl::AnyInvocable<void()> task) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        tasks_.push_back(std::move(task));
        return;
      }
    }
    task();  // stopped: nothing is queued behind, so answer at once
  }

  void Run() {
    for (;;) {
      std::vector<absl::AnyInvocable<void()>> tasks;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &AnsweringLaterStore::HasWorkLocked));
        if (tasks_.empty()) return;  // stopping, and nothing left
        tasks.swap(tasks_);
      }
      for (auto& task : tasks) task();
    }
  }

  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !tasks_.empty();
  }

  broker::MemoryChatStore inner_;
  absl::Mutex mu_;
  std::vector<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after everything it uses
};

// The two redis-server shards of an OwnRedisStore: a base class, so they start before the
// store and stop after it.
struct TwoRedisShards {
  broker::redis::RedisChatStoreOptions Shards() {
    broker::redis::RedisChatStoreOptions options;
    for (RedisServer& server : servers) {
      options.shards.push_back(broker::redis::RedisAddress{"127.0.0.1", server.port()});
    }
    return options;
  }

  RedisServer servers[2];
};

// A RedisChatStore over two redis-servers of its own, which go with it. Test thread only.
class OwnRedisStore final : private TwoRedisShards, public broker::redis::RedisChatStore {
 public:
  explicit OwnRedisStore(const broker::ChatOptions& options) : RedisChatStore(options, Shards()) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!healthy() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
    EXPECT_TRUE(healthy()) << "the test's redis-servers did not come up";
  }

  void Settle() {
    absl::Notification settled;
    AfterNotifications([&] { settled.Notify(); });
    EXPECT_TRUE(settled.WaitForNotificationWithTimeout(absl::Seconds(10)))
        << "notifications did not come back from Redis";
  }
};

}  // namespace

std::unique_ptr<ChatStore> MakeTestStore(TestStore kind, const broker::ChatOptions& options) {
  switch (kind) {
    case TestStore::kMemory:
      return std::make_unique<broker::MemoryChatStore>(options);
    case TestStore::kMemoryAnsweringLater:
      return std::make_unique<AnsweringLaterStore>(options);
    case TestStore::kRedis:
      return std::make_unique<OwnRedisStore>(options);
  }
  return nullptr;
}

void Settle(broker::ChatStore* store) {
  // The memory store tells the listener right after it answers, on the thread it answers on:
  // at once on the caller's thread, or on AnsweringLaterStore's after the answer.
  if (auto* redis = dynamic_cast<OwnRedisStore*>(store)) redis->Settle();
  if (auto* later = dynamic_cast<AnsweringLaterStore*>(store)) later->Settle();
}

std::string TestStoreName(const ::testing::TestParamInfo<TestStore>& info) {
  switch (info.param) {
    case TestStore::kMemory:
      return "Memory";
    case TestStore::kMemoryAnsweringLater:
      return "MemoryAnsweringLater";
    case TestStore::kRedis:
      return "Redis";
  }
  return "Unknown";
}

}  // namespace parley::testing
