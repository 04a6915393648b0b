// The shared, encrypted CredentialStore for several replicas: PostgreSQL.
#ifndef TOKENBROKER_SERVER_STORE_POSTGRES_CREDENTIAL_STORE_H_
#define TOKENBROKER_SERVER_STORE_POSTGRES_CREDENTIAL_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/crypto/envelope.h"
#include "server/store/credential_store.h"
#include "server/store/replica_coordination.h"
#include "server/store/store_maintenance.h"

namespace tokenbroker {
namespace internal {
class PgPool;
class PgConnection;
class SqlStoreCore;
}  // namespace internal

struct PostgresStoreOptions {
  // libpq connection string: a URI `postgresql://USER:PASSWORD@HOST:PORT/DB
  // ?sslmode=verify-full&sslrootcert=...` (or `postgres://`), or `key=value`
  // pairs. Every libpq parameter works, TLS ones included. Secret: it may
  // hold the password; the store logs only host, port and database.
  std::string dsn;
  // Connections in the pool (store calls in flight at once).
  int pool_size = 8;
  // Waiting for a free pooled connection, and opening one (unless the DSN
  // sets `connect_timeout`).
  absl::Duration acquire_timeout = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(5);
  // Longest a single statement may run before it is cancelled (UNAVAILABLE).
  absl::Duration query_timeout = absl::Seconds(30);
  // Bound of CheckHealth (acquire + `SELECT 1`).
  absl::Duration health_timeout = absl::Seconds(2);
  // Longest wait between attempts of the change feed to reconnect.
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
};

// A CredentialStore in a PostgreSQL database (schema: server/store/SCHEMA.md,
// "PostgreSQL"), shared by every replica, which also coordinates them
// (ReplicaCoordination: refresh leases timed by the database clock, and a
// change feed over LISTEN/NOTIFY).
//
// Secrets are sealed exactly as in SqliteCredentialStore (same credentials
// record, same envelope contexts), so both stores hold identical
// ciphertexts; the database only ever sees ciphertexts.
//
// Design note: a bounded pool of connections (PgPool) serves store calls,
// each a short READ COMMITTED transaction; etag checks are conditional
// UPDATE/DELETE ... WHERE etag = $n (atomic under concurrent writers, no
// explicit locks). A change notifies `tokenbroker_changes` inside its own
// transaction, so listeners hear of it exactly when it commits. One extra
// connection, owned by a feed thread started by the first
// SetChangeListener, LISTENs; it reconnects with backoff and reports
// kResync after a gap. Schema migrations run at Open under a transaction-
// scoped advisory lock, so replicas starting together apply them once.
//
// Thread-safe. Every method blocks on the network (bounded by the options'
// timeouts): call it from an executor, never from a gRPC completion path.
//
// Errors, beyond the CredentialStore contract: UNAVAILABLE when the
// database cannot be reached, the pool is exhausted, a statement timed out,
// or the connection was lost during COMMIT (outcome unknown); DATA_LOSS and
// FAILED_PRECONDITION for ciphertexts as in SqliteCredentialStore; INTERNAL
// for other PostgreSQL errors. Messages name host/port/dbname, never the
// password.
class PostgresCredentialStore final : public CredentialStore,
                                      public ReplicaCoordination,
                                      public StoreMaintenance {
 public:
  // Connects, applies pending schema migrations (serialised across replicas
  // by an advisory lock) and returns the store. `cipher` and `clock` must
  // outlive the store.
  //
  // Errors: INVALID_ARGUMENT (unparsable DSN, pool_size < 1, null cipher),
  // UNAVAILABLE (cannot connect or log in), FAILED_PRECONDITION (the schema
  // is newer than this binary), INTERNAL (a migration failed).
  static absl::StatusOr<std::unique_ptr<PostgresCredentialStore>> Open(
      const PostgresStoreOptions& options, EnvelopeCipher* cipher,
      const Clock* clock = SystemClock::Get());

  // Only applies pending schema migrations (as Open does) and returns the
  // schema version: for `tokenbroker migrate`, which needs no keyring.
  // Errors as Open.
  static absl::StatusOr<int> Migrate(const PostgresStoreOptions& options);

  // The newest schema version this binary knows (see SCHEMA.md).
  static int LatestSchemaVersion();
  // `host=H port=P dbname=D` for logs, or "(unparsable connection string)".
  // Never the password.
  static std::string DescribeDsn(const std::string& dsn);

  // Stops the change feed thread (waits for a listener call in progress).
  ~PostgresCredentialStore() override;

  // CredentialStore; as SqliteCredentialStore (List lists an integration
  // whose credentials fail to open without them; INVALID_ARGUMENT for an
  // empty id or scopes that are not valid UTF-8).
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
  // One SELECT with a LEFT JOIN: one round trip.
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) override;
  // `SELECT 1` on a pooled connection within options.health_timeout: OK, or
  // UNAVAILABLE("postgres: ...").
  absl::Status CheckHealth() override;

