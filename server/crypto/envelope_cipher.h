// EnvelopeCipher over a Keyring of AES-256-GCM key-encryption keys.
#ifndef TOKENBROKER_SERVER_CRYPTO_ENVELOPE_CIPHER_H_
#define TOKENBROKER_SERVER_CRYPTO_ENVELOPE_CIPHER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/secret.h"
#include "server/crypto/aead.h"
#include "server/crypto/envelope.h"
#include "server/crypto/keyring.h"

namespace tokenbroker {

// Envelope encryption: every Seal draws a fresh random 32-byte data key
// (DEK), encrypts the plaintext under it with AES-256-GCM, and wraps the DEK
// with the keyring's primary key-encryption key (KEK), also AES-256-GCM.
//
// Envelope v1, byte by byte (also in server/crypto/FORMATS.md):
//
//   offset      size  field
//   0           3     magic "TBE" (0x54 0x42 0x45)
//   3           1     version 0x01
//   4           1     kek_id_len = N (v1: 17, the length of a key id)
//   5           N     kek_id, ASCII, form k-YYYYMMDD-hhhhhh
//   5+N         2     wrapped_dek_len = W, big-endian (v1: always 60)
//   7+N         W     wrapped_dek = AES-256-GCM under the KEK of the DEK:
//                       12-byte nonce | 32-byte encrypted DEK | 16-byte tag
//                     associated data: "tokenbroker:dek:v1|" kek_id "|" context
//   7+N+W       rest  payload = AES-256-GCM under the DEK of the plaintext:
//                       12-byte nonce | ciphertext (plaintext size) | 16-byte tag
//                     associated data: "tokenbroker:data:v1|" context
//
// So a v1 envelope is 24 + 60 + 28 = 112 bytes longer than its plaintext.
// Magic, version and lengths are not authenticated but must equal the values
// above exactly; the KEK id is authenticated through the DEK's associated
// data. `context` is bound to both layers, so a ciphertext moved to another
// context fails to open (DATA_LOSS). Key ids cannot contain '|', so the
// associated data strings are unambiguous.
//
// Design note: a per-record DEK means rotating the KEK only re-wraps 60
// bytes per record (Rewrap) instead of re-encrypting every payload, and
// GCM's per-key message limit is never approached for data keys. Unlike
// Tink's KmsEnvelopeAead the KEK is local (a mounted secret); a KMS-backed
// Aead can replace it behind the same format later.
//
// Thread-safe: immutable after New (to rotate, build a new cipher from the
// updated keyring and swap it in). Never blocks on I/O. Error codes are those
// of EnvelopeCipher; messages name key ids, never key or plaintext bytes.
class KeyringEnvelopeCipher final : public EnvelopeCipher {
 public:
  // Takes the keys out of `keyring` (it is consumed).
  // Errors: INVALID_ARGUMENT (a key is not usable for AES-256-GCM).
  static absl::StatusOr<std::unique_ptr<KeyringEnvelopeCipher>> New(Keyring keyring);

  // Errors: INVALID_ARGUMENT (plaintext too large), INTERNAL (the random
  // generator or OpenSSL failed).
  absl::StatusOr<std::string> Seal(absl::string_view plaintext, absl::string_view context) override;
  // Errors: DATA_LOSS "envelope: malformed ..." (not a v1 envelope),
  // DATA_LOSS "envelope: authentication failed ..." (tampered, truncated,
  // wrong context), FAILED_PRECONDITION "key-encryption key 'ID' is not in
  // the keyring".
  absl::StatusOr<SecretString> Open(absl::string_view ciphertext,
                                    absl::string_view context) override;
  // Verifies the whole envelope (as Open), then re-wraps its DEK with the
  // primary KEK, keeping the payload bytes. An envelope already under the
  // primary is returned unchanged. Errors as Open.
  absl::StatusOr<std::string> Rewrap(absl::string_view ciphertext,
                                     absl::string_view context) override;
  // Parses the header only. Errors: DATA_LOSS "envelope: malformed ...".
  absl::StatusOr<std::string> KeyIdOf(absl::string_view ciphertext) const override;
  std::string PrimaryKeyId() const override { return primary_id_; }

 private:
  KeyringEnvelopeCipher(std::string primary_id,
                        std::map<std::string, std::unique_ptr<AesGcmAead>, std::less<>> keks)
      : primary_id_(std::move(primary_id)), keks_(std::move(keks)) {}

  // The KEK with this id, or FAILED_PRECONDITION naming it.
  absl::StatusOr<const Aead*> Kek(absl::string_view id) const;

  const std::string primary_id_;
  const std::map<std::string, std::unique_ptr<AesGcmAead>, std::less<>> keks_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_CRYPTO_ENVELOPE_CIPHER_H_
