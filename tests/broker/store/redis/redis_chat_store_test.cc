// What only the Redis store has (the chat rules it shares with the memory store are tested over
// both in tests/broker/core/): a Redis that comes back with fewer writes than it acknowledged
// never hands out a seq twice under one epoch.

#include "broker/store/redis/redis_chat_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "broker/core/chat_state.h"
#include "broker/store/redis/chat_script.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/sync_chat_state.h"
#include "tests/testing/wait_for.h"

namespace parley::broker::redis {
namespace {

using ::parley::testing::FakeClock;
using ::parley::testing::RedisServer;
using ::parley::testing::SyncChatState;

ReadInput ReadFrom(const std::string& user, uint64_t cursor, uint64_t epoch) {
  ReadInput input;
  input.user = user;
  input.cursor = cursor;
  input.epoch = epoch;
  return input;
}

std::vector<std::string> Texts(const ReadOutcome& outcome) {
  std::vector<std::string> texts;
  for (const SequencedMessage& m : outcome.read.messages) {
    if (m.message->kind == MessageKind::kDirect) texts.push_back(m.message->text);
  }
  return texts;
}

class RedisChatStoreTest : public ::testing::Test {
 protected:
  RedisChatStoreTest() {
    RedisChatStoreOptions options;
    options.shards.push_back(RedisAddress{"127.0.0.1", redis_.port()});
    store_ = std::make_unique<RedisChatStore>(ChatOptions(), options);
    EXPECT_TRUE(::parley::testing::WaitFor([&] { return store_->healthy(); }));
    chat_ = std::make_unique<ChatState>(ChatOptions(), &clock_, store_.get());
    state_ = std::make_unique<SyncChatState>(chat_.get());
  }

  absl::StatusOr<PublishResult> Direct(const std::string& from, const std::string& to,
                                       const std::string& text) {
    return state_->Publish({from, "", to, text, ""});
  }

  // The scripts Redis has run (its own count: the store's counters also count the
  // subscriber's heartbeats, which come when they will).
  int64_t ScriptCalls() { return CommandCalls("evalsha"); }

  // How many times Redis has run `command`, from a script or not.
  int64_t CommandCalls(const std::string& command) {
    const absl::StatusOr<std::string> stats = redis_.Run({"INFO", "commandstats"});
    EXPECT_TRUE(stats.ok()) << stats.status();
    int64_t calls = 0;
    const std::string prefix = "cmdstat_" + command + ":calls=";
    if (const size_t at = stats.ok() ? stats->find(prefix) : std::string::npos;
        at != std::string::npos) {
      calls = std::atoll(stats->c_str() + at + prefix.size());
    }
    return calls;
  }

