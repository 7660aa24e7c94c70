#ifndef PARLEY_BROKER_CORE_CHAT_RULES_H_
#define PARLEY_BROKER_CORE_CHAT_RULES_H_

#include <cstddef>
#include <optional>

#include "absl/time/time.h"
#include "broker/core/chat_options.h"

namespace parley::broker {

// The chat rules that need no atomicity with a store's state, decided here once for every
// store from the facts the store has (the in-memory store from its objects, the Redis store
// from what a script answered). Pure; any thread.

// Whether a user last active at `last_active` has been idle past --user_idle_expiry: the sweep
// removes it, and another session may take its name.
bool IdlePastExpiry(absl::Time last_active, absl::Time now, const ChatOptions& options);

// Whether a name's holder keeps it against a Connect with another session: while it is not
// idle past expiry, or has a poll parked on the deciding broker (a poll keeps a user active
// without touching the store until the next sweep).
bool HolderKeepsName(bool holder_parked, absl::Time last_active, absl::Time now,
                     const ChatOptions& options);

// How long a room waits between presence publishes: --presence_notify_interval, longer in
// rooms over kPresenceWakeMembers, in proportion. Each publish may end one parked poll per
// member, so a room's presence never ends more than kPresenceWakeMembers / interval polls a
// second (200 by default), however large it is.
absl::Duration PresenceNotifyInterval(size_t members, const ChatOptions& options);

// Whether a room whose presence changed, last published at `published_at` (nullopt: never),
// publishes now.
bool PresenceDue(std::optional<absl::Time> published_at, size_t members, absl::Time now,
                 const ChatOptions& options);

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_CHAT_RULES_H_
