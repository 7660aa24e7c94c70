#include "broker/core/holder_tag.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"

namespace parley::broker {

std::string HolderTag(absl::string_view session) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(session.data()), session.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));  // 16 hex digits
}

}  // namespace parley::broker
