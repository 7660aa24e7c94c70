#include "bench/loadgen/protocol.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley::bench {
namespace {

// An app's HS256 token for `user`, valid for an hour, as an app's backend signs it
// (docs/embedding.md).
std::string AppToken(const std::string& secret, const std::string& user) {
  const int64_t now = std::time(nullptr);
  const std::string signed_part = absl::StrCat(
      absl::WebSafeBase64Escape(R"({"alg":"HS256","typ":"JWT"})"), ".",
      absl::WebSafeBase64Escape(absl::StrCat(R"({"sub":")", user, R"(","iat":)", now,
                                             R"(,"exp":)", now + 3600, "}")));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
       &length);
  return absl::StrCat(signed_part, ".",
                      absl::WebSafeBase64Escape(absl::string_view(
                          reinterpret_cast<const char*>(mac), length)));
}

// The string value of "key":"..." in flat JSON at or after `from` (our texts need no
// escapes); nullopt if absent. Advances *from past it.
std::optional<std::string> JsonString(const std::string& json, const std::string& key,
                                      size_t* from) {
  const std::string needle = absl::StrCat("\"", key, "\":\"");
  const size_t at = json.find(needle, *from);
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + needle.size();
  const size_t end = json.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  *from = end + 1;
  return json.substr(start, end - start);
}

std::optional<std::string> JsonString(const std::string& json, const std::string& key) {
  size_t from = 0;
  return JsonString(json, key, &from);
}

std::string CookieOf(const HttpResponse& response) {
  const std::string set_cookie = response.Header("set-cookie");
  return set_cookie.substr(0, set_cookie.find(';'));
}

// Parley's JSON API: POST /api/session (token, epoch and cursor: each subscriber polls from its
// login cursor), GET /api/poll, POST /api/messages.
class ParleyApi final : public Protocol {
 public:
  // Subscribers are in the lobby only: its version is the one the tab knows.
  static void TakeLobbyPresence(const std::string& body, SubscriberState& state) {
    size_t at = body.find("\"room\":\"lobby\"");
    if (at == std::string::npos) return;
    if (auto version = JsonString(body, "version", &at)) {
      state.presence = absl::StrCat("lobby:", *version);
    }
  }

  // `token_secret`: log in with an app's token signed with it, not a name ("": names).
  ParleyApi(std::string prefix, bool pages, std::string token_secret)
      : prefix_(std::move(prefix)), pages_(pages), token_secret_(std::move(token_secret)) {}
  std::string name() const override { return "parley-api"; }

  std::optional<HttpRequest> SetupRequest(const SubscriberState& state, int step) override {
    if (step == 0) {
      const std::string user = absl::StrCat(prefix_, state.index);
      return HttpRequest{"POST",
                         "/api/session",
                         {{"Content-Type", "application/json"}},
                         token_secret_.empty()
                             ? absl::StrCat(R"({"name":")", user, R"("})")
                             : absl::StrCat(R"({"token":")", AppToken(token_secret_, user),
                                            R"("})")};
    }
    if (!pages_) return std::nullopt;
    if (step == 1) return HttpRequest{"GET", "/api/session", Bearer(state.credential), ""};
    if (step == 2) return HttpRequest{"GET", "/api/rooms", Bearer(state.credential), ""};
    if (step == 3) {
      return HttpRequest{"GET", "/api/rooms/lobby/members?online=true&limit=50",
                         Bearer(state.credential), ""};
    }
    return std::nullopt;
  }
  bool OnSetupResponse(SubscriberState& state, int step, const HttpResponse& r) override {
    if (r.status != 200) return false;
    // The reconnect's answers are checked, not taken: the poll keeps its own cursor.
    if (step == 1) return absl::StrContains(r.body, "\"epoch\"");
    if (step >= 2) return absl::StrContains(r.body, "\"presence\"");
    if (step == 0) {
      auto token = JsonString(r.body, "token");
      if (!token) return false;
      state.credential = *token;
    }
    auto epoch = JsonString(r.body, "epoch");
    auto cursor = JsonString(r.body, "cursor");
    if (!epoch || !cursor) return false;
    state.epoch = *epoch;
    state.cursor = *cursor;
    TakeLobbyPresence(r.body, state);  // the login answer has it: the first poll can park
    return true;
  }
  HttpRequest PollRequest(const SubscriberState& state) override {
    return HttpRequest{
        "GET",
        absl::StrCat("/api/poll?wait=25&max=100&cursor=", state.cursor, "&epoch=", state.epoch,
                     pages_ ? absl::StrCat("&presence=", state.presence) : ""),
        Bearer(state.credential), ""};
  }
  bool OnPollResponse(SubscriberState& state, const HttpResponse& r,
                      std::vector<std::string>* texts) override {
    if (r.status != 200) return false;
    size_t from = 0;
    while (auto text = JsonString(r.body, "text", &from)) {
      if (!text->empty()) texts->push_back(*text);
    }
    const size_t tail = r.body.rfind("\"cursor\":");
    size_t tail_from = tail == std::string::npos ? 0 : tail;
    auto cursor = JsonString(r.body, "cursor", &tail_from);
    auto epoch = JsonString(r.body, "epoch");
    if (!cursor || !epoch) return false;
    state.cursor = *cursor;
    state.epoch = *epoch;
    if (absl::StrContains(r.body, "\"gap\":true")) ++state.gaps;
    TakeLobbyPresence(r.body, state);
    return true;
  }
  std::optional<HttpRequest> PublisherLogin() override {
    return HttpRequest{"POST",
                       "/api/session",
                       {{"Content-Type", "application/json"}},
                       absl::StrCat(R"({"name":")", prefix_, R"(pub"})")};
  }
  bool OnPublisherLogin(const HttpResponse& r) override {
    auto token = JsonString(r.body, "token");
    if (r.status != 200 || !token) return false;
    publisher_token_ = *token;
    return true;
  }
  HttpRequest PublishRequest(const std::string& text, int sequence) override {
    auto headers = Bearer(publisher_token_);
    headers.emplace_back("Content-Type", "application/json");
    return HttpRequest{
        "POST", "/api/messages", headers,
        absl::StrCat(R"({"room":"lobby","text":")", text, R"(","clientId":"p)", sequence, R"("})")};
  }

 private:
  static std::vector<std::pair<std::string, std::string>> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  const std::string prefix_;
  const bool pages_;
  const std::string token_secret_;
  std::string publisher_token_;
};

