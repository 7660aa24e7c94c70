#ifndef PARLEY_BROKER_STORE_REDIS_STORED_MESSAGE_H_
#define PARLEY_BROKER_STORE_REDIS_STORED_MESSAGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/core/message.h"
#include "broker/store/redis/redis_reply.h"

namespace parley::broker::redis {

// How a Message is kept in Redis (chat.lua): 7 values in the order kind, id, room, from, to,
// text, sent_at (microseconds since the epoch), passed to scripts as 7 arguments and stored
// packed in one field `m` of a stream entry or hash ("<length>:<bytes>" each). A direct
// message has no room: that slot holds "<from_holder>" or "<from_holder>><to_holder>" (only
// user_append, which adds the second part, reads it). Pure; any thread.
std::vector<std::string> MessageValues(const Message& message);
// The message from a reply holding field/value pairs (a stream entry's, or HGETALL's) with
// the packed field `m`; other fields are ignored.
absl::StatusOr<MessagePtr> MessageFromPairs(const RedisReply& pairs);
// One message as packed in `m`.
absl::StatusOr<MessagePtr> MessageFromPacked(absl::string_view packed);
// Packed messages each as "<length>:<packed>", one after another (a room notification's lines).
absl::StatusOr<std::vector<MessagePtr>> MessagesFromPackedList(absl::string_view list);

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_STORED_MESSAGE_H_
