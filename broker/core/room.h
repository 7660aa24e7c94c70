#ifndef PARLEY_BROKER_CORE_ROOM_H_
#define PARLEY_BROKER_CORE_ROOM_H_

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/strings/string_view.h"
#include "broker/core/message.h"

namespace parley::broker {

// A chat room: its members (sorted by name) and its last `history_capacity` CHAT messages.
//
// Not thread-safe: owned by ChatState and touched only under its lock.
class Room {
 public:
  Room(std::string name, size_t history_capacity);

  const std::string& name() const { return name_; }
  const absl::btree_set<std::string>& members() const { return members_; }
  bool HasMember(absl::string_view user) const { return members_.contains(user); }
  // Each returns false when there was nothing to do (already a member / not a member).
  bool AddMember(absl::string_view user);
  bool RemoveMember(absl::string_view user);

  void AddToHistory(MessagePtr message);
  // The newest `limit` messages (all kept if limit is 0), oldest first.
  std::vector<MessagePtr> RecentHistory(size_t limit) const;

 private:
  const std::string name_;
  const size_t history_capacity_;
  absl::btree_set<std::string> members_;
  std::deque<MessagePtr> history_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_ROOM_H_
