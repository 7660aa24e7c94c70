#include "broker/store/memory/memory_chat_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley::broker {
namespace {

// Records each notification, and whether the operation's `done` had run by then.
class RecordingListener : public ChatStoreListener {
 public:
  explicit RecordingListener(const bool* done_ran) : done_ran_(done_ran) {}
  void UserChanged(absl::string_view user, absl::Time) override { Record("user ", user); }
  void RoomChanged(absl::string_view room, absl::Time) override { Record("room ", room); }
  void PresencePublished(absl::string_view room) override { Record("presence ", room); }
  void Resync() override { Record("resync", ""); }

  std::vector<std::string> calls;

 private:
  void Record(absl::string_view what, absl::string_view name) {
    calls.push_back(absl::StrCat(what, name, *done_ran_ ? " after done" : " before done"));
  }
  const bool* const done_ran_;
};

// The memory store tells its listener on the caller's thread; the caller's answer must not wait
// behind what the notification sets off (a Publish to a room of 10,000 answering its sender
// after the 10,000 polls it filled).
TEST(MemoryChatStoreTest, AnOperationAnswersBeforeItsListenerIsTold) {
  MemoryChatStore store{ChatOptions{}};
  bool done_ran = false;
  RecordingListener listener(&done_ran);
  store.SetListener(&listener);
  const absl::Time now = absl::Now();
  store.Connect({.user = "alice", .session = "s1", .new_epoch = 1}, now,
                [](absl::StatusOr<ConnectResult> connected) { ASSERT_TRUE(connected.ok()); });
  listener.calls.clear();

  store.Join("alice", "tea", /*granted=*/false, now, [&](absl::StatusOr<JoinResult> joined) {
    ASSERT_TRUE(joined.ok()) << joined.status();
    EXPECT_TRUE(listener.calls.empty()) << "told before the answer: " << listener.calls[0];
    done_ran = true;
  });
  ASSERT_FALSE(listener.calls.empty());
  for (const std::string& call : listener.calls) EXPECT_TRUE(absl::EndsWith(call, "after done"));
  EXPECT_EQ(listener.calls[0], "user alice after done");
}

}  // namespace
}  // namespace parley::broker
