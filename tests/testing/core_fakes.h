#ifndef PARLEY_TESTS_TESTING_CORE_FAKES_H_
#define PARLEY_TESTS_TESTING_CORE_FAKES_H_

#include <memory>
#include <string>

#include "broker/core/message.h"
#include "broker/core/poll_waiter.h"

namespace parley::testing {

// A stored CHAT message with only its text set.
inline broker::MessagePtr TextMessage(const std::string& text) {
  auto message = std::make_shared<broker::Message>();
  message->text = text;
  return message;
}

// A parked read that only counts how often it was woken. Single test thread.
class CountingWaiter : public broker::PollWaiter {
 public:
  void Wake(absl::Time) override { ++wakes; }
  int wakes = 0;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_CORE_FAKES_H_
