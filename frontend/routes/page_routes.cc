#include "frontend/routes/page_routes.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"
#include "frontend/routes/route_helpers.h"

namespace parley::frontend {
namespace {

std::string EscapeHtml(absl::string_view text) {
  return absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"}});
}

void Redirect(const ExchangePtr& exchange, const std::string& location, int status,
              httplib::Response response = {}) {
  response.status = status;
  response.set_header("Location", location);
  exchange->Respond(std::move(response));
}

std::string ChatroomPath(absl::string_view user) { return absl::StrCat("/chatroom/", user, "/"); }

// Serves an asset: cached with ETag and If-None-Match when embedded and `cacheable`; else
// (from --web_root, or a page that must never be cached) with no-store.
void ServeAsset(const RouteContext& context, const std::string& name, const ExchangePtr& exchange,
                bool cacheable = true) {
  absl::StatusOr<WebAsset> asset = context.assets->Find(name);
  if (!asset.ok()) {
    RespondError(exchange, FromStatus(asset.status()));
    return;
  }
  httplib::Response response;
  if (!cacheable || asset->etag.empty()) {
    response.set_header("Cache-Control", "no-store");
  } else {
    response.set_header("ETag", asset->etag);
    response.set_header("Cache-Control", "no-cache");
    if (exchange->request().get_header_value("If-None-Match") == asset->etag) {
      response.status = 304;
      exchange->Respond(std::move(response));
      return;
    }
  }
  response.set_content(asset->body, asset->content_type.c_str());
  exchange->Respond(std::move(response));
}

// The text between "<!--name-->" and "<!--/name-->" in `page` replaced by `text`.
std::string ReplaceSection(std::string page, absl::string_view name, absl::string_view text) {
  const std::string open = absl::StrCat("<!--", name, "-->");
  const std::string close = absl::StrCat("<!--/", name, "-->");
  const size_t begin = page.find(open);
  const size_t end = page.find(close);
  if (begin == std::string::npos || end == std::string::npos || end < begin) return page;
  page.replace(begin, end + close.size() - begin, text.data(), text.size());
  return page;
}

// The login page with `error`, and the name the person typed back in its box (a refused name
// is theirs to correct, not to type again). Under --auth=tokens it has no name form: it says
// where people sign in.
void LoginPage(const RouteContext& context, const ExchangePtr& exchange, int status,
               absl::string_view error, httplib::Response response = {},
               absl::string_view typed_name = "") {
  absl::StatusOr<WebAsset> page = context.assets->Find("login.html");
  if (!page.ok()) {
    RespondError(exchange, FromStatus(page.status()));
    return;
  }
  std::string body = absl::StrReplaceAll(page->body, {{"<!--error-->", EscapeHtml(error)}});
  if (!typed_name.empty()) {
    // At most a name's length and then some: the box shows what was typed, not a whole body.
    body = absl::StrReplaceAll(
        body, {
      {R"(name="name")",
                absl::StrCat(R"(name="name" value=")", EscapeHtml(typed_name.substr(0, 64)), "\"")}});
      }
      if (context.options->auth == AuthMode::kTokens) {
        body = ReplaceSection(std::move(body), "form", "");
        body = ReplaceSection(std::move(body), "lead",
                              "This chat signs you in through the app it belongs to.");
      }
      response.status = status;
      response.set_header("Cache-Control", "no-store");
      response.set_content(body, page->content_type.c_str());
      exchange->Respond(std::move(response));
}

void Root(const RouteContext& context, const ExchangePtr& exchange) {
      absl::StatusOr<Session> session = context.sessions->Authenticate(exchange->request());
      Redirect(exchange, session.ok() ? ChatroomPath(session->user) : "/login", 302);
}

// Whether the login limiter admits the request; answers 429 when it does not.
bool AdmitLogin(const RouteContext& context, const ExchangePtr& exchange) {
      if (absl::Status admitted = context.login_limiter->Admit(
              ClientAddress(exchange->request(), context.options->trust_forwarded_for),
              absl::Now());
          !admitted.ok()) {
        httplib::Response response;
        response.set_header("Retry-After", std::to_string(context.login_limiter->retry_seconds()));
        LoginPage(context, exchange, 429, "Too many logins from your address. Wait a moment.",
                  std::move(response));
        return false;
      }
      return true;
}

// GET /login?token=...: the app sends its user here with a token. The session cookie is set
// on a page that then opens the chat itself: a redirect would keep the navigation cross-site
// (it began on the app's site), and the browser would not send the SameSite=Strict cookie.
void TokenLogin(const RouteContext& context, const ExchangePtr& exchange) {
      if (!AdmitLogin(context, exchange)) return;
      context.sessions->LogInWithToken(
          exchange->request().get_param_value("token"),
          [&context, exchange](absl::StatusOr<Login> login) {
            if (login.ok()) {
              const std::string path = ChatroomPath(login->session.user);
              httplib::Response response;
              response.set_header(
                  "Set-Cookie",
                  SessionCookie(login->token, login->session.expires_at - absl::Now()));
              response.set_header("Cache-Control", "no-store");
              response.set_content(
                  absl::StrCat(
                      "<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" "
                      "content=\"0;url=",
                      path, "\"><title>Parley</title><p><a href=\"", path,
                      "\">Open the chat</a></p>"),
                  "text/html; charset=utf-8");
              exchange->Respond(std::move(response));
              return;
            }
            const HttpError error = FromStatus(login.status());
            if (error.status == 401 && !context.options->login_url.empty()) {
              const std::string& url = context.options->login_url;
              Redirect(
                  exchange,
                  absl::StrCat(url, absl::StrContains(url, '?') ? "&" : "?", "error=", error.code),
                  302);
              return;
            }
            LoginPage(context, exchange, error.status,
                      error.status == 401
                          ? absl::StrCat("Your sign-in link was refused (", error.code,
                                         "). Sign in again through the app.")
                          : absl::StrCat("Signing in failed: ", error.message));
          });
}

void GetLogin(const RouteContext& context, const ExchangePtr& exchange) {
      if (exchange->request().has_param("token")) {
        TokenLogin(context, exchange);
        return;
      }
      absl::StatusOr<Session> session = context.sessions->Authenticate(exchange->request());
      if (session.ok()) {
        Redirect(exchange, ChatroomPath(session->user), 302);
      } else if (!context.options->login_url.empty() &&
                 (context.options->auth == AuthMode::kTokens ||
                  exchange->request().get_param_value("from") == "app")) {
        // Under --auth=tokens the app's sign-in is the only one; under both, a page whose user
        // the app signed in comes back with from=app.
        Redirect(exchange, context.options->login_url, 302);
      } else {
        LoginPage(context, exchange, 200, "");
      }
}

void PostLogin(const RouteContext& context, const ExchangePtr& exchange) {
      const httplib::Request& request = exchange->request();
      if (!AdmitLogin(context, exchange)) return;
      std::string name = request.get_param_value("name");
      context.sessions->LogIn(name, [&context, exchange, name](absl::StatusOr<Login> login) {
        if (login.ok()) {
          httplib::Response response;
          response.set_header("Set-Cookie",
                              SessionCookie(login->token, login->session.expires_at - absl::Now()));
          Redirect(exchange, ChatroomPath(login->session.user), 303, std::move(response));
          return;
        }
        const HttpError error = FromStatus(login.status());
        if (error.code == "name_login_disabled") {
          LoginPage(context, exchange, 403, "Sign in through the app this chat belongs to.");
        } else if (login.status().code() == absl::StatusCode::kAlreadyExists) {
          LoginPage(context, exchange, 409,
                    "Name taken: someone is using it. Please choose another.", {}, name);
        } else if (error.status == 400) {
          LoginPage(context, exchange, 400,
                    "A name is 1-32 letters, digits, '_', '.' or '-' (no spaces).", {}, name);
        } else {
          httplib::Response response;
          response.set_header("Retry-After", "2");
          LoginPage(context, exchange, error.status, "The chat is unavailable. Please try again.",
                    std::move(response), name);
        }
      });
}

void PostLogout(const RouteContext& context, const ExchangePtr& exchange) {
      auto logged_out = [exchange](grpc::Status status) {
        if (!status.ok()) {  // not done: the session still works; say so, keep the cookie
          httplib::Response response;
          response.status = 503;
          response.set_header("Retry-After", "2");
          response.set_header("Cache-Control", "no-store");
          response.set_content(
              "<!doctype html><title>Parley</title><p>Logging out did not finish: the chat is "
              "unavailable. Go back and try again.</p>",
              "text/html; charset=utf-8");
          exchange->Respond(std::move(response));
          return;
        }
        httplib::Response response;
        response.set_header("Set-Cookie", ClearedSessionCookie());
        Redirect(exchange, "/login", 303, std::move(response));
      };
      absl::StatusOr<Session> session = context.sessions->Authenticate(exchange->request());
      if (session.ok()) {
        context.sessions->LogOut(*session, std::move(logged_out));
      } else {
        logged_out(grpc::Status::OK);
      }
}

void Chatroom(const RouteContext& context, const ExchangePtr& exchange) {
      const httplib::Request& request = exchange->request();
      absl::StatusOr<Session> session =
          context.sessions->Authenticate(request, request.matches[1].str());
      if (session.status().code() == absl::StatusCode::kUnauthenticated) {
        Redirect(exchange, "/login", 302);
      } else if (!session.ok()) {
        RespondError(exchange, FromStatus(session.status()));
      } else {
        ServeAsset(context, "chatroom.html", exchange, /*cacheable=*/false);
      }
}

void Static(const RouteContext& context, const ExchangePtr& exchange) {
      ServeAsset(context, exchange->request().matches[1], exchange);
}

  }  // namespace

  void AddPageRoutes(const RouteContext& context, RouteTable& routes) {
    auto bind = [&context](ContextHandler handler) { return WithContext(context, handler); };
    routes.Get("/", bind(Root));
    routes.Get("/login", bind(GetLogin));
    routes.Post("/login", bind(PostLogin));
    routes.Post("/logout", bind(PostLogout));
    routes.Get("/chatroom/([^/]+)/?", bind(Chatroom));
    routes.Get("/static/(.+)", bind(Static));
  }

}  // namespace parley::frontend
