#ifndef PARLEY_BENCH_LOADGEN_PROTOCOL_H_
#define PARLEY_BENCH_LOADGEN_PROTOCOL_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/loadgen/http_response_parser.h"

namespace parley::bench {

struct HttpRequest {
  std::string method = "GET";
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The bytes on the wire (HTTP/1.1, keep-alive).
  std::string Serialize(const std::string& host) const;
};

// What one subscriber (a browser tab) keeps between requests.
struct SubscriberState {
  int index = 0;
  std::string credential;  // bearer token or cookie
  std::string cursor = "0";
  std::string epoch = "0";
  std::string etag;           // nchan
  std::string last_modified;  // nchan
  std::string presence;       // parley storm: "room:version,..." the tab knows
  int gaps = 0;               // answers that said messages were missed
};

// How to talk to one system under test: the setup steps of a subscriber (log in, learn the
// cursor), its long poll, and the publisher's. Stateless apart from what it is given.
class Protocol {
 public:
  virtual ~Protocol() = default;
  virtual std::string name() const = 0;
  // Setup step `step` of a subscriber (every subscriber finishes a step before any starts the
  // next); nullopt when setup is complete.
  virtual std::optional<HttpRequest> SetupRequest(const SubscriberState& state, int step) = 0;
  virtual bool OnSetupResponse(SubscriberState& state, int step, const HttpResponse& r) = 0;
  virtual HttpRequest PollRequest(const SubscriberState& state) = 0;
  // Reads a poll answer into the message texts it carries; false if it is not a valid answer.
  virtual bool OnPollResponse(SubscriberState& state, const HttpResponse& response,
                              std::vector<std::string>* texts) = 0;
  // The publisher: its login (nullopt if none) and each publish.
  virtual std::optional<HttpRequest> PublisherLogin() = 0;
  virtual bool OnPublisherLogin(const HttpResponse& response) = 0;
  virtual HttpRequest PublishRequest(const std::string& text, int sequence) = 0;
};

// "parley-api", "parley-seed" or "nchan"; nullptr for anything else. User names start with
// `user_prefix`, so runs against one server do not collide. `pages`: parley-api subscribers
// act as the chat page does: polls carry presence versions, and setup steps 1-3 are a page's
// reconnect after a restart (session, rooms, members of the lobby) with the login's token.
// `token_secret` (parley-api): log in with app tokens signed with it instead of names.
std::unique_ptr<Protocol> MakeProtocol(const std::string& name, const std::string& user_prefix,
                                       bool pages = false, const std::string& token_secret = "");

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_PROTOCOL_H_
