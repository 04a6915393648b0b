// The embedded, encrypted default CredentialStore: one SQLite file.
#ifndef TOKENBROKER_SERVER_STORE_SQLITE_CREDENTIAL_STORE_H_
#define TOKENBROKER_SERVER_STORE_SQLITE_CREDENTIAL_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/crypto/envelope.h"
#include "server/store/credential_store.h"
#include "server/store/store_maintenance.h"

namespace tokenbroker {
namespace internal {
class SqliteConnection;
class SqlStoreCore;
}  // namespace internal

// A CredentialStore in a SQLite database file (schema: server/store/SCHEMA.md).
//
// Secrets never reach the file in plaintext: an integration's credentials
// (client secrets, private key) and its cached access token are sealed with
// the injected EnvelopeCipher, bound to their row and field by the contexts
// `integrations/<id>/credentials` and `integrations/<id>/token`. The sealed
// credentials record also carries the fields that decide where and as whom
// the secrets are sent (auth method, client id, org id, technical account id,
// IMS URL), so editing those columns in the file is detected on read.
//
// Durability: WAL journal with `synchronous=FULL`, so a call that returned
// OK survives a crash or power loss (the WAL is fsynced at every commit).
// Files: the database, its `-wal` and `-shm` are mode 0600, a directory
// created for it 0700.
//
// Design note: one connection serialised by a mutex, statements prepared
// once. The broker's store traffic is a few small reads and writes per token
// lifetime, far below what one connection serves; a pool would add
// SQLITE_BUSY handling for no gain. Sealing and opening (CPU work) happen
// outside the mutex. Backup and IntegrityCheck use a short-lived second
// connection, which in WAL mode reads a snapshot without blocking writers.
//
// Thread-safe. Every method blocks on disk I/O (and, when another process
// holds the write lock, waits up to 5 s before UNAVAILABLE): call it from an
// executor, never from a gRPC completion path.
//
// Errors, beyond the CredentialStore contract: DATA_LOSS when a stored
// ciphertext fails its integrity check (message "integration '<id>': stored
// credentials failed their integrity check"; the detail is logged),
// FAILED_PRECONDITION when it is wrapped with a KEK that is not in the
// keyring (the message names the key id), UNAVAILABLE when the file is
// locked or I/O failed, INTERNAL for other SQLite failures.
class SqliteCredentialStore final : public CredentialStore, public StoreMaintenance {
 public:
  // Opens (creating if missing) the database at `path`, a filesystem path
  // (not a URI, not `:memory:`; a symlink is refused).
  // Creates a missing parent directory (0700) and the file (0600), turns on
  // WAL, and applies pending schema migrations in one transaction.
  // `cipher` and `clock` must outlive the store.
  //
  // Errors: INVALID_ARGUMENT (empty path, null cipher), FAILED_PRECONDITION
  // (the schema is newer than this binary, WAL could not be enabled, the
  // directory or file cannot be created), DATA_LOSS (not a SQLite database
  // or corrupt), UNAVAILABLE (locked, I/O error).
  static absl::StatusOr<std::unique_ptr<SqliteCredentialStore>> Open(
      const std::string& path, EnvelopeCipher* cipher, const Clock* clock = SystemClock::Get());

  // The newest schema version this binary knows (see SCHEMA.md).
  static int LatestSchemaVersion();

  ~SqliteCredentialStore() override;

