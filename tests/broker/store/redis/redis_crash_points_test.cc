// The crash-point matrix of the Redis store (#24), the smallest honest form of FoundationDB's
// simulation and Jepsen's nemesis: every operation that takes several calls (the sweep, a
// Connect taking an idle holder's name, and the presence publish too) is run with its Nth
// chat.lua call failing (RedisChatStoreOptions::fault), both ways a call fails: refused unsent
// (a shard out of reach, or the broker gone at that point: nothing after it runs), and run by
// Redis with its answer lost (no answer past --redis_timeout), for every N the operation
// makes, over 1, 2 and 3 shards; then it is recovered (the operation retried, or a sweep past
// the leave grace), and the invariants are checked: both sides of every membership agree,
// every line a member should get arrives exactly once and in one order for all members, a
// logged-out session is refused, one idempotency key gives one message id, a presence change
// is published once. The matrix is printed as it runs.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/core/chat_state.h"
#include "broker/store/redis/redis_chat_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/shard_names.h"
#include "tests/testing/sync_chat_state.h"
#include "tests/testing/wait_for.h"

namespace parley::broker::redis {
namespace {

using ::parley::testing::FakeClock;
using ::parley::testing::RedisServer;
using ::parley::testing::SyncChatState;

constexpr size_t kMaxShards = 3;

// How a failed operation is brought to its end.
enum class Recovery { kRetry, kSweep };

const char* Name(Recovery recovery) { return recovery == Recovery::kRetry ? "retry" : "sweep"; }

// One store over the first `shards` servers (flushed), whose chat.lua calls can be made to fail.
class FaultyStack {
 public:
  FaultyStack(std::vector<std::unique_ptr<RedisServer>>& servers, size_t shards) {
    RedisChatStoreOptions options;
    for (size_t i = 0; i < shards; ++i) {
      EXPECT_TRUE(servers[i]->Run({"FLUSHALL"}).ok());
      options.shards.push_back(RedisAddress{"127.0.0.1", servers[i]->port()});
    }
    options.fault = [this](uint64_t call, size_t, absl::string_view operation) {
      last_call_ = call;
      if (call != fail_at_.load()) return absl::OkStatus();
      failed_op_ = std::string(operation);
      fired_ = true;
      if (answer_lost_) {
        return absl::DeadlineExceededError(absl::StrCat("answer lost at call ", call));
      }
      return absl::UnavailableError(absl::StrCat("fault injected at call ", call));
    };
    store_ = std::make_unique<RedisChatStore>(ChatOptions(), options);
    EXPECT_TRUE(::parley::testing::WaitFor([&] { return store_->healthy(); }));
    chat_ = std::make_unique<ChatState>(ChatOptions(), &clock_, store_.get());
    state_ = std::make_unique<SyncChatState>(chat_.get());
  }

  // The next operation's `n`th call (from 1) fails: refused, or (set_answer_lost) run by
  // Redis with its answer lost.
  void FailNth(uint64_t n) {
    fired_ = false;
    fail_at_ = last_call_.load() + n;
  }
  void set_answer_lost(bool answer_lost) { answer_lost_ = answer_lost; }
  void NoFault() { fail_at_ = 0; }
  bool fired() const { return fired_; }
  const std::string& failed_op() const { return failed_op_; }

  SyncChatState& state() { return *state_; }
  FakeClock& clock() { return clock_; }

  // Every line of the user's queue from its start, as "KIND:room:from:text" (JOIN/LEAVE of
  // the user itself left out: a tab's own bookkeeping, not what the invariants are about).
  std::vector<std::string> Lines(const std::string& user) {
    ReadInput input;
    input.user = user;
    input.max_messages = 1000;
    absl::StatusOr<ReadOutcome> read = state_->ReadOrPark(input, nullptr);
    EXPECT_TRUE(read.ok()) << user << ": " << read.status();
    std::vector<std::string> lines;
    if (!read.ok()) return lines;
    for (const SequencedMessage& m : read->read.messages) {
      const Message& message = *m.message;
      static constexpr const char* kKinds[] = {"CHAT", "DIRECT", "JOIN", "LEAVE", "SYSTEM"};
      lines.push_back(absl::StrCat(kKinds[static_cast<int>(message.kind)], ":", message.room, ":",
                                   message.from, ":", message.text));
    }
    return lines;
  }
  // Ids of the user's lines of one kind and text.
  std::vector<std::string> IdsOf(const std::string& user, const std::string& text) {
    ReadInput input;
    input.user = user;
    input.max_messages = 1000;
    absl::StatusOr<ReadOutcome> read = state_->ReadOrPark(input, nullptr);
    std::vector<std::string> ids;
    if (!read.ok()) return ids;
    for (const SequencedMessage& m : read->read.messages) {
      if (m.message->text == text) ids.push_back(m.message->id);
    }
    return ids;
  }

