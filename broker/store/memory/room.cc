#include "broker/store/memory/room.h"

#include <algorithm>
#include <utility>

namespace parley::broker {

Room::Room(std::string name, size_t history_capacity, size_t events_max_members,
           uint64_t presence_version)
    : name_(std::move(name)),
      history_capacity_(history_capacity),
      presence_(events_max_members, presence_version) {}

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