  // CredentialStore. List returns an integration whose credentials fail to
  // open (DATA_LOSS or unknown KEK) with its non-secret fields and empty
  // credentials, and logs the id, so one bad row does not hide the others;
  // Get of that id returns the error. Create and Update also return
  // INVALID_ARGUMENT for an empty id or scopes that are not valid UTF-8.
  absl::StatusOr<Integration> Create(const Integration& integration) override;
  absl::StatusOr<Integration> Get(absl::string_view id) override;
  absl::StatusOr<IntegrationPage> List(int page_size, absl::string_view page_token) override;
  absl::StatusOr<Integration> Update(const Integration& integration,
                                     absl::string_view expected_etag) override;
  absl::StatusOr<std::vector<Integration>> WriteAll(
      const std::vector<IntegrationWrite>& writes) override;
  absl::Status Delete(absl::string_view id, absl::string_view expected_etag) override;
  absl::Status PutToken(absl::string_view id, const AccessToken& token) override;
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id) override;
  // One SELECT with a LEFT JOIN. A stored token that cannot be opened is
  // logged and returned as nullopt (it is a cache).
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) override;
  // In-process: the listener runs on the writer's thread after the commit.
  void SetChangeListener(StoreChangeListener listener) override {
    feed_.SetListener(std::move(listener));
  }

  // Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check` on a
  // snapshot. OK when both are clean, DATA_LOSS with the first problems
  // otherwise. Does not open ciphertexts. Blocks for a full scan of the file;
  // writers are not blocked.
  absl::Status IntegrityCheck();

  // StoreMaintenance. CheckStructure runs IntegrityCheck.
  absl::StatusOr<std::string> CheckStructure() override;
  absl::StatusOr<Counts> Count() override;

  // Writes a consistent snapshot of the database to the new file `to_path`
  // (mode 0600) with the SQLite online backup API; readers and writers of
  // this store are not blocked. The copy holds ciphertexts only and needs
  // the same keyring to be read. Errors: ALREADY_EXISTS (`to_path` exists;
  // never overwritten), FAILED_PRECONDITION (cannot create it, e.g. missing
  // directory), UNAVAILABLE (I/O). A failed backup removes its partial file.
  absl::Status Backup(const std::string& to_path) override;

  // Checkpoints the WAL into the database file and truncates it (`PRAGMA
  // wal_checkpoint(TRUNCATE)`, waiting up to the busy timeout for readers),
  // so replaced rows, which secure_delete zeroes in the database's pages,
  // survive in no WAL frame either. Errors: UNAVAILABLE (a reader held an
  // old snapshot past the busy timeout: the WAL is not truncated; the next
  // checkpoint catches up).
  absl::Status ScrubFreedData() override;

  // Re-wraps every credentials and token ciphertext whose KEK is not the
  // cipher's primary (EnvelopeCipher::Rewrap: the data key is re-wrapped,
  // the payload is untouched), `batch_size` rows per transaction, and calls
  // `on_progress` (may be empty; runs on the calling thread, without the
  // store's lock, so it may call the store) after each batch. Runs online: the mutex is
  // held only to read and to write a batch, and a row changed by a writer in
  // between is left to the writer (compare-and-set on the old ciphertext).
  // Resumable: committed batches stay done, and a new run skips rows already
  // on the primary. Afterwards the WAL is checkpointed and truncated
  // (ScrubFreedData, best effort) so old wrappings do not linger there
  // (freed pages are zeroed: secure_delete).
  //
  // A cached token that cannot be re-wrapped (DATA_LOSS, unknown KEK) is
  // deleted and logged: it is only a cache, the broker mints a new one.
  // Credentials are not: Rekey stops at the first credentials row that
  // cannot be re-wrapped, with its error prefixed by the integration id
  // (DATA_LOSS, or FAILED_PRECONDITION naming the unknown key id); fix or
  // delete that integration and run Rekey again. Also INVALID_ARGUMENT
  // (batch_size < 1), UNAVAILABLE.
  absl::StatusOr<RekeyProgress> Rekey(std::function<void(const RekeyProgress&)> on_progress,
                                      int batch_size) override;

  // The distinct KEK ids wrapping any stored ciphertext, sorted. A key that
  // is not listed (after a complete Rekey) can be removed from the keyring.
  absl::StatusOr<std::vector<std::string>> KeyIdsInUse() override;

  // SQL statements run on the store's connection so far (BEGIN and COMMIT
  // included): what SCHEMA.md's round-trip table counts for SQLite.
  int64_t StatementsRun();

 private:
  // The writes, without telling the change feed.
  absl::StatusOr<Integration> CreateTx(const Integration& integration);
  absl::StatusOr<Integration> UpdateTx(const Integration& integration,
                                       absl::string_view expected_etag);
  absl::Status DeleteTx(absl::string_view id, absl::string_view expected_etag);
  absl::Status PutTokenTx(absl::string_view id, const AccessToken& token);
  ChangeFanout feed_;

  SqliteCredentialStore(std::string path, std::unique_ptr<internal::SqliteConnection> db,
                        EnvelopeCipher* cipher, const Clock* clock);

  class LockedSqlDatabase;
  // A second connection to the same file, for snapshot reads.
  absl::StatusOr<std::unique_ptr<internal::SqliteConnection>> OpenSideConnection() const;

  const std::string path_;
  EnvelopeCipher* const cipher_;
  const Clock* const clock_;
  absl::Mutex mu_;
  std::unique_ptr<internal::SqliteConnection> db_ ABSL_GUARDED_BY(mu_);
  // The SQL shared with the PostgreSQL store, over db_ under mu_.
  std::unique_ptr<LockedSqlDatabase> sql_db_;
  std::unique_ptr<internal::SqlStoreCore> core_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_SQLITE_CREDENTIAL_STORE_H_