  // Both sides of the membership, as the store answers them: the room's member list and the
  // user's rooms. "" when they agree, else what differs.
  std::string MembershipDisagreement(const std::string& user, const std::string& room) {
    absl::StatusOr<MembersResult> members = state_->Members(room, MembersQuery());
    bool in_room = false;
    if (members.ok()) {
      for (const auto& member : members->page.members) in_room |= member.user == user;
    }
    absl::StatusOr<std::vector<RoomPresenceInfo>> rooms = state_->RoomsOf(user);
    bool has_room = false;
    if (rooms.ok()) {
      for (const RoomPresenceInfo& info : *rooms) has_room |= info.room == room;
    }
    if (in_room == has_room) return "";
    return absl::StrCat(user, in_room ? " is" : " is not", " in ", room, "'s members but ",
                        has_room ? "has" : "has not", " it among its rooms");
  }
  // Recovery by the sweep: past the grace of pending leaves. True if `user` is still in
  // `room` afterwards (the failed step came before anything was decided), both sides agreeing.
  bool SweptAndStillMember(const std::string& user, const std::string& room) {
    clock_.Advance(absl::Seconds(11));
    state_->Sweep();
    if (!IsMember(user, room)) return false;
    EXPECT_EQ(MembershipDisagreement(user, room), "");
    return true;
  }
  bool IsMember(const std::string& user, const std::string& room) {
    absl::StatusOr<std::vector<RoomPresenceInfo>> rooms = state_->RoomsOf(user);
    if (!rooms.ok()) return false;
    return std::any_of(rooms->begin(), rooms->end(),
                       [&](const RoomPresenceInfo& info) { return info.room == room; });
  }

 private:
  FakeClock clock_;
  std::atomic<uint64_t> last_call_{0};
  std::atomic<uint64_t> fail_at_{0};
  std::atomic<bool> fired_{false};
  std::atomic<bool> answer_lost_{false};
  std::string failed_op_;
  std::unique_ptr<RedisChatStore> store_;
  std::unique_ptr<ChatState> chat_;
  std::unique_ptr<SyncChatState> state_;
};

std::string NameOn(const std::string& prefix, size_t shard, size_t shards) {
  return ::parley::testing::NameOnShard(prefix, shard, shards);
}

int Count(const std::vector<std::string>& lines, const std::string& line) {
  return static_cast<int>(std::count(lines.begin(), lines.end(), line));
}

class CrashPointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    servers_ = new std::vector<std::unique_ptr<RedisServer>>();
    for (size_t i = 0; i < kMaxShards; ++i) servers_->push_back(std::make_unique<RedisServer>());
  }
  static void TearDownTestSuite() {
    delete servers_;
    servers_ = nullptr;
  }

  // Runs `scenario` (set up, then the operation under `stack.FailNth(n)`, then recovery and
  // checks) for n = 1, 2, ... until the operation makes fewer calls than n; over 1-3 shards.
  // Returns how many cases ran.
  template <typename Scenario>
  int Matrix(const std::string& operation, Recovery recovery, Scenario scenario) {
    int cases = 0;
    for (const bool answer_lost : {false, true}) {
      for (size_t shards = 1; shards <= kMaxShards; ++shards) {
        for (uint64_t n = 1;; ++n) {
          FaultyStack stack(*servers_, shards);
          stack.set_answer_lost(answer_lost);
          scenario(stack, shards, n);
          const bool fired = stack.fired();
          std::cout << "[matrix] " << operation << " shards=" << shards << " fault@" << n
                    << (fired ? absl::StrCat(" (", stack.failed_op(), ")")
                              : " (none: past the end)")
                    << (answer_lost ? " answer-lost" : " refused") << " recovery=" << Name(recovery)
                    << (::testing::Test::HasFailure() ? " FAILED" : " ok") << "\n";
          ++cases;
          if (!fired || ::testing::Test::HasFailure()) break;
        }
      }
    }
    return cases;
  }

  static std::vector<std::unique_ptr<RedisServer>>* servers_;
};

std::vector<std::unique_ptr<RedisServer>>* CrashPointTest::servers_ = nullptr;

// alice, bob and carol on shards 0, 1 and 2 (as far as there are shards) in `room` (on shard
// 1); alice is the one the operation is about.
struct Cast {
  std::string alice, bob, carol, room;
};

Cast SetUpCast(FaultyStack& stack, size_t shards) {
  Cast cast{NameOn("alice", 0, shards), NameOn("bob", 1, shards), NameOn("carol", 2, shards),
            NameOn("room", 1, shards)};
  for (const std::string& user : {cast.alice, cast.bob, cast.carol}) {
    EXPECT_TRUE(stack.state().Connect(user, user + "-s").ok());
    EXPECT_TRUE(stack.state().Join(user, cast.room).ok());
  }
  return cast;
}

// bob says `text` in the room; it must reach bob and carol exactly once, and every line both
// got from the room, in one order.
void ExpectTheRoomGoesOn(FaultyStack& stack, const Cast& cast, const std::string& text) {
  ASSERT_TRUE(stack.state().Publish({cast.bob, cast.room, "", text, ""}).ok());
  const std::vector<std::string> bob = stack.Lines(cast.bob);
  const std::vector<std::string> carol = stack.Lines(cast.carol);
  EXPECT_EQ(Count(bob, absl::StrCat("CHAT:", cast.room, ":", cast.bob, ":", text)), 1);
  EXPECT_EQ(Count(carol, absl::StrCat("CHAT:", cast.room, ":", cast.bob, ":", text)), 1);
  auto of_room = [&](const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const std::string& line : lines) {
      if (line.find(absl::StrCat(":", cast.room, ":")) != std::string::npos &&
          line.find(absl::StrCat(":", cast.room, ":", cast.carol, ":")) == std::string::npos &&
          line.find(absl::StrCat(":", cast.room, ":", cast.bob, ":")) == std::string::npos) {
        out.push_back(line);
      }
    }
    return out;
  };
  // Lines about others than bob and carol themselves, in the order each got them.
  EXPECT_EQ(of_room(bob), of_room(carol)) << absl::StrJoin(bob, " | ") << "\n"
                                          << absl::StrJoin(carol, " | ");
}

