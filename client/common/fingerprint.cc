#include "client/common/fingerprint.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tokenbroker::fingerprint {
namespace {

// Bytes of the digest a fingerprint keeps (16 hex digits).
constexpr size_t kFingerprintBytes = 8;

std::string Hex(const unsigned char* digest) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), kFingerprintBytes));
}

}  // namespace

std::string Sha256Fingerprint(absl::string_view value) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest);
  return absl::StrCat("sha256:", Hex(digest));
}

std::string AuditFingerprint(absl::string_view key, absl::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest, &len);
  return absl::StrCat("hmac:", Hex(digest));
}

absl::StatusOr<std::string> ReadAuditKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--audit-key-file ", path, " cannot be read"));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  content.resize(absl::StripTrailingAsciiWhitespace(content).size());
  if (content.size() < kMinAuditKeyBytes) {
    OPENSSL_cleanse(content.data(), content.size());
    return absl::InvalidArgumentError(
        absl::StrCat("--audit-key-file ", path, ": at least 32 bytes of key are required"));
  }
  return content;
}

}  // namespace tokenbroker::fingerprint
