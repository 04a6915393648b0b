#include "server/common/secret.h"

#include <openssl/crypto.h>

#include "client/common/fingerprint.h"

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

std::string Fingerprint(absl::string_view value) { return fingerprint::Sha256Fingerprint(value); }

}  // namespace tokenbroker
