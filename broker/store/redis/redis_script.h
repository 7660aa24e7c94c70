#ifndef PARLEY_BROKER_STORE_REDIS_REDIS_SCRIPT_H_
#define PARLEY_BROKER_STORE_REDIS_REDIS_SCRIPT_H_

#include <string>

namespace parley::broker::redis {

// A Lua script with its SHA-1, as EVALSHA names it. Immutable; any thread.
class RedisScript {
 public:
  explicit RedisScript(std::string source);

  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }  // lowercase hex

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace parley::broker::redis

#endif  // PARLEY_BROKER_STORE_REDIS_REDIS_SCRIPT_H_
