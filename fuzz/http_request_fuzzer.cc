// Raw HTTP requests, as bytes off a connection, through everything the frontend uses to read
// them: the event-loop server's request parser (request line, headers, query and form
// decoding, bodies, every limit), then the helpers the routes parse with (session token,
// Origin, numeric query parameters, names, JSON bodies). Nothing may crash, and every
// request either completes or is refused with the status the server answers with.
// (http_parser_fuzzer feeds the parser in pieces; this one feeds whole connections.)

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/time/time.h"
#include "broker/core/validation.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/net/http_request_parser.h"
#include "frontend/session/session_tokens.h"
#include "parley/v1/http_api.pb.h"

namespace {

// What the frontend's checks and routes read of a request, as they read it.
void ReadLikeTheRoutes(const httplib::Request& request) {
  static const parley::frontend::SessionTokens tokens("fuzzing-secret-0123456789", absl::Hours(1));
  (void)parley::frontend::IsStateChanging(request);
  (void)parley::frontend::IsSameOriginOrUnstated(request);
  (void)tokens.Verify(parley::frontend::SessionTokenOf(request), absl::UnixEpoch());
  for (const char* name : {"cursor", "epoch", "wait", "max"}) {
    (void)parley::frontend::QueryNumber(request, name, 0, 1000);
  }
  (void)parley::frontend::QueryFlag(request, "online", false);
  if (request.has_param("presence")) {
    (void)parley::frontend::ParsePresenceVersions(request.get_param_value("presence"));
  }
  (void)parley::broker::ValidateName("name", request.get_param_value("name"));
  parley::v1::PostMessageRequest body;
  if (parley::frontend::ParseJson(request.body, &body).ok()) {
    (void)parley::broker::ValidateText(body.text(), 4096, 2000);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using parley::frontend::HttpRequestParser;
  if (size > 64 * 1024) return 0;
  parley::frontend::RequestLimits limits;
  limits.max_header_bytes = 4096;  // small, so the fuzzer reaches the caps
  limits.max_request_line = 1024;
  limits.max_headers = 20;
  HttpRequestParser parser(limits);
  std::string input(reinterpret_cast<const char*>(data), size);
  constexpr int kRequestsPerConnection = 8;
  for (int i = 0; i < kRequestsPerConnection; ++i) {
    HttpRequestParser::Status status = parser.Feed(input);
    if (status == HttpRequestParser::Status::kHeadComplete) status = parser.Feed(input);
    if (status != HttpRequestParser::Status::kComplete) break;  // needs more, or refused
    ReadLikeTheRoutes(parser.request());
    if (!parser.keep_alive()) break;
    parser.Reset();
  }
  return 0;
}
