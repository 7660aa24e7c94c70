#ifndef PARLEY_TESTS_TESTING_FROM_JSON_H_
#define PARLEY_TESTS_TESTING_FROM_JSON_H_

#include <gtest/gtest.h>

#include <string>

#include "google/protobuf/util/json_util.h"

namespace parley::testing {

// Parses a JSON body into a message of type M (protobuf's JSON mapping, unknown fields
// refused); fails the test if it does not parse.
template <typename M>
M FromJson(const std::string& body) {
  M message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &message, options).ok()) << body;
  return message;
}

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_FROM_JSON_H_
