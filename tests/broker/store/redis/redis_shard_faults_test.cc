// A Redis shard that forgets, falls behind or is out of reach (#24): restarted from an older
// snapshot (as `appendfsync everysec` losing its last second, or a replica promoted by
// Sentinel, would leave it), far behind a room's log, down during a sweep. One or two brokers
// (stores) over two shards. Whatever is lost, readers see a gap or a new epoch, never a silent
// skip or a number given twice under one epoch; the room goes on; the other shard's users are
// served.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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

constexpr size_t kShards = 2;

std::string NameOn(const std::string& prefix, size_t shard) {
  return ::parley::testing::NameOnShard(prefix, shard, kShards);
}

// Store options whose calls to shard 1 (of `operation` only, when given) fail while `down`.
RedisChatStoreOptions Shard1OutOfReachWhile(const std::atomic<bool>& down,
                                            absl::string_view operation = "") {
  RedisChatStoreOptions options;
  options.fault = [&down, operation](uint64_t, size_t shard, absl::string_view op) {
    if (down && shard == 1 && (operation.empty() || op == operation)) {
      return absl::UnavailableError("shard 1 is out of reach");
    }
    return absl::OkStatus();
  };
  return options;
}

// Every key of the server with its value and time to live: what a snapshot keeps.
struct Snapshot {
  std::vector<std::vector<std::string>> restores;  // RESTORE commands
};

Snapshot TakeSnapshot(RedisServer& server) {
  Snapshot snapshot;
  absl::StatusOr<std::string> keys = server.Run({"KEYS", "*"});
  EXPECT_TRUE(keys.ok());
  for (absl::string_view key : absl::StrSplit(*keys, '\n', absl::SkipEmpty())) {
    absl::StatusOr<std::string> value = server.Run({"DUMP", std::string(key)});
    absl::StatusOr<std::string> ttl = server.Run({"PTTL", std::string(key)});
    EXPECT_TRUE(value.ok() && ttl.ok());
    snapshot.restores.push_back(
        {"RESTORE", std::string(key), *ttl == "-1" ? std::string("0") : *ttl, *value, "REPLACE"});
  }
  return snapshot;
}

// The server as it was at the snapshot: everything written since is lost.
void RestoreSnapshot(RedisServer& server, const Snapshot& snapshot) {
  ASSERT_TRUE(server.Run({"FLUSHALL"}).ok());
  for (const auto& restore : snapshot.restores) {
    absl::StatusOr<std::string> done = server.Run(restore);
    ASSERT_TRUE(done.ok()) << done.status();
  }
}

// One broker's store and chat rules over the shards.
struct Broker {
  Broker(const std::vector<std::unique_ptr<RedisServer>>& servers, FakeClock* clock,
         RedisChatStoreOptions options = {}) {
    for (const auto& server : servers) {
      options.shards.push_back(RedisAddress{"127.0.0.1", server->port()});
    }
    store = std::make_unique<RedisChatStore>(ChatOptions(), options);
    EXPECT_TRUE(::parley::testing::WaitFor([&] { return store->healthy(); }));
    chat = std::make_unique<ChatState>(ChatOptions(), clock, store.get());
    state = std::make_unique<SyncChatState>(chat.get());
  }
  std::unique_ptr<RedisChatStore> store;
  std::unique_ptr<ChatState> chat;
  std::unique_ptr<SyncChatState> state;
};

// What a reader that kept its epoch and cursor sees next.
struct Reader {
  std::string user;
  uint64_t epoch = 0;
  uint64_t cursor = 0;

  // Reads everything new; returns the chat texts, and whether the read showed a loss (a gap
  // or a new epoch).
  std::pair<std::vector<std::string>, bool> Next(SyncChatState& state) {
    ReadInput input;
    input.user = user;
    input.cursor = cursor;
    input.epoch = epoch;
    input.max_messages = 1000;
    absl::StatusOr<ReadOutcome> read = state.ReadOrPark(input, nullptr);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok()) return {{}, false};
    const bool loss = read->read.gap || (epoch != 0 && read->epoch != epoch);
    epoch = read->epoch;
    cursor = read->read.cursor;
    std::vector<std::string> texts;
    for (const SequencedMessage& m : read->read.messages) {
      if (m.message->kind == MessageKind::kChat) texts.push_back(m.message->text);
    }
    return {texts, loss};
  }
};