TEST_F(CrashPointTest, ALeaveFailingAtAnyStepIsFinishedByItsRetryOrTheSweep) {
  int cases = 0;
  for (Recovery recovery : {Recovery::kRetry, Recovery::kSweep}) {
    cases += Matrix("Leave", recovery, [&](FaultyStack& stack, size_t shards, uint64_t n) {
      const Cast cast = SetUpCast(stack, shards);
      stack.FailNth(n);
      const absl::Status first = stack.state().Leave(cast.alice, cast.room);
      stack.NoFault();
      if (!stack.fired()) {
        ASSERT_TRUE(first.ok()) << first;
      } else if (recovery == Recovery::kRetry) {
        const absl::Status retried = stack.state().Leave(cast.alice, cast.room);
        // A leave either happened or not; the retry finishes it either way, or finds it done
        // (the first try's last answer was lost) and says so.
        ASSERT_TRUE(retried.ok()) << "first: " << first << ", retry: " << retried;
      } else if (stack.SweptAndStillMember(cast.alice, cast.room)) {
        return;  // a failed first step left nothing to finish: the leave never happened
      }
      EXPECT_FALSE(stack.IsMember(cast.alice, cast.room));
      for (const std::string& user : {cast.alice, cast.bob, cast.carol}) {
        EXPECT_EQ(stack.MembershipDisagreement(user, cast.room), "") << user;
      }
      ExpectTheRoomGoesOn(stack, cast, "after");
      // alice got her own LEAVE once and nothing after it; bob and carol her LEAVE once.
      const std::vector<std::string> alice = stack.Lines(cast.alice);
      const std::string leave = absl::StrCat("LEAVE:", cast.room, ":", cast.alice, ":");
      EXPECT_EQ(Count(alice, leave), 1) << absl::StrJoin(alice, " | ");
      EXPECT_EQ(Count(alice, absl::StrCat("CHAT:", cast.room, ":", cast.bob, ":after")), 0);
      EXPECT_EQ(Count(stack.Lines(cast.bob), leave), 1);
      EXPECT_EQ(Count(stack.Lines(cast.carol), leave), 1);
    });
  }
  std::cout << "[matrix] Leave: " << cases << " cases\n";
}

TEST_F(CrashPointTest, ADisconnectFailingAtAnyStepEndsTheSessionAndIsFinished) {
  int cases = 0;
  for (Recovery recovery : {Recovery::kRetry, Recovery::kSweep}) {
    cases += Matrix("Disconnect", recovery, [&](FaultyStack& stack, size_t shards, uint64_t n) {
      const Cast cast = SetUpCast(stack, shards);
      stack.FailNth(n);
      const absl::Status first = stack.state().Disconnect(cast.alice, cast.alice + "-s");
      stack.NoFault();
      if (!stack.fired()) {
        ASSERT_TRUE(first.ok()) << first;
      } else if (recovery == Recovery::kRetry) {
        const absl::Status retried = stack.state().Disconnect(cast.alice, cast.alice + "-s");
        ASSERT_TRUE(retried.ok() || absl::IsNotFound(retried))
            << "first: " << first << ", retry: " << retried;
      } else if (stack.SweptAndStillMember(cast.alice, cast.room)) {
        // The fault came before the user's removal: the session may be ended (the caller was
        // told to retry), the user is whole; its page's retry finishes the rest.
        return;
      }
      EXPECT_EQ(stack.state().Connect(cast.alice, cast.alice + "-s").status().code(),
                absl::StatusCode::kUnauthenticated);
      for (const std::string& room : {cast.room, std::string("lobby")}) {
        EXPECT_EQ(stack.MembershipDisagreement(cast.bob, room), "");
        absl::StatusOr<MembersResult> members = stack.state().Members(room, MembersQuery());
        ASSERT_TRUE(members.ok());
        for (const auto& member : members->page.members) EXPECT_NE(member.user, cast.alice);
      }
      ExpectTheRoomGoesOn(stack, cast, "after");
      const std::string leave = absl::StrCat("LEAVE:", cast.room, ":", cast.alice, ":");
      EXPECT_EQ(Count(stack.Lines(cast.bob), leave), 1);
      EXPECT_EQ(Count(stack.Lines(cast.carol), leave), 1);
    });
  }
  std::cout << "[matrix] Disconnect: " << cases << " cases\n";
}

