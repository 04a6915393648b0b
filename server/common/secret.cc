#include "server/common/secret.h"

#include <openssl/crypto.h>

#include "client/common/fingerprint.h"

namespace tokenbroker {

bool SecretString::operator==(const SecretString& other) const {
  return value_.size() == other.value_.size() &&
         CRYPTO_memcmp(value_.data(), other.value_.data(), value_.size()) == 0;
}

void SecretString::Wipe() { WipeString(&value_); }

void WipeString(std::string* s) {
  // Spare capacity may hold an older, longer value: wipe up to capacity.
  s->resize(s->capacity());
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

std::string Fingerprint(absl::string_view value) { return fingerprint::Sha256Fingerprint(value); }

}  // namespace tokenbroker
