// JSON request bodies into protobuf (frontend/http/http_error's ParseJson, protobuf's JSON
// mapping): never crash, fail only with INVALID_ARGUMENT, and whatever parses prints back to
// JSON that parses to the same message.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "frontend/http/http_error.h"
#include "google/protobuf/util/message_differencer.h"
#include "parley/v1/http_api.pb.h"

namespace {

template <typename Message>
void RoundTrip(const std::string& body) {
  Message message;
  const absl::Status parsed = parley::frontend::ParseJson(body, &message);
  if (!parsed.ok()) {
    if (parsed.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return;
  }
  Message again;
  if (!parley::frontend::ParseJson(parley::frontend::ToJson(message), &again).ok() ||
      !google::protobuf::util::MessageDifferencer::Equals(message, again)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  RoundTrip<parley::v1::CreateSessionRequest>(body);
  RoundTrip<parley::v1::PostMessageRequest>(body);
  return 0;
}