TEST_F(CrashPointTest, AJoinFailingAtAnyStepIsFinishedByItsRetry) {
  const int cases =
      Matrix("Join", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast{NameOn("alice", 0, shards), NameOn("bob", 1, shards),
                        NameOn("carol", 2, shards), NameOn("room", 1, shards)};
        for (const std::string& user : {cast.alice, cast.bob, cast.carol}) {
          ASSERT_TRUE(stack.state().Connect(user, user + "-s").ok());
        }
        ASSERT_TRUE(stack.state().Join(cast.bob, cast.room).ok());
        ASSERT_TRUE(stack.state().Join(cast.carol, cast.room).ok());
        stack.FailNth(n);
        const absl::StatusOr<JoinResult> first = stack.state().Join(cast.alice, cast.room);
        stack.NoFault();
        if (stack.fired()) {
          const absl::StatusOr<JoinResult> retried = stack.state().Join(cast.alice, cast.room);
          ASSERT_TRUE(retried.ok())
              << "first: " << first.status() << ", retry: " << retried.status();
        } else {
          ASSERT_TRUE(first.ok()) << first.status();
        }
        EXPECT_EQ(stack.MembershipDisagreement(cast.alice, cast.room), "");
        EXPECT_TRUE(stack.IsMember(cast.alice, cast.room));
        ExpectTheRoomGoesOn(stack, cast, "after");
        const std::string join = absl::StrCat("JOIN:", cast.room, ":", cast.alice, ":");
        EXPECT_EQ(Count(stack.Lines(cast.bob), join), 1);
        EXPECT_EQ(Count(stack.Lines(cast.carol), join), 1);
        EXPECT_EQ(Count(stack.Lines(cast.alice),
                        absl::StrCat("CHAT:", cast.room, ":", cast.bob, ":after")),
                  1);
      });
  std::cout << "[matrix] Join: " << cases << " cases\n";
}

TEST_F(CrashPointTest, AConnectFailingAtAnyStepIsFinishedByItsRetry) {
  const int cases =
      Matrix("Connect", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const std::string bob = NameOn("bob", 1, shards);
        const std::string dave = NameOn("dave", 0, shards);
        ASSERT_TRUE(stack.state().Connect(bob, "bob-s").ok());
        stack.FailNth(n);
        const absl::StatusOr<ConnectResult> first = stack.state().Connect(dave, "dave-s");
        stack.NoFault();
        if (stack.fired()) {
          const absl::StatusOr<ConnectResult> retried = stack.state().Connect(dave, "dave-s");
          ASSERT_TRUE(retried.ok())
              << "first: " << first.status() << ", retry: " << retried.status();
        }
        EXPECT_EQ(stack.MembershipDisagreement(dave, "lobby"), "");
        EXPECT_TRUE(stack.IsMember(dave, "lobby"));
        ASSERT_TRUE(stack.state().Publish({bob, "lobby", "", "hello", ""}).ok());
        EXPECT_EQ(Count(stack.Lines(dave), absl::StrCat("CHAT:lobby:", bob, ":hello")), 1);
        EXPECT_EQ(Count(stack.Lines(bob), absl::StrCat("JOIN:lobby:", dave, ":")), 1);
      });
  std::cout << "[matrix] Connect: " << cases << " cases\n";
}

TEST_F(CrashPointTest, ATakeOverFailingAtAnyStepIsFinishedByItsRetryOrTheSweep) {
  // A new session takes the name of a holder idle past expiry, not yet swept: the claim that
  // sees it held, the claim that replaces it, the replaced holder's leaves, the lobby.
  int cases = 0;
  for (Recovery recovery : {Recovery::kRetry, Recovery::kSweep}) {
    cases +=
        Matrix("Connect(take-over)", recovery, [&](FaultyStack& stack, size_t shards, uint64_t n) {
          const Cast cast = SetUpCast(stack, shards);
          stack.clock().Advance(ChatOptions().user_idle_expiry + absl::Minutes(1));
          for (const std::string& user : {cast.bob, cast.carol}) {
            ASSERT_TRUE(stack.state().Connect(user, user + "-s").ok());
          }
          stack.FailNth(n);
          const absl::StatusOr<ConnectResult> first = stack.state().Connect(cast.alice, "alice-2");
          stack.NoFault();
          if (!stack.fired()) {
            ASSERT_TRUE(first.ok()) << first.status();
          } else if (recovery == Recovery::kRetry) {
            const absl::StatusOr<ConnectResult> retried =
                stack.state().Connect(cast.alice, "alice-2");
            ASSERT_TRUE(retried.ok())
                << "first: " << first.status() << ", retry: " << retried.status();
          } else {
            // Given up: the sweep removes the idle holder, or finishes the leaves
            // the new session's claim left pending.
            stack.clock().Advance(absl::Seconds(11));
            stack.state().Sweep();
          }
          // The old session's rooms are left, both sides agreeing; the name is the
          // new session's (the old one's page gets the name held).
          EXPECT_FALSE(stack.IsMember(cast.alice, cast.room));
          absl::StatusOr<MembersResult> members = stack.state().Members(cast.room, MembersQuery());
          ASSERT_TRUE(members.ok());
          for (const auto& member : members->page.members) {
            EXPECT_NE(member.user, cast.alice);
          }
          for (const std::string& user : {cast.alice, cast.bob, cast.carol}) {
            EXPECT_EQ(stack.MembershipDisagreement(user, cast.room), "") << user;
          }
          // The new session's own lobby join is finished by its retry (as any
          // join), or undone when it, too, idles out.
          if (!stack.fired() || recovery == Recovery::kRetry) {
            EXPECT_EQ(stack.MembershipDisagreement(cast.alice, std::string(kLobby)), "");
            EXPECT_TRUE(stack.IsMember(cast.alice, std::string(kLobby)));
            EXPECT_EQ(stack.state().Connect(cast.alice, cast.alice + "-s").status().code(),
                      absl::StatusCode::kAlreadyExists);
          }
          ExpectTheRoomGoesOn(stack, cast, "after");
          if (stack.IsMember(cast.alice, std::string(kLobby))) {
            EXPECT_EQ(Count(stack.Lines(cast.alice),
                            absl::StrCat("CHAT:", cast.room, ":", cast.bob, ":after")),
                      0);
          }
          const std::string leave = absl::StrCat("LEAVE:", cast.room, ":", cast.alice, ":");
          EXPECT_EQ(Count(stack.Lines(cast.bob), leave), 1);
          EXPECT_EQ(Count(stack.Lines(cast.carol), leave), 1);
        });
  }
  std::cout << "[matrix] Connect(take-over): " << cases << " cases\n";
}

