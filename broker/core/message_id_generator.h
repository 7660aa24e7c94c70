#ifndef PARLEY_BROKER_CORE_MESSAGE_ID_GENERATOR_H_
#define PARLEY_BROKER_CORE_MESSAGE_ID_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <string>

namespace parley::broker {

// Makes message ids that are unique across broker restarts: a random 64-bit prefix chosen
// per generator (per broker process) followed by a counter, e.g. "3f9c0a1b2c3d4e5f-17".
// Thread-safe.
class MessageIdGenerator {
 public:
  MessageIdGenerator();
  explicit MessageIdGenerator(uint64_t prefix) : prefix_(prefix) {}

  std::string Next();

 private:
  const uint64_t prefix_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_CORE_MESSAGE_ID_GENERATOR_H_
