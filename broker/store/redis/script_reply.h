#ifndef PARLEY_BROKER_STORE_REDIS_SCRIPT_REPLY_H_
#define PARLEY_BROKER_STORE_REDIS_SCRIPT_REPLY_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/store/redis/redis_reply.h"

namespace parley::broker::redis {

// One chat.lua answer, read by name: the script answers `answer(outcome, name, value, ...)`,
// an array of what happened and then name/value pairs. A field read that is missing (or not
// a number where one is asked for) reads as zero or empty and is noted: status() then says
// which, as INTERNAL (the script and this broker disagree), so a parser checks it once at the
// end. A view: the reply must outlive it. Not thread-safe (one reader).
class ScriptReply {
 public:
  ScriptReply(absl::string_view operation, const RedisReply& reply);

  const std::string& outcome() const { return outcome_; }
  bool Is(absl::string_view outcome) const { return outcome_ == outcome; }
  // The value `table` gives the outcome, or nullopt for one not in it (UnexpectedOutcome()).
  template <typename Enum>
  std::optional<Enum> OutcomeIn(
      std::initializer_list<std::pair<absl::string_view, Enum>> table) const {
    for (const auto& [name, value] : table) {
      if (outcome_ == name) return value;
    }
    return std::nullopt;
  }

  int64_t Int(absl::string_view name);
  uint64_t Uint(absl::string_view name);
  bool Flag(absl::string_view name) { return Int(name) != 0; }  // a 0/1 field
  std::string Str(absl::string_view name);
  std::vector<std::string> Strings(absl::string_view name);
  // A nested array (entries, nested answers); empty if missing.
  const RedisReply& Array(absl::string_view name);

  // OK, or INTERNAL naming the first field that was not as asked for.
  absl::Status status() const;
  // INTERNAL: this outcome was not one the reader knows.
  absl::Status UnexpectedOutcome() const;

 private:
  const RedisReply* Find(absl::string_view name);
  void Bad(absl::string_view name, absl::string_view why);

  const absl::string_view operation_;
  const RedisReply& reply_;
  std::string outcome_;
  std::string problem_;  // the first field read amiss
};

// A number as Redis answers it: an integer reply, or a bulk string of digits.
bool ReplyNumber(const RedisReply& reply, int64_t* value);

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_SCRIPT_REPLY_H_
