// Envelope encryption of secret-bearing records.
#ifndef TOKENBROKER_SERVER_CRYPTO_ENVELOPE_H_
#define TOKENBROKER_SERVER_CRYPTO_ENVELOPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/secret.h"

namespace tokenbroker {

// Seals and opens secret bytes with a fresh data key per call, wrapped by a
// key-encryption key (KEK). `context` is bound to the ciphertext as
// associated data (e.g. "integration/acme/credentials"): a ciphertext
// copied to another row or field fails to open.
//
// Errors of Open: DATA_LOSS (tampered, wrong context, unknown format),
// FAILED_PRECONDITION (the KEK it was wrapped with is not in the keyring;
// the message names the key id). Messages never contain key or plaintext
// bytes. Thread-safe; never blocks on I/O.
class EnvelopeCipher {
 public:
  virtual ~EnvelopeCipher() = default;
  // Encrypts with a new data key wrapped by the primary KEK.
  virtual absl::StatusOr<std::string> Seal(absl::string_view plaintext,
                                           absl::string_view context) = 0;
  virtual absl::StatusOr<SecretString> Open(absl::string_view ciphertext,
                                            absl::string_view context) = 0;
  // The same plaintext with its data key re-wrapped by the primary KEK
  // (the payload is not re-encrypted). Errors as Open.
  virtual absl::StatusOr<std::string> Rewrap(absl::string_view ciphertext,
                                             absl::string_view context) = 0;
  // The id of the KEK that wraps `ciphertext`'s data key. DATA_LOSS if the
  // header does not parse.
  virtual absl::StatusOr<std::string> KeyIdOf(absl::string_view ciphertext) const = 0;
  // The id of the primary KEK (new seals use it).
  virtual std::string PrimaryKeyId() const = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_CRYPTO_ENVELOPE_H_