class RedisShardFaultsTest : public ::testing::Test {
 protected:
  RedisShardFaultsTest() {
    for (size_t i = 0; i < kShards; ++i) servers_.push_back(std::make_unique<RedisServer>());
  }

  // Publishes to the room, retrying with the same key while it is UNAVAILABLE, as a page does.
  void Say(SyncChatState& state, const std::string& user, const std::string& room,
           const std::string& text) {
    absl::StatusOr<PublishResult> sent;
    for (int attempt = 0; attempt < 3; ++attempt) {
      sent = state.Publish({user, room, "", text, "key-" + text});
      if (!absl::IsUnavailable(sent.status())) break;
    }
    ASSERT_TRUE(sent.ok()) << text << ": " << sent.status();
  }

  // Writes the user's last activity as now, behind the store's back (on shard 0): the user
  // came back, as far as the store can tell.
  void MarkActiveNow(const std::string& user) {
    EXPECT_TRUE(servers_[0]
                    ->Run({"HSET", absl::StrCat("pu:", user), "active",
                           absl::StrCat(absl::ToUnixMillis(clock_.Now()))})
                    .ok());
  }

  std::vector<std::unique_ptr<RedisServer>> servers_;
  FakeClock clock_;
};

TEST_F(RedisShardFaultsTest, ARoomsShardRestoredFromAnOlderSnapshotSkipsNothingSilently) {
  // As the issue saw it: the room on shard 0, a member on each shard; the broker publishing
  // afterwards may or may not have seen the writes that were lost.
  for (const bool publisher_saw_the_loss : {true, false}) {
    SCOPED_TRACE(publisher_saw_the_loss ? "the publisher saw the lost writes"
                                        : "the publisher never saw them");
    for (auto& server : servers_) ASSERT_TRUE(server->Run({"FLUSHALL"}).ok());
    Broker a(servers_, &clock_);
    Broker b(servers_, &clock_);
    const std::string room = NameOn("room", 0);
    Reader near{NameOn("near", 0)};  // on the room's shard
    Reader far{NameOn("far", 1)};
    for (Reader* reader : {&near, &far}) {
      ASSERT_TRUE(a.state->Connect(reader->user, reader->user + "-s").ok());
      ASSERT_TRUE(a.state->Join(reader->user, room).ok());
      reader->Next(*a.state);
    }
    Say(*a.state, near.user, room, "one");
    EXPECT_EQ(far.Next(*a.state).first, std::vector<std::string>{"one"});
    EXPECT_EQ(near.Next(*a.state).first, std::vector<std::string>{"one"});
    const Snapshot snapshot = TakeSnapshot(*servers_[0]);
    Say(*a.state, near.user, room, "two");
    Say(*a.state, near.user, room, "three");
    EXPECT_EQ(far.Next(*a.state).first, (std::vector<std::string>{"two", "three"}));
    RestoreSnapshot(*servers_[0], snapshot);

    Broker& publisher = publisher_saw_the_loss ? a : b;
    const std::vector<std::string> after = {"four", "five", "six", "seven"};
    for (const std::string& text : after) Say(*publisher.state, near.user, room, text);
    // The far member gets every line published after the loss, once each, in order.
    auto [far_texts, far_loss] = far.Next(*publisher.state);
    std::vector<std::string> new_lines;
    for (const std::string& text : far_texts) {
      if (text != "one" && text != "two" && text != "three") new_lines.push_back(text);
    }
    EXPECT_EQ(new_lines, after) << absl::StrJoin(far_texts, " ");
    // The near member's queue lost "two" and "three": its reader is told (a new epoch).
    auto [near_texts, near_loss] = near.Next(*publisher.state);
    EXPECT_TRUE(near_loss) << absl::StrJoin(near_texts, " ");
    for (const std::string& text : after) {
      EXPECT_EQ(std::count(near_texts.begin(), near_texts.end(), text), 1)
          << text << " in " << absl::StrJoin(near_texts, " ");
    }
    // And the room goes on for both.
    Say(*b.state, far.user, room, "eight");
    EXPECT_EQ(far.Next(*b.state).first, std::vector<std::string>{"eight"});
    EXPECT_EQ(near.Next(*b.state).first, std::vector<std::string>{"eight"});
  }
}

