#include "broker/store/redis/stored_message.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace parley::broker::redis {
namespace {

absl::StatusOr<MessagePtr> Build(const std::string values[7]) {
  int kind = 0;
  int64_t sent_at = 0;
  if (!absl::SimpleAtoi(values[0], &kind) || kind < 0 ||
      kind > static_cast<int>(MessageKind::kSystem) || !absl::SimpleAtoi(values[6], &sent_at)) {
    return absl::InternalError(absl::StrCat("a stored message is malformed (kind '", values[0],
                                            "', sent_at '", values[6], "')"));
  }
  auto message = std::make_shared<Message>();
  message->kind = static_cast<MessageKind>(kind);
  message->id = values[1];
  // A direct message has no room: its slot carries "<from_holder>[><to_holder>]"
  // (MessageValues; chat.lua's user_append adds the second part).
  if (message->kind == MessageKind::kDirect) {
    const size_t split = values[2].find('>');
    message->from_holder = values[2].substr(0, split);
    if (split != std::string::npos) message->to_holder = values[2].substr(split + 1);
  } else {
    message->room = values[2];
  }
  message->from = values[3];
  message->to = values[4];
  message->text = values[5];
  message->sent_at = absl::FromUnixMicros(sent_at);
  return message;
}

// The value at the front of `in` ("<length>:<bytes>"), taken off it; nullopt if malformed.
std::optional<absl::string_view> TakeLengthPrefixed(absl::string_view& in) {
  const size_t colon = in.find(':');
  size_t length = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(in.substr(0, colon), &length) ||
      length > in.size() - colon - 1) {
    return std::nullopt;
  }
  absl::string_view value = in.substr(colon + 1, length);
  in.remove_prefix(colon + 1 + length);
  return value;
}

}  // namespace

std::vector<std::string> MessageValues(const Message& message) {
  return {absl::StrCat(static_cast<int>(message.kind)),
          message.id,
          message.kind != MessageKind::kDirect ? message.room
          : message.to_holder.empty()          ? message.from_holder
                                      : absl::StrCat(message.from_holder, ">", message.to_holder),
          message.from,
          message.to,
          message.text,
          absl::StrCat(absl::ToUnixMicros(message.sent_at))};
}

absl::StatusOr<MessagePtr> MessageFromPacked(absl::string_view packed) {
  // Seven values, each "<length>:<bytes>" (chat.lua's message_pairs).
  std::string values[7];
  for (std::string& value : values) {
    std::optional<absl::string_view> taken = TakeLengthPrefixed(packed);
    if (!taken) return absl::InternalError("a stored message is malformed (its packed values)");
    value = std::string(*taken);
  }
  if (!packed.empty()) return absl::InternalError("a stored message has more than 7 values");
  return Build(values);
}

absl::StatusOr<MessagePtr> MessageFromPairs(const RedisReply& pairs) {
  for (size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
    if (pairs.elements[i].str == "m") return MessageFromPacked(pairs.elements[i + 1].str);
  }
  return absl::InternalError("a stored message lacks its field 'm'");
}

absl::StatusOr<std::vector<MessagePtr>> MessagesFromPackedList(absl::string_view list) {
  std::vector<MessagePtr> messages;
  while (!list.empty()) {
    std::optional<absl::string_view> packed = TakeLengthPrefixed(list);
    if (!packed) return absl::InternalError("a list of stored messages is malformed");
    absl::StatusOr<MessagePtr> message = MessageFromPacked(*packed);
    if (!message.ok()) return message.status();
    messages.push_back(*std::move(message));
  }
  return messages;
}

}  // namespace parley::broker::redis
