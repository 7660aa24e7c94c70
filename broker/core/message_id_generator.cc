#include "broker/core/message_id_generator.h"

#include <random>

#include "absl/strings/str_format.h"

namespace parley::broker {
namespace {

uint64_t RandomPrefix() {
  std::random_device device;  // the OS's entropy source: differs on every start
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

MessageIdGenerator::MessageIdGenerator() : prefix_(RandomPrefix()) {}

std::string MessageIdGenerator::Next() {
  return absl::StrFormat("%016x-%d", prefix_, counter_.fetch_add(1) + 1);
}

}  // namespace parley::broker