// A waiter that counts its wakes, from whatever thread wakes it.
class WakeCounter : public PollWaiter {
 public:
  void Wake(absl::Time) override { ++wakes; }
  std::atomic<int> wakes{0};
};

TEST_F(CrashPointTest, APresencePublishFailingAtAnyStepIsPublishedOnceByTheNextOne) {
  // Two calls per shard: which rooms changed, then the publish of those due.
  const int cases = Matrix(
      "PresencePublish", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast = SetUpCast(stack, shards);
        stack.clock().Advance(absl::Seconds(10));
        ASSERT_TRUE(stack.state().PublishDuePresence().ok());
        // alice knows the room's presence as published, and is past every line.
        ReadInput watch;
        watch.user = cast.alice;
        watch.watch_presence = true;
        watch.max_messages = 1000;
        absl::StatusOr<ReadOutcome> seen = stack.state().ReadOrPark(watch, nullptr);
        ASSERT_TRUE(seen.ok()) << seen.status();
        for (const RoomPresenceInfo& room : seen->presence) {
          watch.presence_versions[room.room] = room.presence.version;
        }
        // dave joins: the room's presence changes; alice reads the JOIN line and parks watching.
        const std::string dave = NameOn("dave", 2, shards);
        ASSERT_TRUE(stack.state().Connect(dave, "dave-s").ok());
        ASSERT_TRUE(stack.state().Join(dave, cast.room).ok());
        absl::StatusOr<ReadOutcome> lines = stack.state().ReadOrPark(watch, nullptr);
        ASSERT_TRUE(lines.ok() && !lines->read.messages.empty());
        watch.cursor = lines->read.messages.back().seq;
        auto waiter = std::make_shared<WakeCounter>();
        absl::StatusOr<ReadOutcome> parked = stack.state().ReadOrPark(watch, waiter);
        ASSERT_TRUE(parked.ok() && parked->parked) << "nothing published yet";

        stack.clock().Advance(absl::Seconds(10));
        stack.FailNth(n);
        const absl::Status first = stack.state().PublishDuePresence();
        stack.NoFault();
        EXPECT_EQ(first.ok(), !stack.fired()) << first;
        stack.clock().Advance(absl::Seconds(10));
        ASSERT_TRUE(stack.state().PublishDuePresence().ok());
        // Published: the parked poll is woken, and a read answers the room as it is now.
        EXPECT_TRUE(::parley::testing::WaitFor([&] { return waiter->wakes.load() >= 1; }));
        stack.state().Unpark(cast.alice, waiter.get());
        absl::StatusOr<ReadOutcome> news = stack.state().ReadOrPark(watch, nullptr);
        ASSERT_TRUE(news.ok()) << news.status();
        EXPECT_FALSE(news->parked);
        bool room_seen = false;
        for (const RoomPresenceInfo& room : news->presence) {
          if (room.room != cast.room) continue;
          room_seen = true;
          EXPECT_EQ(room.presence.members, 4u);  // alice, bob, carol, dave
        }
        EXPECT_TRUE(room_seen);
        for (const RoomPresenceInfo& room : news->presence) {
          watch.presence_versions[room.room] = room.presence.version;
        }
        // Once: nothing is left to publish, and a poll knowing it parks.
        const uint64_t published = stack.state().Stats().presence_notifies;
        stack.clock().Advance(absl::Seconds(10));
        ASSERT_TRUE(stack.state().PublishDuePresence().ok());
        EXPECT_EQ(stack.state().Stats().presence_notifies, published);
        auto quiet_waiter = std::make_shared<WakeCounter>();
        absl::StatusOr<ReadOutcome> quiet = stack.state().ReadOrPark(watch, quiet_waiter);
        stack.state().Unpark(cast.alice, quiet_waiter.get());
        ASSERT_TRUE(quiet.ok());
        EXPECT_TRUE(quiet->parked) << quiet->read.messages.size() << " lines, "
                                   << quiet->presence.size() << " rooms' presence";
      });
  std::cout << "[matrix] PresencePublish: " << cases << " cases\n";
}

// Publishes `input` under the fault armed, and if it fired, once again (the sender's retry,
// same key): the retry goes through, under the first answer's id if there was one. The last
// answer.
absl::StatusOr<PublishResult> PublishAndRetry(FaultyStack& stack, const PublishInput& input) {
  absl::StatusOr<PublishResult> answer = stack.state().Publish(input);
  stack.NoFault();
  if (!stack.fired()) return answer;
  absl::StatusOr<PublishResult> retried = stack.state().Publish(input);
  EXPECT_TRUE(retried.ok()) << "first: " << answer.status() << ", retry: " << retried.status();
  if (answer.ok() && retried.ok()) {
    EXPECT_EQ(retried->message->id, answer->message->id);
  }
  return retried;
}

