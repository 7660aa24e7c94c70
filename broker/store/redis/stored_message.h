#ifndef PARLEY_BROKER_STORE_REDIS_STORED_MESSAGE_H_
#define PARLEY_BROKER_STORE_REDIS_STORED_MESSAGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/core/message.h"
#include "broker/store/redis/redis_reply.h"

namespace parley::broker::redis {

// How a Message is kept in Redis (chat.lua): 7 values in the order kind, id, room, from, to,
// text, sent_at (microseconds since the epoch), stored as the fields k, i, r, f, t, x, a of a
// stream entry or hash. Pure; any thread.
std::vector<std::string> MessageValues(const Message& message);
// The message from its 7 values, in order.
absl::StatusOr<MessagePtr> MessageFromValues(const std::vector<std::string>& values);
// The message from a reply holding field/value pairs (a stream entry's, or HGETALL's), in
// any order; other fields are ignored.
absl::StatusOr<MessagePtr> MessageFromPairs(const RedisReply& pairs);

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_STORED_MESSAGE_H_