TEST_F(RedisShardFaultsTest, AShardFurtherBehindThanTheRoomsLogSeesAGapNotAnErrorForever) {
  // Deliveries to shard 1 fail (out of reach) while the room's log moves past what it holds.
  std::atomic<bool> shard_1_down{false};
  Broker broker(servers_, &clock_, Shard1OutOfReachWhile(shard_1_down, "deliver"));
  const std::string room = NameOn("room", 0);
  Reader near{NameOn("near", 0)};
  Reader far{NameOn("far", 1)};
  for (Reader* reader : {&near, &far}) {
    ASSERT_TRUE(broker.state->Connect(reader->user, reader->user + "-s").ok());
    ASSERT_TRUE(broker.state->Join(reader->user, room).ok());
    reader->Next(*broker.state);
  }
  shard_1_down = true;
  for (int i = 0; i < 6; ++i) {
    // Sequenced and delivered on shard 0; the publish fails for shard 1.
    EXPECT_TRUE(absl::IsUnavailable(
        broker.state->Publish({near.user, room, "", absl::StrCat("while-down-", i), ""}).status()));
  }
  shard_1_down = false;
  // The room's log keeps about --room_log lines; this one kept the last two.
  ASSERT_TRUE(servers_[0]->Run({"XTRIM", absl::StrCat("pr:", room, ":log"), "MAXLEN", "2"}).ok());
  const absl::StatusOr<PublishResult> after =
      broker.state->Publish({near.user, room, "", "after", ""});
  ASSERT_TRUE(after.ok()) << after.status();  // was INTERNAL, for every later line too
  auto [texts, loss] = far.Next(*broker.state);
  EXPECT_TRUE(loss) << absl::StrJoin(texts, " ");
  EXPECT_EQ(std::count(texts.begin(), texts.end(), "after"), 1) << absl::StrJoin(texts, " ");
  // The lines the log still had are delivered, in order, before "after".
  const std::vector<std::string> tail(texts.end() - std::min<size_t>(texts.size(), 3), texts.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"while-down-4", "while-down-5", "after"}))
      << absl::StrJoin(texts, " ");
  ASSERT_TRUE(broker.state->Publish({near.user, room, "", "later", ""}).ok());
  EXPECT_EQ(far.Next(*broker.state).first, std::vector<std::string>{"later"});
}

TEST_F(RedisShardFaultsTest, AShardOutOfReachHoldsUpOnlyTheRoomsWithMembersThere) {
  std::atomic<bool> shard_1_down{false};
  Broker broker(servers_, &clock_, Shard1OutOfReachWhile(shard_1_down));
  const std::string room = NameOn("room", 0);
  Reader one{NameOn("one", 0)};
  Reader two{NameOn("two", 0)};
  Reader far{NameOn("far", 1)};
  for (Reader* reader : {&one, &two, &far}) {
    ASSERT_TRUE(broker.state->Connect(reader->user, reader->user + "-s").ok());
  }
  ASSERT_TRUE(broker.state->Join(one.user, room).ok());
  ASSERT_TRUE(broker.state->Join(two.user, room).ok());
  two.Next(*broker.state);
  shard_1_down = true;
  // Every member of the room lives on shard 0: its lines need nothing of shard 1.
  ASSERT_TRUE(broker.state->Publish({one.user, room, "", "while-1-is-down", ""}).ok());
  EXPECT_EQ(two.Next(*broker.state).first, std::vector<std::string>{"while-1-is-down"});
  // The lobby has a member on shard 1: its lines wait for it.
  EXPECT_TRUE(
      absl::IsUnavailable(broker.state->Publish({one.user, "lobby", "", "hi", ""}).status()));
  shard_1_down = false;
  // Once far joins, its shard gets the room's lines.
  ASSERT_TRUE(broker.state->Join(far.user, room).ok());
  far.Next(*broker.state);
  ASSERT_TRUE(broker.state->Publish({one.user, room, "", "with-far", ""}).ok());
  EXPECT_EQ(far.Next(*broker.state).first, std::vector<std::string>{"with-far"});
}

