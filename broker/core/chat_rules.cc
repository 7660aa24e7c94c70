#include "broker/core/chat_rules.h"

namespace parley::broker {

bool IdlePastExpiry(absl::Time last_active, absl::Time now, const ChatOptions& options) {
  return now - last_active > options.user_idle_expiry;
}

bool HolderKeepsName(bool holder_parked, absl::Time last_active, absl::Time now,
                     const ChatOptions& options) {
  return holder_parked || !IdlePastExpiry(last_active, now, options);
}

absl::Duration PresenceNotifyInterval(size_t members, const ChatOptions& options) {
  if (members <= kPresenceWakeMembers) return options.presence_notify_interval;
  return options.presence_notify_interval * (static_cast<double>(members) / kPresenceWakeMembers);
}

bool PresenceDue(std::optional<absl::Time> published_at, size_t members, absl::Time now,
                 const ChatOptions& options) {
  return !published_at.has_value() ||
         now - *published_at >= PresenceNotifyInterval(members, options);
}

}  // namespace parley::broker