  // ReplicaCoordination. Leases live in `refresh_leases`; expiry is decided
  // by the database's now(). TryAcquireRefreshLease is one round trip (the
  // function tokenbroker_take_refresh_lease), PutTokenAndReleaseLease one
  // statement. Every write notifies channel `tokenbroker_changes` with a
  // JSON payload (change_payload.h) carrying this store's origin id.
  absl::StatusOr<LeaseGrant> TryAcquireRefreshLease(absl::string_view id, absl::string_view holder,
                                                    absl::Duration ttl) override;
  absl::Status PutTokenAndReleaseLease(absl::string_view id, const AccessToken& token,
                                       absl::string_view holder) override;
  absl::Status ReleaseRefreshLease(absl::string_view id, absl::string_view holder) override;
  absl::StatusOr<bool> TryAcquireLease(absl::string_view name, absl::string_view holder,
                                       absl::Duration ttl) override;
  absl::Status ReleaseLease(absl::string_view name, absl::string_view holder) override;
  // The listener hears this process's writes on the writer's thread after
  // the commit, and every replica's from the LISTEN thread.
  void SetChangeListener(StoreChangeListener listener) override;

  // StoreMaintenance. CheckStructure reports the schema version (PostgreSQL
  // checks its own pages); Backup is FAILED_PRECONDITION: use pg_dump.
  absl::StatusOr<std::vector<std::string>> KeyIdsInUse() override;
  absl::StatusOr<Counts> Count() override;
  absl::StatusOr<std::string> CheckStructure() override;
  absl::Status Backup(const std::string& to_path) override;
  // `VACUUM integrations` (outside a transaction; its TOAST table included):
  // old row versions, e.g. a dropped private key's ciphertext, become free
  // space that later writes overwrite. It cannot reach the WAL, standbys,
  // base backups or pages not yet reused: README "JWT -> OAuth
  // Server-to-Server" says what is left and how rekeying makes it
  // unreadable. Errors: FAILED_PRECONDITION (the role does not own the
  // table: PostgreSQL only warns, which is reported), UNAVAILABLE.
  absl::Status ScrubFreedData() override;
  // As SqliteCredentialStore::Rekey: re-wraps every ciphertext not on the
  // cipher's primary KEK, `batch_size` rows per transaction, compare-and-set
  // on the old ciphertext (a concurrent writer wins), online and resumable.
  // `on_progress` runs on the calling thread after each batch. Safe to run
  // while replicas serve. Errors: as SqliteCredentialStore::Rekey.
  absl::StatusOr<RekeyProgress> Rekey(std::function<void(const RekeyProgress&)> on_progress,
                                      int batch_size) override;

  // Network round trips so far: statements (BEGIN and COMMIT included) sent
  // by the pool's connections and awaited; the change feed's LISTEN
  // connection is not counted. What SCHEMA.md's round-trip table counts.
  int64_t RoundTrips() const;

 private:
  // The writes, without telling the change feed.
  absl::StatusOr<Integration> CreateTx(const Integration& integration);
  absl::StatusOr<Integration> UpdateTx(const Integration& integration,
                                       absl::string_view expected_etag);
  absl::Status DeleteTx(absl::string_view id, absl::string_view expected_etag);
  // Stores the token and releases `holder`'s lease (none when empty).
  absl::Status PutTokenTx(absl::string_view id, const AccessToken& token, absl::string_view holder);
  ChangeFanout feed_;

  PostgresCredentialStore(PostgresStoreOptions options, std::unique_ptr<internal::PgPool> pool,
                          EnvelopeCipher* cipher, const Clock* clock);

  class PooledSqlDatabase;
  // The change feed thread's body; returns when stopping_.
  void FeedLoop();
  // Waits up to `timeout` for `fd` readable or a stop request; false when
  // stopping.
  bool WaitReadable(int fd, absl::Duration timeout);
  void Deliver(const StoreChange& change);

  const PostgresStoreOptions options_;
  std::unique_ptr<internal::PgPool> pool_;
  EnvelopeCipher* const cipher_;
  const Clock* const clock_;
  // Random id of this store instance, sent with its notifications so that
  // its own LISTEN thread skips them.
  const std::string origin_;
  // The SQL shared with the SQLite store, over pool_.
  std::unique_ptr<PooledSqlDatabase> sql_db_;
  std::unique_ptr<internal::SqlStoreCore> core_;

  // Change feed.
  absl::Mutex feed_mu_;
  std::thread feed_thread_ ABSL_GUARDED_BY(feed_mu_);
  std::atomic<bool> stopping_{false};
  int wake_pipe_[2] = {-1, -1};  // written to stop the feed thread
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_POSTGRES_CREDENTIAL_STORE_H_
