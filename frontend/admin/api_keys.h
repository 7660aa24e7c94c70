#ifndef PARLEY_FRONTEND_ADMIN_API_KEYS_H_
#define PARLEY_FRONTEND_ADMIN_API_KEYS_H_

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley::frontend {

// The keys of the server API (--admin_keys_file): one "name:key" a line, '#' comments and
// blank lines skipped; names are Parley names, keys at least 16 characters. A request's key is
// compared with every key, each comparison of SHA-256 digests in constant time (CRYPTO_memcmp),
// so neither a key's length nor its first wrong byte shows in the time taken. The name of the
// key that matched is what the logs record. Immutable once parsed: any thread.
class ApiKeys {
 public:
  static absl::StatusOr<ApiKeys> Parse(absl::string_view contents);

  // The name of `key`, or nullopt if it is none of them.
  std::optional<std::string> NameOf(absl::string_view key) const;
  size_t size() const { return keys_.size(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest DigestOf(absl::string_view key);

  std::vector<std::pair<std::string, Digest>> keys_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ADMIN_API_KEYS_H_