// The tutorial's routes: POST /login, GET /get_post/<user>, POST /put_post/<user>.
class ParleySeed final : public Protocol {
 public:
  explicit ParleySeed(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string name() const override { return "parley-seed"; }

  std::optional<HttpRequest> SetupRequest(const SubscriberState& state, int step) override {
    if (step > 0) return std::nullopt;
    return HttpRequest{"POST",
                       "/login",
                       {{"Content-Type", "application/x-www-form-urlencoded"}},
                       absl::StrCat("name=", prefix_, state.index)};
  }
  bool OnSetupResponse(SubscriberState& state, int, const HttpResponse& r) override {
    state.credential = CookieOf(r);
    return r.status == 303 && !state.credential.empty();
  }
  HttpRequest PollRequest(const SubscriberState& state) override {
    return HttpRequest{"GET",
                       absl::StrCat("/get_post/", prefix_, state.index),
                       {{"Cookie", state.credential}},
                       ""};
  }
  bool OnPollResponse(SubscriberState&, const HttpResponse& r,
                      std::vector<std::string>* texts) override {
    if (r.status != 200 || r.body.size() < 2) return false;
    if (r.body.size() > 2) texts->push_back(r.body.substr(1, r.body.size() - 2));
    return true;
  }
  std::optional<HttpRequest> PublisherLogin() override {
    return HttpRequest{"POST",
                       "/login",
                       {{"Content-Type", "application/x-www-form-urlencoded"}},
                       absl::StrCat("name=", prefix_, "pub")};
  }
  bool OnPublisherLogin(const HttpResponse& r) override {
    cookie_ = CookieOf(r);
    return r.status == 303 && !cookie_.empty();
  }
  HttpRequest PublishRequest(const std::string& text, int) override {
    return HttpRequest{"POST",
                       absl::StrCat("/put_post/", prefix_, "pub"),
                       {{"Cookie", cookie_}, {"Content-Type", "application/x-www-form-urlencoded"}},
                       absl::StrCat("message=", text)};
  }

 private:
  const std::string prefix_;
  std::string cookie_;
};

// Nchan: long-poll GET /sub with the If-Modified-Since / If-None-Match cursor, POST /pub.
class Nchan final : public Protocol {
 public:
  std::string name() const override { return "nchan"; }

  std::optional<HttpRequest> SetupRequest(const SubscriberState&, int) override {
    return std::nullopt;
  }
  bool OnSetupResponse(SubscriberState&, int, const HttpResponse&) override { return true; }
  HttpRequest PollRequest(const SubscriberState& state) override {
    HttpRequest request{"GET", "/sub", {}, ""};
    if (!state.last_modified.empty()) {
      request.headers = {{"If-Modified-Since", state.last_modified}, {"If-None-Match", state.etag}};
    }
    return request;
  }
  bool OnPollResponse(SubscriberState& state, const HttpResponse& r,
                      std::vector<std::string>* texts) override {
    if (r.status == 304 || r.status == 408) return true;  // nothing new (timeout)
    if (r.status != 200) return false;
    state.last_modified = r.Header("last-modified");
    state.etag = r.Header("etag");
    texts->push_back(r.body);
    return true;
  }
  std::optional<HttpRequest> PublisherLogin() override { return std::nullopt; }
  bool OnPublisherLogin(const HttpResponse&) override { return true; }
  HttpRequest PublishRequest(const std::string& text, int) override {
    return HttpRequest{"POST", "/pub", {{"Content-Type", "text/plain"}}, text};
  }
};

}  // namespace

std::string HttpRequest::Serialize(const std::string& host) const {
  std::string out = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: ", host, "\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  if (!body.empty() || method == "POST") {
    absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&out, "\r\n", body);
  return out;
}

std::unique_ptr<Protocol> MakeProtocol(const std::string& name, const std::string& user_prefix,
                                       bool pages, const std::string& token_secret) {
  if (name == "parley-api") {
    return std::make_unique<ParleyApi>(user_prefix, pages, token_secret);
  }
  if (name == "parley-seed") return std::make_unique<ParleySeed>(user_prefix);
  if (name == "nchan") return std::make_unique<Nchan>();
  return nullptr;
}

}  // namespace parley::bench