TEST_F(RedisShardFaultsTest, ASweepWithAShardOutOfReachStillExpiresTheOtherShardsUsers) {
  std::atomic<bool> shard_1_down{false};
  Broker broker(servers_, &clock_, Shard1OutOfReachWhile(shard_1_down));
  const std::string here = NameOn("here", 0);
  const std::string there = NameOn("there", 1);
  ASSERT_TRUE(broker.state->Connect(here, "here-s").ok());
  ASSERT_TRUE(broker.state->Connect(there, "there-s").ok());
  clock_.Advance(ChatOptions().user_idle_expiry + absl::Minutes(1));
  shard_1_down = true;
  absl::StatusOr<SweepResult> swept = ::parley::testing::Await<SweepResult>(
      [&](auto done) { broker.chat->Sweep(std::move(done)); });
  shard_1_down = false;
  EXPECT_TRUE(absl::IsUnavailable(swept.status())) << swept.status();   // said, not hidden
  EXPECT_TRUE(absl::IsNotFound(broker.state->RoomsOf(here).status()));  // expired all the same
  EXPECT_TRUE(broker.state->RoomsOf(there).ok());                       // its sweep waits
}

TEST_F(RedisShardFaultsTest, AnIdleUserWhoComesBackBeforeTheSweepRemovesItIsKept) {
  // The sweep lists idle users in one call and removes each in another; the user comes back in
  // between (here: its activity written just before the removal is tried).
  const std::string user = NameOn("back", 0);
  RedisChatStoreOptions options;
  options.fault = [&](uint64_t, size_t, absl::string_view operation) {
    if (operation == "user_remove") MarkActiveNow(user);
    return absl::OkStatus();
  };
  Broker broker(servers_, &clock_, options);
  ASSERT_TRUE(broker.state->Connect(user, "back-s").ok());
  clock_.Advance(ChatOptions().user_idle_expiry + absl::Minutes(1));
  const SweepResult swept = broker.state->Sweep();
  EXPECT_EQ(swept.expired, 1u);                   // listed as idle
  EXPECT_TRUE(broker.state->RoomsOf(user).ok());  // but kept: it came back
  EXPECT_TRUE(broker.state->Connect(user, "back-s").ok());
}

TEST_F(RedisShardFaultsTest, AHolderBackBetweenTheLookAndTheReplacementKeepsItsName) {
  // A Connect with another session looks at the name's holder (claim), finds it idle past
  // expiry (HolderKeepsName, the broker's rule) and claims again naming it; the holder comes
  // back in between (here: its activity written just before the second claim is made).
  const std::string user = NameOn("held", 0);
  std::atomic<int> claims{0};
  std::atomic<bool> come_back{true};
  RedisChatStoreOptions options;
  options.fault = [&](uint64_t, size_t, absl::string_view operation) {
    if (operation == "claim" && ++claims % 2 == 0 && come_back) MarkActiveNow(user);
    return absl::OkStatus();
  };
  Broker broker(servers_, &clock_, options);
  ASSERT_TRUE(broker.state->Connect(user, "first").ok());
  claims = 0;
  clock_.Advance(ChatOptions().user_idle_expiry + absl::Minutes(1));
  EXPECT_EQ(broker.state->Connect(user, "second").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(claims, 2);  // looked; the replacement found the holder back
  EXPECT_TRUE(broker.state->Connect(user, "first").ok());  // still the holder's
  // Idle past expiry again, and staying away: replaced.
  come_back = false;
  clock_.Advance(ChatOptions().user_idle_expiry + absl::Minutes(1));
  absl::StatusOr<ConnectResult> second = broker.state->Connect(user, "second");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->created);
  EXPECT_EQ(broker.state->Connect(user, "first").status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RedisShardFaultsTest, ASessionsShardThatLostALogoutRefusesTheSessionsBegunBeforeTheLoss) {
  // The session on shard 0, its user on shard 1: the logout's record is on shard 0 only.
  const std::string user = NameOn("leaver", 1);
  const std::string session = NameOn("session", 0);
  const absl::Time started = absl::Now() - absl::Minutes(1);
  Broker broker(servers_, &clock_);
  ASSERT_TRUE(broker.state->Connect(user, session, started).ok());
  const Snapshot before_logout = TakeSnapshot(*servers_[0]);
  ASSERT_TRUE(broker.state->Disconnect(user, session).ok());
  EXPECT_EQ(broker.state->Connect(user, session, started).status().code(),
            absl::StatusCode::kUnauthenticated);
  RestoreSnapshot(*servers_[0], before_logout);  // the logout is lost
  // The replayed token is still refused: the shard lost writes since the session began.
  const absl::StatusOr<ConnectResult> replayed = broker.state->Connect(user, session, started);
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kUnauthenticated) << replayed.status();
  // A session begun after the loss is taken (the user logs in again).
  const absl::StatusOr<ConnectResult> fresh =
      broker.state->Connect(user, NameOn("fresh", 0), absl::Now() + absl::Seconds(1));
  EXPECT_TRUE(fresh.ok()) << fresh.status();
}

