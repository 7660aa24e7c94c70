#include "frontend/http/poll_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "frontend/http/http_error.h"

namespace parley::frontend {
namespace {

v1::Message MakeMessage(const std::string& id, uint64_t seq, const std::string& text) {
  v1::Message message;
  message.set_id(id);
  message.set_seq(seq);
  message.set_kind(v1::CHAT);
  message.set_room("lobby");
  message.set_from("alice");
  message.set_text(text);
  message.mutable_sent_at()->set_seconds(1700000000);
  message.mutable_sent_at()->set_nanos(123000000);
  return message;
}

TEST(PollJsonTest, EmptyAnswerMatchesProtobufJson) {
  PollJson writer;
  v1::PollResponse response;
  response.set_cursor(7);
  response.set_epoch(99);
  EXPECT_EQ(writer.Write(response), ToJson(response));
  response.set_gap(true);
  EXPECT_EQ(writer.Write(response), ToJson(response));
}

TEST(PollJsonTest, PresenceMatchesProtobufJson) {
  PollJson writer;
  v1::PollResponse response;
  *response.add_messages() = MakeMessage("m-1", 3, "hello");
  response.set_cursor(3);
  for (const char* room : {"lobby", "side"}) {
    v1::RoomPresence* presence = response.add_presence();
    presence->set_room(room);
    presence->set_version(12);
    presence->set_members(10000);
    presence->set_online(9999);
    presence->set_mode(v1::PRESENCE_MODE_COUNTS);
  }
  EXPECT_EQ(writer.Write(response), ToJson(response));
}

TEST(PollJsonTest, EveryRecipientGetsItsOwnSeqFromOneRendering) {
  PollJson writer;
  for (uint64_t seq : std::vector<uint64_t>{1, 2, 1000, UINT64_MAX}) {
    v1::PollResponse response;
    *response.add_messages() = MakeMessage("m-1", seq, "hello");
    response.set_cursor(seq);
    EXPECT_EQ(writer.Write(response), ToJson(response)) << seq;
  }
}

TEST(PollJsonTest, TextThatLooksLikeJsonAndOddIdsStayEscaped) {
  PollJson writer;
  v1::PollResponse response;
  *response.add_messages() =
      MakeMessage(R"(x","seq":"0)", 5, R"(<img src=x onerror=alert(1)> "q" \ é 😀)");
  *response.add_messages() = MakeMessage("m-2", 6, "line\nbreak\ttab");
  v1::Message direct = MakeMessage("m-3", 7, "psst");
  direct.clear_room();
  direct.set_to("bob");
  direct.set_kind(v1::DIRECT);
  *response.add_messages() = direct;
  response.set_cursor(7);
  response.set_epoch(3);
  EXPECT_EQ(writer.Write(response), ToJson(response));
  EXPECT_EQ(writer.Write(response), ToJson(response));  // now from the cache
}

TEST(PollJsonTest, AReusedIdWithOtherContentIsNeverAnsweredFromTheCache) {
  PollJson writer;
  v1::PollResponse first;
  *first.add_messages() = MakeMessage("same-id", 1, "first text");
  ASSERT_EQ(writer.Write(first), ToJson(first));
  v1::PollResponse second;
  *second.add_messages() = MakeMessage("same-id", 1, "second text");
  EXPECT_EQ(writer.Write(second), ToJson(second));
}

TEST(PollJsonTest, EvictsOldMessagesAndStaysCorrect) {
  PollJson writer(/*capacity=*/32);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 200; ++i) {
      v1::PollResponse response;
      *response.add_messages() =
          MakeMessage("id-" + std::to_string(i), i + 1, "t" + std::to_string(i));
      ASSERT_EQ(writer.Write(response), ToJson(response));
    }
  }
}

TEST(PollJsonTest, ManyThreadsShareTheCache) {
  PollJson writer(/*capacity=*/64);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        v1::PollResponse response;
        *response.add_messages() = MakeMessage("id-" + std::to_string(i % 100), t * 1000 + i, "x");
        if (writer.Write(response) != ToJson(response)) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(mismatches[t], 0) << t;
}

// PollJson compares a cached message with a new one field by field: a new field in
// Message must be added to that comparison (and then to this count).
TEST(PollJsonTest, MessageHasTheFieldsTheCacheCompares) {
  EXPECT_EQ(v1::Message::descriptor()->field_count(), 10);
}

}  // namespace
}  // namespace parley::frontend
