#include "frontend/assets/web_assets.h"

#include <fstream>
#include <sstream>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "frontend/assets/embedded_files.h"

namespace parley::frontend {
namespace {

std::string ContentType(absl::string_view name) {
  if (absl::EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(name, ".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

bool IsPlainName(absl::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status NoSuchAsset(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat("no such file: ", name));
}

}  // namespace

WebAssets::WebAssets(std::string web_root) : web_root_(std::move(web_root)) {
  for (size_t i = 0; i < kEmbeddedFileCount; ++i) {
    const EmbeddedFile& file = kEmbeddedFiles[i];
    std::string body(reinterpret_cast<const char*>(file.data), file.size);
    const std::string etag = absl::StrFormat("\"%016x\"", absl::HashOf(body));
    embedded_[file.name] = WebAsset{ContentType(file.name), std::move(body), etag};
  }
}

absl::StatusOr<WebAsset> WebAssets::Find(absl::string_view name) const {
  if (!IsPlainName(name)) return NoSuchAsset(name);
  if (!from_disk()) {
    auto it = embedded_.find(name);
    if (it == embedded_.end()) return NoSuchAsset(name);
    return it->second;
  }
  std::ifstream file(absl::StrCat(web_root_, "/", name), std::ios::binary);
  if (!file) return NoSuchAsset(name);
  std::ostringstream body;
  body << file.rdbuf();
  return WebAsset{ContentType(name), body.str(), ""};
}

}  // namespace parley::frontend
