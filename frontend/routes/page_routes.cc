#include "frontend/routes/page_routes.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "frontend/http/http_error.h"
#include "frontend/http/request_helpers.h"

namespace parley::frontend {
namespace {

std::string EscapeHtml(absl::string_view text) {
  return absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"}});
}

void Redirect(httplib::Response& response, const std::string& location, int status = 303) {
  response.status = status;
  response.set_header("Location", location);
}

std::string ChatroomPath(absl::string_view user) { return absl::StrCat("/chatroom/", user, "/"); }

// Serves an asset: cached with ETag and If-None-Match when embedded and `cacheable`; else
// (from --web_root, or a page that must never be cached) with no-store.
void ServeAsset(const RouteContext& context, const std::string& name,
                const httplib::Request& request, httplib::Response& response,
                bool cacheable = true) {
  absl::StatusOr<WebAsset> asset = context.assets->Find(name);
  if (!asset.ok()) {
    WriteError(response, FromStatus(asset.status()));
    return;
  }
  if (!cacheable || asset->etag.empty()) {
    response.set_header("Cache-Control", "no-store");
  } else {
    response.set_header("ETag", asset->etag);
    response.set_header("Cache-Control", "no-cache");
    if (request.get_header_value("If-None-Match") == asset->etag) {
      response.status = 304;
      return;
    }
  }
  response.set_content(asset->body, asset->content_type.c_str());
}

void LoginPage(const RouteContext& context, httplib::Response& response, int status,
               absl::string_view error) {
  absl::StatusOr<WebAsset> page = context.assets->Find("login.html");
  if (!page.ok()) {
    WriteError(response, FromStatus(page.status()));
    return;
  }
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(absl::StrReplaceAll(page->body, {{"<!--error-->", EscapeHtml(error)}}),
                       page->content_type.c_str());
}

void PostLogin(const RouteContext& context, const httplib::Request& request,
               httplib::Response& response) {
  const std::string name = request.get_param_value("name");
  if (absl::Status admitted = context.login_limiter->Admit(
          ClientAddress(request, context.options->trust_forwarded_for), absl::Now());
      !admitted.ok()) {
    response.set_header("Retry-After", std::to_string(LoginRetrySeconds(*context.options)));
    LoginPage(context, response, 429, "Too many logins from your address. Wait a moment.");
    return;
  }
  absl::StatusOr<Login> login = context.sessions->LogIn(name);
  if (login.ok()) {
    response.set_header("Set-Cookie",
                        SessionCookie(login->token, context.options->session_lifetime));
    Redirect(response, ChatroomPath(login->session.user));
    return;
  }
  const HttpError error = FromStatus(login.status());
  if (login.status().code() == absl::StatusCode::kAlreadyExists) {
    LoginPage(context, response, 409, "Name taken: someone is using it. Please choose another.");
  } else if (error.status == 400) {
    LoginPage(context, response, 400,
              "A name is 1-32 letters, digits, '_', '.' or '-' (no spaces).");
  } else {
    response.set_header("Retry-After", "2");
    LoginPage(context, response, error.status, "The chat is unavailable. Please try again.");
  }
}

}  // namespace

void AddPageRoutes(const RouteContext& context, RouteTable& routes) {
  using Request = const httplib::Request&;
  using Response = httplib::Response&;
  routes.Get("/", [&context](Request q, Response r) {
    absl::StatusOr<Session> session = context.sessions->Authenticate(q);
    Redirect(r, session.ok() ? ChatroomPath(session->user) : "/login", 302);
  });
  routes.Get("/login", [&context](Request q, Response r) {
    absl::StatusOr<Session> session = context.sessions->Authenticate(q);
    if (session.ok()) {
      Redirect(r, ChatroomPath(session->user), 302);
    } else {
      LoginPage(context, r, 200, "");
    }
  });
  routes.Post("/login", [&context](Request q, Response r) { PostLogin(context, q, r); });
  routes.Post("/logout", [&context](Request q, Response r) {
    absl::StatusOr<Session> session = context.sessions->Authenticate(q);
    if (session.ok()) context.sessions->LogOut(*session);
    r.set_header("Set-Cookie", ClearedSessionCookie());
    Redirect(r, "/login");
  });
  routes.Get("/chatroom/([^/]+)/?", [&context](Request q, Response r) {
    absl::StatusOr<Session> session = context.sessions->Authenticate(q, q.matches[1].str());
    if (session.status().code() == absl::StatusCode::kUnauthenticated) {
      Redirect(r, "/login", 302);
    } else if (!session.ok()) {
      WriteError(r, FromStatus(session.status()));
    } else {
      ServeAsset(context, "chatroom.html", q, r, /*cacheable=*/false);
    }
  });
  routes.Get("/static/(.+)",
             [&context](Request q, Response r) { ServeAsset(context, q.matches[1], q, r); });
}

}  // namespace parley::frontend