  RedisServer redis_;
  FakeClock clock_;
  std::unique_ptr<RedisChatStore> store_;
  std::unique_ptr<ChatState> chat_;
  std::unique_ptr<SyncChatState> state_;
};

TEST_F(RedisChatStoreTest, ARedisThatLostAcknowledgedWritesGivesItsUsersANewEpoch) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  ASSERT_TRUE(state_->Connect("bob", "b").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("alice", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  for (const char* text : {"one", "two", "three"}) ASSERT_TRUE(Direct("bob", "alice", text).ok());
  const absl::StatusOr<ReadOutcome> seen =
      state_->ReadOrPark(ReadFrom("alice", start->read.cursor, start->epoch), nullptr);
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(Texts(*seen), (std::vector<std::string>{"one", "two", "three"}));
  const uint64_t cursor = seen->read.cursor;

  // As a restart that lost the last second of its append-only file would leave it: alice's
  // queue without its last two messages, and the shard's count of appends two lower.
  const std::string last = absl::StrCat(cursor, "-0");
  const std::string before_last = absl::StrCat(cursor - 1, "-0");
  ASSERT_TRUE(redis_.Run({"XDEL", "pu:alice:q", before_last, last}).ok());
  ASSERT_TRUE(redis_.Run({"XSETID", "pu:alice:q", absl::StrCat(cursor - 2, "-0")}).ok());
  ASSERT_TRUE(redis_.Run({"HINCRBY", "pu:alice", "seq", "-2"}).ok());
  ASSERT_TRUE(redis_.Run({"DECRBY", "pwrites", "2"}).ok());

  // The next publish would give alice's seqs again; the shard is fenced first.
  const absl::StatusOr<PublishResult> four = Direct("bob", "alice", "four");
  ASSERT_TRUE(four.ok()) << four.status();
  const absl::StatusOr<ReadOutcome> after =
      state_->ReadOrPark(ReadFrom("alice", cursor, seen->epoch), nullptr);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->epoch, seen->epoch);
  EXPECT_TRUE(after->read.gap);
  EXPECT_EQ(Texts(*after), (std::vector<std::string>{"one", "four"}));
  // Every user of the shard gets a new epoch, once. (bob's session began before the loss: the
  // shard may have lost its logout, so it is refused; he logs in again.)
  EXPECT_EQ(state_->Connect("bob", "b").status().code(), absl::StatusCode::kUnauthenticated);
  const absl::StatusOr<ConnectResult> bob =
      state_->Connect("bob", "b", absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(bob.ok()) << bob.status();
  const absl::StatusOr<ReadOutcome> again =
      state_->ReadOrPark(ReadFrom("alice", after->read.cursor, after->epoch), nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->epoch, after->epoch);
  EXPECT_FALSE(again->read.gap);
}

// A room line sequenced on the room's shard (room seq and log) by a publisher that then failed
// before delivering it, as chat.lua's room_sequence leaves it.
absl::StatusOr<std::string> SequenceOnly(RedisServer& redis, absl::Time now, const std::string& key,
                                         const std::string& text) {
  return redis.Run({"EVAL", std::string(kChatScript), "0", "room_sequence", "lobby", "alice", key,
                    absl::StrCat(absl::ToUnixMillis(now)), "600000", "100", "10000", "0",
                    absl::StrCat("id-", text), "lobby", "alice", "", text, "0"});
}

std::vector<std::string> ChatTexts(const ReadOutcome& outcome) {
  std::vector<std::string> texts;
  for (const SequencedMessage& m : outcome.read.messages) {
    if (m.message->kind == MessageKind::kChat) texts.push_back(m.message->text);
  }
  return texts;
}

TEST_F(RedisChatStoreTest,
       ALineAPublisherSequencedButNeverDeliveredArrivesBeforeTheNextInRoomOrder) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  ASSERT_TRUE(state_->Connect("bob", "b").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("bob", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(SequenceOnly(redis_, clock_.Now(), "", "stranded").ok());
  ASSERT_TRUE(state_->Publish({"alice", "lobby", "", "next", ""}).ok());
  const absl::StatusOr<ReadOutcome> read =
      state_->ReadOrPark(ReadFrom("bob", start->read.cursor, start->epoch), nullptr);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(ChatTexts(*read), (std::vector<std::string>{"stranded", "next"}));
}

TEST_F(RedisChatStoreTest, ARetryOfAPublishThatFailedPartWayCompletesItOnce) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  ASSERT_TRUE(state_->Connect("bob", "b").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("bob", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  // The first try got its room seq, then its broker died: nobody has the line yet.
  ASSERT_TRUE(SequenceOnly(redis_, clock_.Now(), "k1", "once").ok());
  const absl::StatusOr<PublishResult> retry = state_->Publish({"alice", "lobby", "", "once", "k1"});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->message->id, "id-once");  // the first try's message, not a second one
  EXPECT_EQ(retry->recipients, 2u);
  ASSERT_TRUE(state_->Publish({"alice", "lobby", "", "once", "k1"}).ok());  // and again
  const absl::StatusOr<ReadOutcome> read =
      state_->ReadOrPark(ReadFrom("bob", start->read.cursor, start->epoch), nullptr);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(ChatTexts(*read), std::vector<std::string>{"once"});
}

TEST_F(RedisChatStoreTest, AMessageIsStoredPackedAndReadBackWhateverItsTextHolds) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  ASSERT_TRUE(state_->Connect("bob", "b").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("alice", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  // Lengths and colons, as the packing writes them; an empty field (a DM has no room).
  const std::vector<std::string> texts = {"12:3:4::x", "7:", ":", "\xE4\xBD\xA0\xE5\xA5\xBD 5:hi"};
  for (const std::string& text : texts) ASSERT_TRUE(Direct("bob", "alice", text).ok());
  const absl::StatusOr<ReadOutcome> read =
      state_->ReadOrPark(ReadFrom("alice", start->read.cursor, start->epoch), nullptr);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Texts(*read), texts);
  ASSERT_FALSE(read->read.messages.empty());
  const Message& last = *read->read.messages.back().message;
  EXPECT_EQ(last.from, "bob");
  EXPECT_EQ(last.to, "alice");
  EXPECT_EQ(last.room, "");
}

TEST_F(RedisChatStoreTest, ReadsThatComeTogetherAreOneCallAndEachGetsItsOwnAnswer) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  ASSERT_TRUE(state_->Connect("bob", "b").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("alice", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(Direct("bob", "alice", "hello").ok());

  // Hold the loop, so the reads wait for it together, as the reads of the polls that one
  // notification wakes do.
  absl::Notification holding, go;
  store_->AfterNotifications([&] {
    holding.Notify();
    go.WaitForNotification();
  });
  holding.WaitForNotification();
  const int64_t calls_before = ScriptCalls();
  struct Answer {
    absl::Notification done;
    absl::StatusOr<StoreRead> read = absl::UnknownError("not answered");
  };
  Answer fresh, beyond, missing;
  auto read = [&](const std::string& user, uint64_t cursor, uint64_t epoch, Answer& answer) {
    store_->Read(ReadFrom(user, cursor, epoch), 10, clock_.Now(),
                 [&answer](absl::StatusOr<StoreRead> result) {
                   answer.read = std::move(result);
                   answer.done.Notify();
                 });
  };
  read("alice", start->read.cursor, start->epoch, fresh);
  read("alice", start->read.cursor + 100, start->epoch, beyond);
  read("nobody", 0, 0, missing);
  go.Notify();
  for (Answer* answer : {&fresh, &beyond, &missing}) {
    ASSERT_TRUE(answer->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  EXPECT_EQ(ScriptCalls() - calls_before, 1);
  ASSERT_TRUE(fresh.read.ok()) << fresh.read.status();
  ASSERT_EQ(fresh.read->read.messages.size(), 1u);
  EXPECT_EQ(fresh.read->read.messages[0].message->text, "hello");
  EXPECT_EQ(beyond.read.status().code(), absl::StatusCode::kOutOfRange) << beyond.read.status();
  EXPECT_EQ(missing.read.status().code(), absl::StatusCode::kNotFound) << missing.read.status();
}

// A parked poll's waiter, woken on the store's thread.
class Waiter : public PollWaiter {
 public:
  void Wake(absl::Time) override { woken.Notify(); }
  absl::Notification woken;
};

TEST_F(RedisChatStoreTest, APollWokenByARoomLineIsAnsweredAndParksAgainWithoutARoundTrip) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  ASSERT_TRUE(state_->Connect("bob", "b").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("alice", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  auto first = std::make_shared<Waiter>();
  const ReadInput after_start = ReadFrom("alice", start->read.cursor, start->epoch);
  ASSERT_TRUE(state_->ReadOrPark(after_start, first)->parked);  // read in Redis, mirrored
  ASSERT_TRUE(state_->Publish({"bob", "lobby", "", "hello", ""}).ok());
  ASSERT_TRUE(first->woken.WaitForNotificationWithTimeout(absl::Seconds(10)));

  const int64_t calls_before = ScriptCalls();
  const absl::StatusOr<ReadOutcome> woken =
      state_->ReadOrPark(after_start, std::make_shared<Waiter>());
  ASSERT_TRUE(woken.ok()) << woken.status();
  EXPECT_FALSE(woken->parked);
  EXPECT_EQ(ChatTexts(*woken), std::vector<std::string>{"hello"});
  auto third = std::make_shared<Waiter>();
  EXPECT_TRUE(
      state_->ReadOrPark(ReadFrom("alice", woken->read.cursor, woken->epoch), third)->parked);
  EXPECT_EQ(ScriptCalls() - calls_before, 0);

  // What the mirror answered is what Redis holds (a read that returns at once is Redis's).
  ASSERT_TRUE(state_->Unpark("alice", third.get()));
  const absl::StatusOr<ReadOutcome> stored = state_->ReadOrPark(after_start, nullptr);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->read.messages.size(), woken->read.messages.size());
  EXPECT_EQ(stored->read.cursor, woken->read.cursor);
  EXPECT_EQ(stored->read.messages[0].message->id, woken->read.messages[0].message->id);
  EXPECT_EQ(ScriptCalls() - calls_before, 1);
}

TEST_F(RedisChatStoreTest, APollAnsweredWithoutARoundTripStillKeepsItsUserOnline) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  ASSERT_TRUE(state_->Connect("bob", "b").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("alice", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  const ReadInput poll = ReadFrom("alice", start->read.cursor, start->epoch);
  auto first = std::make_shared<Waiter>();
  ASSERT_TRUE(state_->ReadOrPark(poll, first)->parked);
  ASSERT_TRUE(state_->Unpark("alice", first.get()));

  clock_.Advance(absl::Seconds(20));
  const int64_t calls_before = ScriptCalls();
  auto second = std::make_shared<Waiter>();
  ASSERT_TRUE(state_->ReadOrPark(poll, second)->parked);
  ASSERT_EQ(ScriptCalls() - calls_before, 0);  // the mirror's answer
  ASSERT_TRUE(state_->Unpark("alice", second.get()));

  // Past the presence window since bob's login and alice's first poll, not since her second.
  clock_.Advance(absl::Seconds(20));
  EXPECT_EQ(state_->Sweep().went_offline, 1u);
  const absl::StatusOr<MembersResult> lobby = state_->Members("lobby", MembersQuery{});
  ASSERT_TRUE(lobby.ok());
  EXPECT_EQ(lobby->presence.online, 1u);
}

TEST_F(RedisChatStoreTest, AReadTheMirrorCanAnswerIsAnsweredOnItsOwnThreadWhileTheLoopIsBusy) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("alice", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  auto first = std::make_shared<Waiter>();
  ASSERT_TRUE(
      state_->ReadOrPark(ReadFrom("alice", start->read.cursor, start->epoch), first)->parked);
  ASSERT_TRUE(state_->Unpark("alice", first.get()));  // read in Redis, mirrored

  absl::Notification holding, go, released;
  store_->AfterNotifications([&] {
    holding.Notify();
    go.WaitForNotification();
    released.Notify();
  });
  holding.WaitForNotification();
  ReadInput poll = ReadFrom("alice", start->read.cursor, start->epoch);
  poll.may_park = true;
  // Shared: a read that is not answered at once is answered on the loop, maybe after the test.
  auto answered = std::make_shared<std::optional<absl::StatusOr<StoreRead>>>();
  store_->Read(poll, 10, clock_.Now(),
               [answered](absl::StatusOr<StoreRead> read) { *answered = std::move(read); });
  const std::optional<absl::StatusOr<StoreRead>> answer = *answered;
  go.Notify();  // before any assertion: the loop must not stay held if one fails
  released.WaitForNotification();
  ASSERT_TRUE(answer.has_value()) << "not answered before Read returned";
  ASSERT_TRUE(answer->ok()) << answer->status();
  EXPECT_TRUE((*answer)->read.messages.empty());
  EXPECT_EQ((*answer)->epoch, start->epoch);
}

TEST_F(RedisChatStoreTest, ASweepTouchesAUserParkedAndAnsweredFromTheMirrorOnce) {
  ASSERT_TRUE(state_->Connect("alice", "a").ok());
  const absl::StatusOr<ReadOutcome> start = state_->ReadOrPark(ReadFrom("alice", 0, 0), nullptr);
  ASSERT_TRUE(start.ok());
  const ReadInput poll = ReadFrom("alice", start->read.cursor, start->epoch);
  auto first = std::make_shared<Waiter>();
  ASSERT_TRUE(state_->ReadOrPark(poll, first)->parked);  // read in Redis, mirrored
  ASSERT_TRUE(state_->Unpark("alice", first.get()));
  const int64_t calls_before = ScriptCalls();
  auto second = std::make_shared<Waiter>();
  ASSERT_TRUE(state_->ReadOrPark(poll, second)->parked);  // answered here, and parked
  ASSERT_EQ(ScriptCalls() - calls_before, 0);

  // The touch reads each user's activity once (HGET, which also says whether the user is
  // there); nothing else in a sweep with no one gone quiet does.
  const int64_t hgets_before = CommandCalls("hget");
  const int64_t exists_before = CommandCalls("exists");
  state_->Sweep();
  EXPECT_EQ(CommandCalls("hget") - hgets_before, 1);
  EXPECT_EQ(CommandCalls("exists") - exists_before, 0);
  ASSERT_TRUE(state_->Unpark("alice", second.get()));
}

}  // namespace
}  // namespace parley::broker::redis
