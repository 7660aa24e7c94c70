#ifndef PARLEY_BROKER_CORE_MESSAGE_H_
#define PARLEY_BROKER_CORE_MESSAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace parley::broker {

enum class MessageKind { kChat, kDirect, kJoin, kLeave, kSystem };

// One message as the broker stores it. Immutable once built: it is shared (through
// MessagePtr) by every queue and room history it is delivered to, so any thread may read it.
struct Message {
  std::string id;
  MessageKind kind = MessageKind::kChat;
  std::string room;  // CHAT, JOIN, LEAVE
  std::string from;  // sender, or who joined/left
  std::string to;    // DIRECT only
  std::string text;
  absl::Time sent_at;
  // DIRECT only: HolderTag of the session the sender wrote from ("" if not given), and of
  // the one the message went (or was kept) for, so either side can tell a new holder of the
  // other's name from the person they talked to.
  std::string from_holder;
  std::string to_holder;
};

using MessagePtr = std::shared_ptr<const Message>;

// A message as read from one user's queue: the shared message and its seq in that queue.
struct SequencedMessage {
  uint64_t seq = 0;
  MessagePtr message;
};

// What one read of a queue returns.
struct QueueRead {
  std::vector<SequencedMessage> messages;
  uint64_t cursor = 0;  // seq of the last message returned, else the cursor read after
  bool gap = false;     // messages after the cursor had already been dropped
  uint64_t missed = 0;  // how many (with gap)
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_MESSAGE_H_