TEST_F(CrashPointTest, APublishFailingAtAnyStepIsDeliveredOnceWithOneIdByItsRetry) {
  for (const bool to_room : {true, false}) {
    const int cases = Matrix(
        to_room ? "Publish(room)" : "Publish(direct)", Recovery::kRetry,
        [&](FaultyStack& stack, size_t shards, uint64_t n) {
          const Cast cast = SetUpCast(stack, shards);
          const PublishInput input{cast.bob, to_room ? cast.room : "", to_room ? "" : cast.carol,
                                   "once", "key-1"};
          stack.FailNth(n);
          const absl::StatusOr<PublishResult> answer = PublishAndRetry(stack, input);
          ASSERT_TRUE(answer.ok()) << answer.status();
          // Every recipient has it once, under the id the sender was answered.
          std::vector<std::string> recipients = {cast.bob, cast.carol};
          if (to_room) recipients.push_back(cast.alice);
          for (const std::string& user : recipients) {
            EXPECT_EQ(stack.IdsOf(user, "once"), std::vector<std::string>{answer->message->id})
                << user;
          }
          // And a third try is the first answer again.
          const absl::StatusOr<PublishResult> again = stack.state().Publish(input);
          ASSERT_TRUE(again.ok());
          EXPECT_TRUE(again->duplicate);
          EXPECT_EQ(again->message->id, answer->message->id);
          if (to_room) ExpectTheRoomGoesOn(stack, cast, "after");
        });
    std::cout << "[matrix] " << (to_room ? "Publish(room)" : "Publish(direct)") << ": " << cases
              << " cases\n";
  }
}

// A direct message kept for someone away (hold_for_session): whatever step fails, the retry
// keeps it once, says so, and it reaches that session's queue once, under the answered id.
TEST_F(CrashPointTest, AKeptDirectMessageFailingAtAnyStepIsKeptOnceByItsRetry) {
  const int cases =
      Matrix("Publish(kept)", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast = SetUpCast(stack, shards);
        const PublishInput input{cast.bob, "", "away", "once", "key-1", false, "away-session"};
        stack.FailNth(n);
        const absl::StatusOr<PublishResult> answer = PublishAndRetry(stack, input);
        ASSERT_TRUE(answer.ok()) << answer.status();
        EXPECT_EQ(answer->recipients, 0u);  // kept, not delivered
        EXPECT_EQ(stack.IdsOf(cast.bob, "once"), std::vector<std::string>{answer->message->id});
        ASSERT_TRUE(stack.state().Connect("away", "away-session").ok());
        EXPECT_EQ(stack.IdsOf("away", "once"), std::vector<std::string>{answer->message->id});
      });
  std::cout << "[matrix] Publish(kept): " << cases << " cases\n";
}

TEST_F(CrashPointTest, ASweepFailingAtAnyStepIsFinishedByTheNextSweep) {
  const int cases =
      Matrix("Sweep", Recovery::kSweep, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast = SetUpCast(stack, shards);
        // alice stays away past expiry; bob and carol come back.
        stack.clock().Advance(ChatOptions().user_idle_expiry + absl::Minutes(1));
        for (const std::string& user : {cast.bob, cast.carol}) {
          ASSERT_TRUE(stack.state().Connect(user, user + "-s").ok());
        }
        stack.FailNth(n);
        const absl::StatusOr<SweepResult> first = stack.state().TrySweep();
        stack.NoFault();
        EXPECT_EQ(first.ok(), !stack.fired()) << first.status();
        // The next sweep, past the grace of leaves pending, finishes what this one left.
        stack.clock().Advance(absl::Seconds(11));
        stack.state().Sweep();
        EXPECT_FALSE(stack.IsMember(cast.alice, cast.room));
        absl::StatusOr<MembersResult> members = stack.state().Members(cast.room, MembersQuery());
        ASSERT_TRUE(members.ok());
        for (const auto& member : members->page.members) EXPECT_NE(member.user, cast.alice);
        for (const std::string& user : {cast.bob, cast.carol}) {
          EXPECT_EQ(stack.MembershipDisagreement(user, cast.room), "") << user;
        }
        ExpectTheRoomGoesOn(stack, cast, "after");
        const std::string leave = absl::StrCat("LEAVE:", cast.room, ":", cast.alice, ":");
        EXPECT_EQ(Count(stack.Lines(cast.bob), leave), 1);
        EXPECT_EQ(Count(stack.Lines(cast.carol), leave), 1);
        // Its name is free for a new session.
        absl::StatusOr<ConnectResult> again = stack.state().Connect(cast.alice, "new-s");
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_TRUE(again->created);
      });
  std::cout << "[matrix] Sweep: " << cases << " cases\n";
}

