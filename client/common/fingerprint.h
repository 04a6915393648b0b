// Fingerprints: short, stable names for secrets and tokens that are safe to
// print and log. Shared by the server (audit log, CredentialInfo) and
// tokenctl (`token refresh`/`token watch` output, `audit fingerprint`), so
// that the two always agree byte for byte. Existing audit logs stay
// comparable only as long as these formats do not change: the unit tests pin
// known vectors.
//
// Pure functions; thread-safe; no I/O except ReadAuditKeyFile.
#ifndef TOKENBROKER_CLIENT_COMMON_FINGERPRINT_H_
#define TOKENBROKER_CLIENT_COMMON_FINGERPRINT_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokenbroker::fingerprint {

// The unkeyed fingerprint of a secret or token, byte by byte:
//
//   "sha256:" || hex(SHA-256(value)[0..8))
//
// i.e. the 7 ASCII bytes `sha256:` followed by the first 8 bytes of the
// SHA-256 digest of `value`'s raw bytes (no trimming, no encoding first), as
// 16 lowercase hex digits: 23 characters in all. Example:
// Sha256Fingerprint("secret") == "sha256:2bb80d537b1da3e3".
//
// Used for CredentialInfo.client_secret_fingerprints and for the tokens
// tokenctl shows. Anyone can compute it, so it only names a value the reader
// already has; for a high-entropy value (a token, a client secret) it does
// not help to guess it.
std::string Sha256Fingerprint(absl::string_view value);

// The keyed fingerprint of an access token in the audit log
// (`token_fingerprint`), byte by byte:
//
//   "hmac:" || hex(HMAC-SHA256(key, token)[0..8))
//
// i.e. the 5 ASCII bytes `hmac:` followed by the first 8 bytes of the
// HMAC-SHA256 (RFC 2104 with SHA-256) of the token's raw bytes under `key`,
// as 16 lowercase hex digits: 21 characters in all. `key` is the audit key as
// ReadAuditKeyFile returns it (the file's bytes with trailing ASCII
// whitespace removed), used as the HMAC key as is (no hex or base64
// decoding). Only a holder of the key can match a known token to its lines;
// nobody else can confirm a guess.
std::string AuditFingerprint(absl::string_view key, absl::string_view token);

// The shortest audit key accepted, in bytes.
inline constexpr size_t kMinAuditKeyBytes = 32;

// Reads an audit key file (the server's and tokenctl's --audit-key-file):
// all its bytes, trailing ASCII whitespace (e.g. the newline an editor adds)
// removed. The result is secret: wipe it after use.
// Errors: NOT_FOUND (the file cannot be read), INVALID_ARGUMENT (fewer than
// kMinAuditKeyBytes bytes). Messages name the file, never its content.
absl::StatusOr<std::string> ReadAuditKeyFile(const std::string& path);

}  // namespace tokenbroker::fingerprint

#endif  // TOKENBROKER_CLIENT_COMMON_FINGERPRINT_H_