TEST_F(RedisShardFaultsTest, AShardEmptiedShowsEveryLossAndTheRoomGoesOnOnceRejoined) {
  // The room and one member on shard 0, which comes back empty: flushed, or an empty instance
  // restarted in its place.
  for (const bool restarted : {false, true}) {
    SCOPED_TRACE(restarted ? "an empty instance restarted" : "flushed");
    for (auto& server : servers_) ASSERT_TRUE(server->Run({"FLUSHALL"}).ok());
    Broker broker(servers_, &clock_);
    SyncChatState& state = *broker.state;
    const std::string room = NameOn("room", 0);
    Reader near{NameOn("near", 0)};
    Reader far{NameOn("far", 1)};
    const absl::Time started = absl::Now() - absl::Minutes(1);
    for (Reader* reader : {&near, &far}) {
      ASSERT_TRUE(state.Connect(reader->user, reader->user + "-s", started).ok());
      ASSERT_TRUE(state.Join(reader->user, room).ok());
      reader->Next(state);
    }
    Say(state, near.user, room, "one");
    EXPECT_EQ(far.Next(state).first, std::vector<std::string>{"one"});
    EXPECT_EQ(near.Next(state).first, std::vector<std::string>{"one"});
    ASSERT_TRUE(servers_[0]->Run({"FLUSHALL"}).ok());
    if (restarted) {
      servers_[0]->Stop();
      servers_[0]->Start();
      ASSERT_TRUE(::parley::testing::WaitFor([&] { return broker.store->healthy(); }));
    }
    // Nothing is skipped silently: the room is gone (not found), and so is the member there.
    EXPECT_EQ(state.Publish({far.user, room, "", "lost", ""}).status().code(),
              absl::StatusCode::kNotFound);
    ReadInput input;
    input.user = near.user;
    input.cursor = near.cursor;
    input.epoch = near.epoch;
    EXPECT_EQ(state.ReadOrPark(input, nullptr).status().code(), absl::StatusCode::kNotFound);
    // The member there connects again: refused if its session's shard lost writes since it
    // began (log in again), else under a new epoch.
    absl::StatusOr<ConnectResult> back = state.Connect(near.user, near.user + "-s", started);
    if (!back.ok()) {
      EXPECT_EQ(back.status().code(), absl::StatusCode::kUnauthenticated) << back.status();
      back = state.Connect(near.user, near.user + "-again", absl::Now() + absl::Seconds(1));
    }
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->created);
    EXPECT_NE(back->epoch, near.epoch);
    // Rejoined, the room goes on for both, under a new room epoch: every line once.
    ASSERT_TRUE(state.Join(far.user, room).ok());
    ASSERT_TRUE(state.Join(near.user, room).ok());
    Say(state, far.user, room, "two");
    EXPECT_EQ(far.Next(state).first, std::vector<std::string>{"two"});
    auto [near_texts, near_loss] = near.Next(state);
    EXPECT_TRUE(near_loss);
    EXPECT_EQ(near_texts, std::vector<std::string>{"two"});
  }
}

}  // namespace
}  // namespace parley::broker::redis
