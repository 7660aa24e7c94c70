#ifndef PARLEY_FRONTEND_ASSETS_WEB_ASSETS_H_
#define PARLEY_FRONTEND_ASSETS_WEB_ASSETS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley::frontend {

// One page, script or stylesheet, ready to send.
struct WebAsset {
  std::string content_type;
  std::string body;
  std::string etag;  // quoted; empty when served from disk (uncached)
};

// The web assets: those embedded in the binary, or, with a web root, the files of that
// directory read on every request (edit, reload, see). Names are flat ("chat.js"): anything
// else, traversal included, is NOT_FOUND. Thread-safe (immutable after construction).
class WebAssets {
 public:
  explicit WebAssets(std::string web_root = "");

  absl::StatusOr<WebAsset> Find(absl::string_view name) const;
  bool from_disk() const { return !web_root_.empty(); }

 private:
  const std::string web_root_;
  absl::flat_hash_map<std::string, WebAsset> embedded_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ASSETS_WEB_ASSETS_H_
