#include "frontend/auth/jwt_key_ring.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace parley::frontend {
namespace {

constexpr absl::Duration kLookEvery = absl::Seconds(1);

}  // namespace

bool JwtKeyRing::FileVersion::operator==(const FileVersion& other) const {
  return inode == other.inode && size == other.size &&
         modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec;
}

absl::StatusOr<std::unique_ptr<JwtKeyRing>> JwtKeyRing::Load(std::optional<JwtKey> secret,
                                                             std::string keys_file) {
  if (!secret && keys_file.empty()) {
    return absl::InvalidArgumentError(
        "tokens need a key: --jwt_secret_file (or PARLEY_JWT_SECRET) and/or --jwt_keys");
  }
  std::unique_ptr<JwtKeyRing> ring(new JwtKeyRing(std::move(secret), std::move(keys_file)));
  absl::MutexLock lock(&ring->mu_);
  if (absl::Status read = ring->ReadFile(); !read.ok()) return read;
  return ring;
}

absl::Status JwtKeyRing::ReadFile() const {
  std::vector<JwtKey> keys;
  if (secret_) keys.push_back(*secret_);
  FileVersion version;
  if (!keys_file_.empty()) {
    struct stat status;
    std::ifstream in(keys_file_);
    if (stat(keys_file_.c_str(), &status) != 0 || !in) {
      return absl::NotFoundError(absl::StrCat("cannot read --jwt_keys file ", keys_file_));
    }
    version = {status.st_ino, status.st_size, status.st_mtim};
    std::stringstream contents;
    contents << in.rdbuf();
    absl::StatusOr<std::vector<JwtKey>> parsed = ParseJwtKeys(contents.str());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--jwt_keys file ", keys_file_, ": ", parsed.status().message()));
    }
    for (JwtKey& key : *parsed) keys.push_back(std::move(key));
  }
  keys_ = std::make_shared<const std::vector<JwtKey>>(std::move(keys));
  version_ = version;
  return absl::OkStatus();
}

absl::Status JwtKeyRing::Reload() {
  absl::MutexLock lock(&mu_);
  return ReadFileAndLog();
}

absl::Status JwtKeyRing::ReadFileAndLog() const {
  absl::Status read = ReadFile();
  if (read.ok()) {
    Log(LogLevel::kInfo, "jwt_keys_loaded", {{"keys", keys_->size()}});
  } else {
    Log(LogLevel::kWarning, "jwt_keys_kept", {{"error", read.message()}});
  }
  return read;
}

std::shared_ptr<const std::vector<JwtKey>> JwtKeyRing::keys(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  if (keys_file_.empty() || now < next_look_) return keys_;
  next_look_ = now + kLookEvery;
  struct stat status;
  if (stat(keys_file_.c_str(), &status) != 0) return keys_;  // mid-rotation: keep the keys
  if (version_ == FileVersion{status.st_ino, status.st_size, status.st_mtim}) return keys_;
  // The lock is held while the small file is read: a second caller waits for the new keys
  // rather than checking against the old ones.
  (void)ReadFileAndLog();
  return keys_;
}

}  // namespace parley::frontend
