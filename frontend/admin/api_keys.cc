#include "frontend/admin/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/names.h"

namespace parley::frontend {
namespace {

constexpr size_t kMinKeyLength = 16;

}  // namespace

ApiKeys::Digest ApiKeys::DigestOf(absl::string_view key) {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest.data());
  return digest;
}

absl::StatusOr<ApiKeys> ApiKeys::Parse(absl::string_view contents) {
  ApiKeys keys;
  absl::flat_hash_set<std::string> names;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const size_t colon = line.find(':');
    const absl::string_view name = line.substr(0, colon);
    const absl::string_view key =
        colon == absl::string_view::npos ? absl::string_view() : line.substr(colon + 1);
    if (colon == absl::string_view::npos || !ValidateName("name", name).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": expected name:key with a name of letters, digits, "
                                        "'_', '.' or '-'"));
    }
    if (key.size() < kMinKeyLength) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": the key of '", name,
                                                     "' is shorter than 16 characters"));
    }
    if (!names.insert(std::string(name)).second) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": '", name, "' twice"));
    }
    keys.keys_.emplace_back(std::string(name), DigestOf(key));
  }
  if (keys.keys_.empty()) return absl::InvalidArgumentError("no name:key line");
  return keys;
}

std::optional<std::string> ApiKeys::NameOf(absl::string_view key) const {
  const Digest given = DigestOf(key);
  std::optional<std::string> found;
  for (const auto& [name, digest] : keys_) {  // every key, match or not
    if (CRYPTO_memcmp(given.data(), digest.data(), digest.size()) == 0) found = name;
  }
  return found;
}

}  // namespace parley::frontend
