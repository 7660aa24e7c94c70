#include "broker/store/redis/redis_reply.h"

#include <hiredis/hiredis.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/core/chat_errors.h"

namespace parley::broker::redis {

RedisReply RedisReply::From(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = reply.type == REDIS_REPLY_STRING   ? Type::kString
                 : reply.type == REDIS_REPLY_STATUS ? Type::kStatus
                                                    : Type::kError;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::kArray;
      out.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) out.elements.push_back(From(*reply.element[i]));
      break;
    default:
      out.type = Type::kNil;
  }
  return out;
}

absl::Status RedisErrorStatus(absl::string_view error) {
  const size_t space = error.find(' ');
  const absl::string_view word = error.substr(0, space);
  const absl::string_view rest =
      space == absl::string_view::npos ? absl::string_view() : error.substr(space + 1);
  if (word == "OOM") {
    return StoreFull(absl::StrCat("Redis maxmemory, noeviction: ", error));
  }
  if (word == "LOADING" || word == "BUSY" || word == "MASTERDOWN" || word == "READONLY" ||
      word == "NOAUTH" || word == "WRONGPASS") {
    return absl::UnavailableError(absl::StrCat("Redis cannot serve now: ", error));
  }
  static constexpr std::pair<absl::string_view, absl::StatusCode> kScriptCodes[] = {
      {"INVALID_ARGUMENT", absl::StatusCode::kInvalidArgument},
      {"NOT_FOUND", absl::StatusCode::kNotFound},
      {"ALREADY_EXISTS", absl::StatusCode::kAlreadyExists},
      {"PERMISSION_DENIED", absl::StatusCode::kPermissionDenied},
      {"FAILED_PRECONDITION", absl::StatusCode::kFailedPrecondition},
      {"RESOURCE_EXHAUSTED", absl::StatusCode::kResourceExhausted},
      {"OUT_OF_RANGE", absl::StatusCode::kOutOfRange},
      {"ABORTED", absl::StatusCode::kAborted},
  };
  for (const auto& [name, code] : kScriptCodes) {
    if (word == name) return absl::Status(code, rest);
  }
  return absl::InternalError(absl::StrCat("Redis: ", error));
}

}  // namespace parley::broker::redis
