#include "broker/store/memory/room.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace parley::broker {

Room::Room(std::string name, size_t history_capacity, size_t events_max_members,
           uint64_t presence_version)
    : name_(std::move(name)),
      history_capacity_(history_capacity),
      presence_(events_max_members, presence_version) {}

void Room::AddToHistory(MessagePtr message) {
  if (history_capacity_ == 0) return;
  history_.push_back(std::move(message));
  if (history_.size() > history_capacity_) {
    history_.pop_front();
    ++history_dropped_;
  }
}

HistoryPage Room::HistoryBefore(size_t limit, std::optional<uint64_t> before) const {
  const uint64_t newest_end = history_dropped_ + history_.size();
  const uint64_t end =
      std::max(history_dropped_, std::min(before.value_or(newest_end), newest_end));
  const uint64_t begin =
      limit == 0 || end - history_dropped_ <= limit ? history_dropped_ : end - limit;
  HistoryPage page;
  page.messages.assign(history_.begin() + static_cast<std::ptrdiff_t>(begin - history_dropped_),
                       history_.begin() + static_cast<std::ptrdiff_t>(end - history_dropped_));
  if (begin > history_dropped_) page.older = absl::StrCat(begin);
  return page;
}

}  // namespace parley::broker