// The server API's room access (#26): each operation (creating a room, adding and removing a
// member, disconnecting a user, a system message; and a new user's Connect into the kept
// rooms it was let into) is a few scripts in a row; a fault at any of them is finished by the
// retry, and nothing is left half open: a removed member cannot come back in, a disconnected
// user's old session cannot come back, an added one is in the room once.
TEST_F(CrashPointTest, ARoomCreationFailingAtAnyStepIsFinishedByAddingTheMembersAgain) {
  const int cases =
      Matrix("CreateRoom", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast = SetUpCast(stack, shards);
        const std::string team = NameOn("team", shards - 1, shards);
        stack.FailNth(n);
        const absl::StatusOr<CreateRoomResult> first =
            stack.state().CreateRoom({team, true, {cast.alice, cast.bob}});
        stack.NoFault();
        if (stack.fired()) {
          // The retry is the app's: create again (the room may exist), then add each member.
          const absl::StatusOr<CreateRoomResult> again =
              stack.state().CreateRoom({team, true, {cast.alice, cast.bob}});
          ASSERT_TRUE(again.ok() || absl::IsAlreadyExists(again.status())) << again.status();
          for (const std::string& user : {cast.alice, cast.bob}) {
            ASSERT_TRUE(stack.state().AddMember(team, user).ok());
          }
        } else {
          ASSERT_TRUE(first.ok()) << first.status();
        }
        for (const std::string& user : {cast.alice, cast.bob}) {
          EXPECT_TRUE(stack.IsMember(user, team)) << user;
          EXPECT_EQ(stack.MembershipDisagreement(user, team), "") << user;
        }
        EXPECT_EQ(stack.state().Join(cast.carol, team).status().code(),
                  absl::StatusCode::kNotFound);
        EXPECT_EQ(stack.state().History(team, 0, cast.carol).status().code(),
                  absl::StatusCode::kNotFound);
      });
  std::cout << "[matrix] CreateRoom: " << cases << " cases\n";
}

TEST_F(CrashPointTest, ARemovalFailingAtAnyStepIsFinishedByItsRetry) {
  const int cases =
      Matrix("RemoveMember", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast = SetUpCast(stack, shards);
        const std::string team = NameOn("team", 1, shards);
        ASSERT_TRUE(stack.state().CreateRoom({team, true, {cast.alice, cast.bob}}).ok());
        stack.FailNth(n);
        const absl::StatusOr<bool> first = stack.state().RemoveMember(team, cast.alice);
        stack.NoFault();
        if (stack.fired()) {
          const absl::StatusOr<bool> retried = stack.state().RemoveMember(team, cast.alice);
          ASSERT_TRUE(retried.ok())
              << "first: " << first.status() << ", retry: " << retried.status();
        } else {
          ASSERT_TRUE(first.ok()) << first.status();
        }
        EXPECT_FALSE(stack.IsMember(cast.alice, team));
        EXPECT_EQ(stack.MembershipDisagreement(cast.alice, team), "");
        EXPECT_EQ(stack.MembershipDisagreement(cast.bob, team), "");
        EXPECT_EQ(stack.state().Join(cast.alice, team).status().code(),
                  absl::StatusCode::kNotFound);
        const std::string leave = absl::StrCat("LEAVE:", team, ":", cast.alice, ":");
        EXPECT_EQ(Count(stack.Lines(cast.alice), leave), 1);
      });
  std::cout << "[matrix] RemoveMember: " << cases << " cases\n";
}

TEST_F(CrashPointTest, ADisconnectByTheAppFailingAtAnyStepIsFinishedByItsRetry) {
  const int cases = Matrix(
      "DisconnectUser", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast = SetUpCast(stack, shards);
        stack.clock().Advance(absl::Seconds(5));
        stack.FailNth(n);
        const absl::StatusOr<bool> first = stack.state().EndUser(cast.alice);
        stack.NoFault();
        if (stack.fired()) {
          const absl::StatusOr<bool> retried = stack.state().EndUser(cast.alice);
          ASSERT_TRUE(retried.ok())
              << "first: " << first.status() << ", retry: " << retried.status();
        } else {
          ASSERT_TRUE(first.ok()) << first.status();
        }
        EXPECT_FALSE(stack.IsMember(cast.alice, cast.room));
        EXPECT_EQ(stack.MembershipDisagreement(cast.bob, cast.room), "");
        // The old session is refused; one begun after the disconnect is welcome.
        EXPECT_EQ(
            stack.state()
                .Connect(cast.alice, cast.alice + "-s", stack.clock().Now() - absl::Seconds(5))
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
        stack.clock().Advance(absl::Seconds(2));
        EXPECT_TRUE(stack.state().Connect(cast.alice, "new-s", stack.clock().Now()).ok());
        ExpectTheRoomGoesOn(stack, cast, "after");
      });
  std::cout << "[matrix] DisconnectUser: " << cases << " cases\n";
}

