#include "broker/store/redis/stored_message.h"

#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace parley::broker::redis {
namespace {

constexpr char kFields[] = "kirftxa";

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
  message->room = values[2];
  message->from = values[3];
  message->to = values[4];
  message->text = values[5];
  message->sent_at = absl::FromUnixMicros(sent_at);
  return message;
}

}  // namespace

std::vector<std::string> MessageValues(const Message& message) {
  return {absl::StrCat(static_cast<int>(message.kind)),
          message.id,
          message.room,
          message.from,
          message.to,
          message.text,
          absl::StrCat(absl::ToUnixMicros(message.sent_at))};
}

absl::StatusOr<MessagePtr> MessageFromValues(const std::vector<std::string>& values) {
  if (values.size() != 7) {
    return absl::InternalError(
        absl::StrCat("a stored message has ", values.size(), " values, not 7"));
  }
  return Build(values.data());
}

absl::StatusOr<MessagePtr> MessageFromPairs(const RedisReply& pairs) {
  std::string values[7];
  bool seen[7] = {};
  for (size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
    const std::string& field = pairs.elements[i].str;
    if (field.size() != 1) continue;
    for (int j = 0; j < 7; ++j) {
      if (field[0] == kFields[j]) {
        values[j] = pairs.elements[i + 1].str;
        seen[j] = true;
      }
    }
  }
  for (bool s : seen) {
    if (!s) return absl::InternalError("a stored message lacks a field");
  }
  return Build(values);
}

}  // namespace parley::broker::redis
