// A keyring of key-encryption keys (KEKs) and its file format.
#ifndef TOKENBROKER_SERVER_CRYPTO_KEYRING_H_
#define TOKENBROKER_SERVER_CRYPTO_KEYRING_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/secret.h"

namespace tokenbroker {

// A set of 32-byte AES-256 key-encryption keys, each with an id. Exactly one
// is the primary: new envelopes are wrapped with it. The others only unwrap
// envelopes sealed before a rotation, until Rewrap has moved every record to
// the primary and the old key can be removed.
//
// Key ids have the form `k-YYYYMMDD-hhhhhh`: the UTC creation date and 6
// random lowercase hex digits, e.g. `k-20261123-ab12cd` (17 ASCII bytes; no
// '|', which keeps the envelope's associated data unambiguous).
//
// File format (also in server/crypto/FORMATS.md), UTF-8 JSON:
//
//   {
//     "version": 1,                      // required, must be 1
//     "primary": "k-20261123-ab12cd",    // required, one of keys[].id
//     "keys": [                          // required, non-empty
//       {
//         "id": "k-20261123-ab12cd",     // required, unique, form above
//         "created": "2026-11-23T10:00:00Z",  // required, RFC 3339
//         "key": "<standard base64 of exactly 32 random bytes>"  // required
//       }
//     ]
//   }
//
// Unknown fields are ignored. Serialize writes keys sorted by id.
//
// Key bytes live only in SecretString. Parse wipes the JSON parser's copies
// of the base64 key strings; the parser's internal scratch buffer is not
// under our control, so that part is best effort. Error messages name the
// problem and the key id, never key bytes.
//
// A Keyring is a value: copyable, movable, not thread-safe for concurrent
// mutation (const methods may be called concurrently). Never blocks, except
// LoadFromFile and WriteKeyringFile, which do file I/O.
class Keyring {
 public:
  // Public, non-secret facts about one key.
  struct KeyMetadata {
    std::string id;
    absl::Time create_time;
    bool primary = false;
  };

  // Parses the JSON format above.
  // Errors: INVALID_ARGUMENT "keyring: ..." naming the problem (not JSON,
  // wrong version, missing or mistyped field, malformed or duplicate id,
  // bad timestamp, key not base64 or not 32 bytes; with the key id), or
  // primary not among the keys.
  static absl::StatusOr<Keyring> Parse(absl::string_view json);

  // Reads and parses a file, e.g. a Kubernetes Secret mounted as a volume.
  // Logs a warning (does not refuse) when the file is readable or writable
  // by group or others: the default Secret volume mode is 0644, so set
  // `defaultMode: 0400` on the volume.
  // Errors: NOT_FOUND (no such file), FAILED_PRECONDITION (not a regular
  // file, unreadable, larger than 1 MiB), INVALID_ARGUMENT (as Parse; the
  // message also names the path).
  static absl::StatusOr<Keyring> LoadFromFile(const std::string& path);

  // Parses the value of environment variable `var`: the JSON itself, or
  // standard base64 of it (whitespace ignored), as a Kubernetes
  // `secretKeyRef` or `docker run -e` would provide it. The variable stays
  // in the process environment; unset it after loading if that matters.
  // Errors: NOT_FOUND (unset or empty), INVALID_ARGUMENT (neither JSON nor
  // base64, or as Parse).
  static absl::StatusOr<Keyring> LoadFromEnv(const char* var);

  // A new keyring holding one fresh random key, the primary, created `now`
  // (truncated to whole seconds, as the file stores it).
  // Errors: INTERNAL (the random generator failed).
  static absl::StatusOr<Keyring> Generate(absl::Time now = absl::Now());

  // The key with this id, or nullptr. The pointer lives until the keyring is
  // mutated or destroyed.
  const SecretString* Find(absl::string_view id) const;
  // The primary key's id.
  const std::string& primary_id() const { return primary_id_; }
  // All ids, sorted.
  std::vector<std::string> ids() const;
  // All keys' public metadata, sorted by id.
  std::vector<KeyMetadata> metadata() const;

  // The JSON format above. The result holds key bytes, hence SecretString.
  SecretString Serialize() const;

  // Adds a fresh random key created `now` and makes it the primary; the old
  // primary stays, decrypt-only. Returns the new id.
  // Errors: INTERNAL (the random generator failed).
  absl::StatusOr<std::string> AddPrimary(absl::Time now = absl::Now());

  // Removes a decrypt-only key. Envelopes still wrapped with it will no
  // longer open: Rewrap them first.
  // Errors: NOT_FOUND (no such id), FAILED_PRECONDITION (it is the primary).
  absl::Status Remove(absl::string_view id);

 private:
  struct Entry {
    absl::Time create_time;
    SecretString key;
  };

  Keyring() = default;
  // A fresh key with an id not yet in `keys_`, created `now`.
  absl::Status AddKey(absl::Time now, std::string* id);

  std::string primary_id_;
  std::map<std::string, Entry, std::less<>> keys_;
};

// Whether `id` has the form `k-YYYYMMDD-hhhhhh` (lowercase hex).
bool IsValidKeyId(absl::string_view id);

// Writes `keyring` to `path` atomically: a temporary file in the same
// directory, created with mode 0600 (O_CREAT|O_EXCL), is written, fsynced
// and renamed (or hard-linked, when not overwriting, so an existing file is
// never replaced even in a race) onto `path`; then the directory is fsynced.
// On failure the temporary file is removed and `path` is untouched.
// Errors: ALREADY_EXISTS naming the path (it exists and !overwrite),
// NOT_FOUND (the directory does not exist), PERMISSION_DENIED (the file
// system refused), INTERNAL (other I/O errors). Blocks on disk I/O.
absl::Status WriteKeyringFile(const std::string& path, const Keyring& keyring, bool overwrite);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_CRYPTO_KEYRING_H_
