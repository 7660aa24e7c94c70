#ifndef PARLEY_BROKER_STORE_MEMORY_ROOM_H_
#define PARLEY_BROKER_STORE_MEMORY_ROOM_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "broker/core/chat_store.h"
#include "broker/core/message.h"
#include "broker/store/memory/room_presence.h"

namespace parley::broker {

// A chat room: its presence (members, who is online, version, mode), its last
// `history_capacity` CHAT messages, and, for a room made by the server API, whether it is
// private and who may enter it (its access list).
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

  // Made by the server API (CreateRoom): kept when empty; `is_private`: only the access list
  // may enter or read it.
  void MakeKept(bool is_private) {
    kept_ = true;
    private_ = is_private;
  }
  bool kept() const { return kept_; }
  bool is_private() const { return private_; }
  // Whether `user` may enter and read: anyone, for a public room.
  bool Admits(absl::string_view user) const { return !private_ || access_.contains(user); }
  // The access list (users the server API added or whose token named the room).
  const absl::flat_hash_set<std::string>& access() const { return access_; }
  void Allow(absl::string_view user) { access_.emplace(user); }
  void Disallow(absl::string_view user) { access_.erase(user); }

  void AddToHistory(MessagePtr message);
  // Up to `limit` messages (all kept if 0) just before position `before` (every line ever kept
  // has one, counting from 0; nullopt: the newest), oldest first; `older` is the position of
  // the first one returned, empty if no kept line is older.
  HistoryPage HistoryBefore(size_t limit, std::optional<uint64_t> before) const;

 private:
  const std::string name_;
  const size_t history_capacity_;
  RoomPresence presence_;
  std::deque<MessagePtr> history_;
  uint64_t history_dropped_ = 0;  // lines pushed out of history_: history_[i] is at this + i
  bool kept_ = false;
  bool private_ = false;
  absl::flat_hash_set<std::string> access_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_STORE_MEMORY_ROOM_H_
