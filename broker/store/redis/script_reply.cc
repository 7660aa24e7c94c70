#include "broker/store/redis/script_reply.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace parley::broker::redis {

bool ReplyNumber(const RedisReply& reply, int64_t* value) {
  if (reply.type == RedisReply::Type::kInteger) {
    *value = reply.integer;
    return true;
  }
  return reply.type == RedisReply::Type::kString && absl::SimpleAtoi(reply.str, value);
}

ScriptReply::ScriptReply(absl::string_view operation, const RedisReply& reply)
    : operation_(operation), reply_(reply) {
  if (reply.type == RedisReply::Type::kArray && !reply.elements.empty() &&
      reply.elements[0].type == RedisReply::Type::kString) {
    outcome_ = reply.elements[0].str;
  } else {
    problem_ = "an answer without an outcome";
  }
}

const RedisReply* ScriptReply::Find(absl::string_view name) {
  for (size_t i = 1; i + 1 < reply_.elements.size(); i += 2) {
    if (reply_.elements[i].str == name) return &reply_.elements[i + 1];
  }
  Bad(name, "missing");
  return nullptr;
}

void ScriptReply::Bad(absl::string_view name, absl::string_view why) {
  if (problem_.empty()) problem_ = absl::StrCat("field '", name, "' ", why);
}

int64_t ScriptReply::Int(absl::string_view name) {
  const RedisReply* field = Find(name);
  int64_t value = 0;
  if (field != nullptr && !ReplyNumber(*field, &value)) Bad(name, "is not a number");
  return value;
}

uint64_t ScriptReply::Uint(absl::string_view name) {
  const RedisReply* field = Find(name);
  if (field == nullptr) return 0;
  if (field->type == RedisReply::Type::kInteger && field->integer >= 0) {
    return static_cast<uint64_t>(field->integer);
  }
  uint64_t value = 0;
  if (field->type != RedisReply::Type::kString || !absl::SimpleAtoi(field->str, &value)) {
    Bad(name, "is not a count");
  }
  return value;
}

std::string ScriptReply::Str(absl::string_view name) {
  const RedisReply* field = Find(name);
  if (field == nullptr) return "";
  if (field->type == RedisReply::Type::kInteger) return absl::StrCat(field->integer);
  return field->str;
}

std::vector<std::string> ScriptReply::Strings(absl::string_view name) {
  std::vector<std::string> out;
  const RedisReply& array = Array(name);
  out.reserve(array.elements.size());
  for (const RedisReply& element : array.elements) out.push_back(element.str);
  return out;
}

const RedisReply& ScriptReply::Array(absl::string_view name) {
  static const RedisReply kEmpty = [] {
    RedisReply empty;
    empty.type = RedisReply::Type::kArray;
    return empty;
  }();
  const RedisReply* field = Find(name);
  if (field == nullptr) return kEmpty;
  // Lua's empty table reaches Redis as an empty array; anything else is a mistake.
  if (field->type != RedisReply::Type::kArray) {
    Bad(name, "is not an array");
    return kEmpty;
  }
  return *field;
}

absl::Status ScriptReply::status() const {
  if (problem_.empty()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("chat.lua's ", operation_, " answered '", outcome_, "' with ", problem_));
}

absl::Status ScriptReply::UnexpectedOutcome() const {
  if (!problem_.empty()) return status();
  return absl::InternalError(
      absl::StrCat("unexpected answer from chat.lua's ", operation_, ": '", outcome_, "'"));
}

}  // namespace parley::broker::redis
