// Authenticated encryption with associated data (AEAD), and its AES-256-GCM
// implementation.
#ifndef TOKENBROKER_SERVER_CRYPTO_AEAD_H_
#define TOKENBROKER_SERVER_CRYPTO_AEAD_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/secret.h"

namespace tokenbroker {

// Encrypts and authenticates bytes, binding them to `associated_data`
// (authenticated, not encrypted, not stored in the ciphertext: Decrypt must
// be given the same bytes).
//
// Thread-safe: implementations are immutable after construction. Never
// blocks on I/O. Messages never contain plaintext, key or ciphertext bytes.
class Aead {
 public:
  virtual ~Aead() = default;

  // Errors: INVALID_ARGUMENT (input too large), INTERNAL (the random source
  // or the cipher library failed).
  virtual absl::StatusOr<std::string> Encrypt(absl::string_view plaintext,
                                              absl::string_view associated_data) const = 0;

  // Errors: DATA_LOSS "authentication failed" (tampered or truncated
  // ciphertext, wrong key, wrong associated data), INVALID_ARGUMENT (input
  // too large), INTERNAL (the cipher library failed).
  virtual absl::StatusOr<SecretString> Decrypt(absl::string_view ciphertext,
                                               absl::string_view associated_data) const = 0;
};

// AES-256-GCM through OpenSSL's EVP interface.
//
// Ciphertext format, byte by byte:
//   [0, 12)          nonce: 12 bytes from RAND_bytes, fresh per Encrypt
//   [12, 12 + n)     ciphertext: n = plaintext size
//   [12 + n, 28 + n) tag: 16-byte GCM authentication tag
//
// Design note: random 96-bit nonces stay within NIST SP 800-38D's collision
// bound for up to 2^32 encryptions per key. The envelope cipher uses each
// data key once and each key-encryption key once per Seal, so rotate a KEK
// (Keyring::AddPrimary) well before it has wrapped 2^32 data keys.
class AesGcmAead final : public Aead {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  // Bytes a ciphertext adds to its plaintext.
  static constexpr size_t kOverhead = kNonceSize + kTagSize;

  // Errors: INVALID_ARGUMENT unless `key` is exactly 32 bytes (the message
  // gives the size, never the bytes).
  static absl::StatusOr<std::unique_ptr<AesGcmAead>> New(const SecretString& key);

  absl::StatusOr<std::string> Encrypt(absl::string_view plaintext,
                                      absl::string_view associated_data) const override;
  absl::StatusOr<SecretString> Decrypt(absl::string_view ciphertext,
                                       absl::string_view associated_data) const override;

 private:
  explicit AesGcmAead(SecretString key) : key_(std::move(key)) {}

  const SecretString key_;
};

namespace internal {

// `size` bytes from OpenSSL's RAND_bytes. INTERNAL if the generator fails.
absl::StatusOr<SecretString> RandomSecret(size_t size);

}  // namespace internal

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_CRYPTO_AEAD_H_
