// What operators do to an encrypted store besides serving from it: rotate
// key-encryption keys, check it, count it, back it up. Implemented by
// SqliteCredentialStore and PostgresCredentialStore, so that the admin
// commands (server/admin_commands.cc) never branch on a concrete store.
#ifndef TOKENBROKER_SERVER_STORE_STORE_MAINTENANCE_H_
#define TOKENBROKER_SERVER_STORE_STORE_MAINTENANCE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tokenbroker {

// Thread-safe; every method blocks on I/O (a full scan for Rekey,
// CheckStructure and Backup) and runs online, while the store serves.
class StoreMaintenance {
 public:
  struct RekeyProgress {
    int64_t total = 0;            // ciphertexts (credentials + tokens) when Rekey started
    int64_t rewrapped = 0;        // re-wrapped to the primary KEK so far
    int64_t already_current = 0;  // needed nothing: already on the primary KEK, or
                                  // rewritten/deleted concurrently by a writer
    int64_t dropped_tokens = 0;   // cached tokens that could not be opened, deleted
  };
  struct Counts {
    int64_t integrations = 0;
    int64_t tokens = 0;  // cached tokens
  };
  static constexpr int kDefaultRekeyBatchSize = 500;

  virtual ~StoreMaintenance() = default;

  // Re-wraps every credentials and token ciphertext whose KEK is not the
  // cipher's primary, `batch_size` rows per transaction, calling
  // `on_progress` (may be empty; on the calling thread) after each batch.
  // Online and resumable; see the implementations for the details. A
  // cached token that cannot be re-wrapped is deleted (a cache); Rekey
  // stops at the first credentials that cannot, prefixed with the
  // integration id. Errors: INVALID_ARGUMENT (batch_size < 1), DATA_LOSS,
  // FAILED_PRECONDITION (unknown key id), UNAVAILABLE.
  virtual absl::StatusOr<RekeyProgress> Rekey(std::function<void(const RekeyProgress&)> on_progress,
                                              int batch_size) = 0;
  // The distinct KEK ids wrapping any stored ciphertext, sorted. A key that
  // is not listed (after a complete Rekey) can leave the keyring.
  virtual absl::StatusOr<std::vector<std::string>> KeyIdsInUse() = 0;
  // Integrations and cached tokens stored.
  virtual absl::StatusOr<Counts> Count() = 0;
  // The backend's own consistency check, without opening ciphertexts
  // (SQLite: PRAGMA integrity_check and foreign_key_check; PostgreSQL, which
  // checks its pages itself: the schema version). Returns a line for
  // operators; DATA_LOSS naming the first problems.
  virtual absl::StatusOr<std::string> CheckStructure() = 0;
  // Writes a consistent snapshot to the new file `to_path` (0600, never
  // overwritten). FAILED_PRECONDITION on stores that are backed up with
  // their database's own tools (PostgreSQL: pg_dump).
  virtual absl::Status Backup(const std::string& to_path) = 0;
  // After a write that removed a secret (a JWT integration's private key on
  // migration): makes the bytes of replaced and deleted rows unreadable in
  // the database's files, as far as the backend can. SQLite zeroes freed
  // cells and pages itself (secure_delete); this checkpoints the WAL into
  // the database and truncates it, so no old page survives in the WAL.
  // PostgreSQL: VACUUM of `integrations` (old row versions become free
  // space, to be overwritten; the WAL, replicas and backups keep theirs:
  // README "JWT -> OAuth Server-to-Server"). Errors: UNAVAILABLE (a reader
  // kept the WAL from being truncated within the busy timeout; the backend
  // failed), FAILED_PRECONDITION (PostgreSQL: the role may not VACUUM).
  virtual absl::Status ScrubFreedData() = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_STORE_MAINTENANCE_H_