TEST_F(CrashPointTest, AnAdditionFailingAtAnyStepIsFinishedByItsRetry) {
  for (const bool connected : {true, false}) {
    const std::string operation = connected ? "AddMember(connected)" : "AddMember(away)";
    const int cases =
        Matrix(operation, Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
          const Cast cast = SetUpCast(stack, shards);
          const std::string team = NameOn("team", 1, shards);
          ASSERT_TRUE(stack.state().CreateRoom({team, true, {cast.bob, cast.carol}}).ok());
          const std::string dave = NameOn("dave", 2, shards);
          if (connected) {
            ASSERT_TRUE(stack.state().Connect(dave, "dave-s").ok());
          }
          stack.FailNth(n);
          const absl::StatusOr<bool> first = stack.state().AddMember(team, dave);
          stack.NoFault();
          if (stack.fired()) {
            const absl::StatusOr<bool> retried = stack.state().AddMember(team, dave);
            ASSERT_TRUE(retried.ok())
                << "first: " << first.status() << ", retry: " << retried.status();
          } else {
            ASSERT_TRUE(first.ok()) << first.status();
          }
          // Away, dave enters the room at the Connect.
          if (!connected) {
            ASSERT_TRUE(stack.state().Connect(dave, "dave-s").ok());
          }
          EXPECT_TRUE(stack.IsMember(dave, team));
          EXPECT_EQ(stack.MembershipDisagreement(dave, team), "");
          // The JOIN line reaches the members once: a delivery that failed is made up with the
          // room's next line.
          ASSERT_TRUE(stack.state().Publish({cast.bob, team, "", "welcome", ""}).ok());
          EXPECT_EQ(
              Count(stack.Lines(dave), absl::StrCat("CHAT:", team, ":", cast.bob, ":welcome")), 1);
          const std::string join = absl::StrCat("JOIN:", team, ":", dave, ":");
          EXPECT_EQ(Count(stack.Lines(cast.bob), join), 1);
          EXPECT_EQ(Count(stack.Lines(cast.carol), join), 1);
          // Off the list again, dave cannot come back in: both lists had him.
          ASSERT_TRUE(stack.state().RemoveMember(team, dave).ok());
          EXPECT_EQ(stack.state().Join(dave, team).status().code(), absl::StatusCode::kNotFound);
        });
    std::cout << "[matrix] " << operation << ": " << cases << " cases\n";
  }
}

TEST_F(CrashPointTest, AConnectIntoKeptRoomsFailingAtAnyStepIsFinishedByItsRetry) {
  // dave, away, was let into two kept rooms; his first Connect joins the lobby, then both.
  const int cases = Matrix(
      "Connect(kept rooms)", Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
        const Cast cast = SetUpCast(stack, shards);
        const std::string dave = NameOn("dave", 0, shards);
        const std::vector<std::string> teams = {NameOn("team", 1, shards),
                                                NameOn("crew", shards - 1, shards)};
        for (const std::string& team : teams) {
          ASSERT_TRUE(stack.state().CreateRoom({team, true, {cast.bob, dave}}).ok());
        }
        stack.FailNth(n);
        const absl::StatusOr<ConnectResult> first = stack.state().Connect(dave, "dave-s");
        stack.NoFault();
        if (stack.fired()) {
          const absl::StatusOr<ConnectResult> retried = stack.state().Connect(dave, "dave-s");
          ASSERT_TRUE(retried.ok())
              << "first: " << first.status() << ", retry: " << retried.status();
        } else {
          ASSERT_TRUE(first.ok()) << first.status();
        }
        for (const std::string& room : {std::string("lobby"), teams[0], teams[1]}) {
          EXPECT_TRUE(stack.IsMember(dave, room)) << room;
          EXPECT_EQ(stack.MembershipDisagreement(dave, room), "") << room;
          ASSERT_TRUE(stack.state().Publish({cast.bob, room, "", "welcome", ""}).ok());
          EXPECT_EQ(
              Count(stack.Lines(dave), absl::StrCat("CHAT:", room, ":", cast.bob, ":welcome")), 1)
              << room;
          EXPECT_EQ(Count(stack.Lines(cast.bob), absl::StrCat("JOIN:", room, ":", dave, ":")), 1)
              << room;
        }
      });
  std::cout << "[matrix] Connect(kept rooms): " << cases << " cases\n";
}

TEST_F(CrashPointTest, ASystemPublishFailingAtAnyStepIsDeliveredOnceWithOneIdByItsRetry) {
  for (const bool to_room : {true, false}) {
    const std::string operation = to_room ? "Publish(system, room)" : "Publish(system, user)";
    const int cases =
        Matrix(operation, Recovery::kRetry, [&](FaultyStack& stack, size_t shards, uint64_t n) {
          const Cast cast = SetUpCast(stack, shards);
          // From the app: a sender neither connected nor a member.
          PublishInput input{"billing", to_room ? cast.room : "", to_room ? "" : cast.carol, "paid",
                             "key-1"};
          input.system = true;
          stack.FailNth(n);
          const absl::StatusOr<PublishResult> answer = PublishAndRetry(stack, input);
          ASSERT_TRUE(answer.ok()) << answer.status();
          std::vector<std::string> recipients = {cast.carol};
          if (to_room) recipients = {cast.alice, cast.bob, cast.carol};
          for (const std::string& user : recipients) {
            EXPECT_EQ(stack.IdsOf(user, "paid"), std::vector<std::string>{answer->message->id})
                << user;
            EXPECT_EQ(Count(stack.Lines(user),
                            absl::StrCat("SYSTEM:", to_room ? cast.room : "", ":billing:paid")),
                      1)
                << user << ": " << absl::StrJoin(stack.Lines(user), " | ");
          }
          // To a user, it reaches that user alone.
          if (!to_room) {
            EXPECT_TRUE(stack.IdsOf(cast.bob, "paid").empty());
          }
          const absl::StatusOr<PublishResult> again = stack.state().Publish(input);
          ASSERT_TRUE(again.ok());
          EXPECT_TRUE(again->duplicate);
          EXPECT_EQ(again->message->id, answer->message->id);
          if (to_room) ExpectTheRoomGoesOn(stack, cast, "after");
        });
    std::cout << "[matrix] " << operation << ": " << cases << " cases\n";
  }
}

}  // namespace
}  // namespace parley::broker::redis
