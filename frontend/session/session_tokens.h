#ifndef PARLEY_FRONTEND_SESSION_SESSION_TOKENS_H_
#define PARLEY_FRONTEND_SESSION_SESSION_TOKENS_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace parley::frontend {

// Who vouched for a session's user.
enum class SessionSource {
  kName,   // the user picked a free name (--auth=names or both)
  kToken,  // the app's backend signed a token for the user (--auth=tokens or both)
};

// "name" or "token", as the HTTP API reports it.
absl::string_view SessionSourceName(SessionSource source);

// What a valid token says.
struct Session {
  std::string user;
  std::string session_id;  // 32 hex digits; the broker's Connect session
  // Whole seconds. Since when the session's authority holds: the login for a name, the app
  // token's iat (else the login) for a token. The broker refuses a session older than a loss
  // of its store's writes, or than a disconnect of its user by the app.
  absl::Time started;
  absl::Time expires_at;  // whole seconds
  SessionSource source = SessionSource::kName;
  std::string display_name;  // from the app's token ("" otherwise)
};

// Issues and checks session tokens: "user~session_id~started~expiry~source~name~hmac", where
// source is "n" or "t", name is the display name in base64url, and hmac is HMAC-SHA256
// (OpenSSL) over "v2~" and the fields before it, keyed by the shared secret, in hex.
// Any frontend with the same secret accepts any other's tokens, so frontends stay stateless.
// A token's MAC is computed once: verified tokens are remembered (a page sends the same token
// with every poll), up to kMaxVerified, then forgotten all at once.
// Thread-safe.
class SessionTokens {
 public:
  // `secret` must not be empty.
  SessionTokens(std::string secret, absl::Duration lifetime);

  // A new name session for `user` (a fresh random session id), valid from `now` for the
  // lifetime.
  Session NewSession(absl::string_view user, absl::Time now) const;
  // A new session for a user an app's token vouched for: as NewSession, but it ends by
  // `token_expires_at`, started at `issued_at` when that is known (finite), and its session id
  // is the user's own (derived from the secret and the name), so the user's devices share
  // one broker session instead of refusing each other the name.
  Session NewTokenSession(absl::string_view user, absl::string_view display_name,
                          absl::Time issued_at, absl::Time token_expires_at, absl::Time now) const;
  // The broker session every token session of `user` has (NewTokenSession's session_id):
  // what a direct message to the app's user, not connected now, is kept for.
  std::string AppUserSession(absl::string_view user) const;
  std::string Encode(const Session& session) const;
  // UNAUTHENTICATED with a reason for anything malformed, forged or expired at `now`.
  absl::StatusOr<Session> Verify(absl::string_view token, absl::Time now) const;

  absl::Duration lifetime() const { return lifetime_; }

  // 32 random bytes from OpenSSL's generator, hex-encoded: a secret for when none is set.
  static std::string RandomSecret();

 private:
  static constexpr size_t kMaxVerified = 100'000;

  std::string Mac(absl::string_view signed_part) const;
  // Whether `mac` is the one remembered for `signed_part` (compared in constant time).
  bool VerifiedBefore(absl::string_view signed_part, absl::string_view mac) const;
  void Remember(absl::string_view signed_part, absl::string_view mac) const;

  const std::string secret_;
  const absl::Duration lifetime_;
  // The signed part of tokens verified → their MAC. Looked up by the part that is
  // not secret, so the lookup's timing tells nothing about a valid MAC.
  mutable absl::Mutex verified_mu_;
  mutable absl::flat_hash_map<std::string, std::string> verified_ ABSL_GUARDED_BY(verified_mu_);
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_SESSION_SESSION_TOKENS_H_
