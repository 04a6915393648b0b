#include "server/common/secret.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tokenbroker {

bool SecretString::operator==(const SecretString& other) const {
  return value_.size() == other.value_.size() &&
         CRYPTO_memcmp(value_.data(), other.value_.data(), value_.size()) == 0;
}

void SecretString::Wipe() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  // Also wipe spare capacity that may hold an older, longer value.
  if (value_.capacity() > value_.size()) {
    size_t old_size = value_.size();
    value_.resize(value_.capacity());
    OPENSSL_cleanse(value_.data() + old_size, value_.size() - old_size);
  }
  value_.clear();
}

std::string Fingerprint(absl::string_view value) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest);
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  return absl::StrCat("sha256:", hex.substr(0, 16));
}

}  // namespace tokenbroker
