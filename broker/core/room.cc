#include "broker/core/room.h"

#include <algorithm>
#include <utility>

namespace parley::broker {

Room::Room(std::string name, size_t history_capacity)
    : name_(std::move(name)), history_capacity_(history_capacity) {}

bool Room::AddMember(absl::string_view user) { return members_.emplace(user).second; }

bool Room::RemoveMember(absl::string_view user) { return members_.erase(user) > 0; }

void Room::AddToHistory(MessagePtr message) {
  if (history_capacity_ == 0) return;
  history_.push_back(std::move(message));
  if (history_.size() > history_capacity_) history_.pop_front();
}

std::vector<MessagePtr> Room::RecentHistory(size_t limit) const {
  const size_t count = limit == 0 ? history_.size() : std::min(limit, history_.size());
  return std::vector<MessagePtr>(history_.end() - static_cast<std::ptrdiff_t>(count),
                                 history_.end());
}

}  // namespace parley::broker
