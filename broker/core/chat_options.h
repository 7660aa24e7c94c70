#ifndef PARLEY_BROKER_CORE_CHAT_OPTIONS_H_
#define PARLEY_BROKER_CORE_CHAT_OPTIONS_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace parley::broker {

inline constexpr absl::string_view kLobby = "lobby";
// Rooms larger than this publish presence less often, in proportion (the store's NotifyInterval).
inline constexpr size_t kPresenceWakeMembers = 1000;

// The limits of the chat logic; each has a broker flag.
struct ChatOptions {
  size_t queue_capacity = 1024;
  // Lines of scroll-back per room: ~10 MB for a busy room of 100-character lines (memory
  // store); the Redis store keeps them in the room's history stream.
  size_t history = 10'000;
  size_t max_text_bytes = 4096;
  size_t max_text_chars = 2000;  // code points
  absl::Duration presence_window = absl::Seconds(30);
  // Rooms up to this many members send JOIN/LEAVE lines to everyone (RoomPresence has the
  // hysteresis); larger ones only change their presence version and counts.
  size_t presence_events_max_members = 100;
  // A presence change alone ends parked polls of a room's members at most this often (in
  // rooms over kPresenceWakeMembers, at most this often × members / kPresenceWakeMembers).
  absl::Duration presence_notify_interval = absl::Seconds(5);
  absl::Duration user_idle_expiry = absl::Minutes(10);
  // How long direct messages kept for a user who is not connected wait for their session
  // (PublishInput::hold_for_session), at most queue_capacity of them.
  absl::Duration offline_dm_ttl = absl::Hours(24 * 7);
  absl::Duration idempotency_window = absl::Minutes(10);
  // How long a logged-out session id is refused by Connect (match the frontend's session
  // lifetime: a token replayed after logout must not bring the session back), and how many
  // such ids are kept at most (the oldest are forgotten first).
  absl::Duration ended_session_memory = absl::Hours(24);
  // Publishes per user: `publish_burst` at once, refilled at `publish_rate` per second.
  double publish_rate = 5;
  double publish_burst = 20;
  size_t max_ended_sessions = 1'000'000;
  // Users with direct messages kept for them at once (memory store; Redis is bounded by its
  // maxmemory): past it, keeping one for another user is refused as the store being full
  // (the sender is told, nothing kept is dropped).
  size_t max_held_users = 100'000;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CHAT_OPTIONS_H_
