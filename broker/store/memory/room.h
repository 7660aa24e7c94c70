#ifndef PARLEY_BROKER_STORE_MEMORY_ROOM_H_
#define PARLEY_BROKER_STORE_MEMORY_ROOM_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "broker/core/message.h"
#include "broker/store/memory/room_presence.h"

namespace parley::broker {

// A chat room: its presence (members, who is online, version, mode) and its last
// `history_capacity` CHAT messages.
//
// Not thread-safe: owned by MemoryChatStore and touched only under its lock.
class Room {
 public:
  Room(std::string name, size_t history_capacity, size_t events_max_members,
       uint64_t presence_version);

  const std::string& name() const { return name_; }
  RoomPresence& presence() { return presence_; }
  const RoomPresence& presence() const { return presence_; }
  bool HasMember(absl::string_view user) const { return presence_.HasMember(user); }

  void AddToHistory(MessagePtr message);
  // The newest `limit` messages (all kept if limit is 0), oldest first.
  std::vector<MessagePtr> RecentHistory(size_t limit) const;

 private:
  const std::string name_;
  const size_t history_capacity_;
  RoomPresence presence_;
  std::deque<MessagePtr> history_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_STORE_MEMORY_ROOM_H_
