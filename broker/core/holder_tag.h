#ifndef PARLEY_BROKER_CORE_HOLDER_TAG_H_
#define PARLEY_BROKER_CORE_HOLDER_TAG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace parley::broker {

// Who holds a name, without saying the session: the first 16 hex digits of the SHA-1 of the
// session the user connected with. A name taken by someone else (a new session) has another
// tag, so a client can tell the person changed (Message.from_holder, PublishRequest.to_holder).
// chat.lua computes the same (redis.sha1hex). Pure; any thread.
std::string HolderTag(absl::string_view session);

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_HOLDER_TAG_H_
