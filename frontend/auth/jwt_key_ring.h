#ifndef PARLEY_FRONTEND_AUTH_JWT_KEY_RING_H_
#define PARLEY_FRONTEND_AUTH_JWT_KEY_RING_H_

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "frontend/auth/jwt_keys.h"

namespace parley::frontend {

// The keys an app's tokens are checked against: the HS256 secret (fixed for the process) and
// the public keys of the --jwt_keys file, which rotate without a restart. The file is looked
// at (one stat) at most once a second when keys are asked for, and re-read when its size,
// time or inode changed; Reload() re-reads it at once (SIGHUP). A file that no longer parses
// is logged and the keys before it stay, so a half-written file never locks everyone out.
// Thread-safe: keys() is called from the HTTP loops, Reload() from main.
class JwtKeyRing {
 public:
  // `secret`: the HS256 key (nullopt: none). `keys_file`: a PEM or JWKS file (empty: none).
  // At least one must be given. Fails when the file cannot be read or parsed.
  static absl::StatusOr<std::unique_ptr<JwtKeyRing>> Load(std::optional<JwtKey> secret,
                                                          std::string keys_file);

  // The keys now; the file is checked first when a second has passed since the last look.
  std::shared_ptr<const std::vector<JwtKey>> keys(absl::Time now) const;
  // Re-reads the file now. On failure the keys stay as they were.
  absl::Status Reload();

 private:
  // What identifies one version of the file.
  struct FileVersion {
    ino_t inode = 0;
    off_t size = 0;
    timespec modified{};
    bool operator==(const FileVersion& other) const;
  };

  JwtKeyRing(std::optional<JwtKey> secret, std::string keys_file)
      : secret_(std::move(secret)), keys_file_(std::move(keys_file)) {}
  // Reads the file into keys_ (with the secret); on failure leaves keys_ as it was.
  absl::Status ReadFile() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ReadFile, logged.
  absl::Status ReadFileAndLog() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::optional<JwtKey> secret_;
  const std::string keys_file_;
  mutable absl::Mutex mu_;
  // Mutable: keys() is const to its callers, but refreshes what it serves.
  mutable std::shared_ptr<const std::vector<JwtKey>> keys_ ABSL_GUARDED_BY(mu_);
  mutable FileVersion version_ ABSL_GUARDED_BY(mu_);
  mutable absl::Time next_look_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_AUTH_JWT_KEY_RING_H_
