#include "server/store/sqlite_credential_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/store/page_token.h"
#include "server/store/sql_store_core.h"
#include "server/store/sqlite_db.h"
#include "server/store/stored_record.h"

namespace tokenbroker {
namespace {

using internal::Sealed;
using internal::SealWith;
using internal::TimeToColumn;
using internal::WithPrefix;

absl::Status NotFound(absl::string_view id) { return internal::IntegrationNotFound(id); }

using internal::SqliteConnection;
using internal::SqliteQuery;
using internal::SqliteTransaction;

constexpr int kBusyTimeoutMs = 5000;

// Schema migrations, applied in order; migration N is kMigrations[N - 1].
// Never edit a released migration: append a new one. SCHEMA.md documents
// the resulting schema column by column.
constexpr const char* kMigrations[] = {
    // 1: integrations and their cached tokens.
    R"sql(
CREATE TABLE integrations (
  id                   TEXT    NOT NULL PRIMARY KEY,
  display_name         TEXT    NOT NULL,
  auth_method          INTEGER NOT NULL,
  client_id            TEXT    NOT NULL,
  org_id               TEXT    NOT NULL,
  technical_account_id TEXT    NOT NULL,
  scopes               TEXT    NOT NULL,
  metascopes           TEXT    NOT NULL,
  ims_url              TEXT    NOT NULL,
  sandbox_name         TEXT    NOT NULL,
  state                INTEGER NOT NULL,
  include_org_header   INTEGER NOT NULL,
  create_time_ns       INTEGER NOT NULL,
  update_time_ns       INTEGER NOT NULL,
  etag                 TEXT    NOT NULL,
  credentials          BLOB    NOT NULL,
  kek_id               TEXT    NOT NULL
) STRICT;
CREATE INDEX integrations_by_kek_id ON integrations (kek_id);
CREATE TABLE tokens (
  integration_id TEXT    NOT NULL PRIMARY KEY
                         REFERENCES integrations (id) ON DELETE CASCADE,
  token          BLOB    NOT NULL,
  issue_time_ns  INTEGER,
  expire_time_ns INTEGER,
  debug_id       TEXT    NOT NULL,
  kek_id         TEXT    NOT NULL
) STRICT;
CREATE INDEX tokens_by_kek_id ON tokens (kek_id);
)sql",
    // 2: where each credential lives in the Developer Console, its secret
    // rotation period, what is known of each client secret, and the last
    // rotation. Existing rows read as unknown / server default / never.
    R"sql(
ALTER TABLE integrations ADD COLUMN console_org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN console_credential_id TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN secret_rotation_period_ns INTEGER;
ALTER TABLE integrations ADD COLUMN client_secret_info TEXT NOT NULL DEFAULT '[]';
ALTER TABLE integrations ADD COLUMN last_secret_rotation_time_ns INTEGER;
)sql",
};
constexpr int kLatestSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EIO:
    case ENOSPC:
    case EDQUOT:
      return absl::UnavailableError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

absl::Status MakePrivateDirectories(const std::filesystem::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("'", dir.string(), "' is not a directory"));
    }
    return absl::OkStatus();
  }
  TB_RETURN_IF_ERROR(MakePrivateDirectories(dir.parent_path()));
  // mkdir's mode is reduced by the umask, never widened: create 0700 (or
  // tighter), then set exactly 0700.
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("creating directory '", dir.string(), "'"));
  }
  if (chmod(dir.c_str(), 0700) != 0) {
    return ErrnoStatus(errno, absl::StrCat("chmod 0700 '", dir.string(), "'"));
  }
  return absl::OkStatus();
}

// Creates `path` 0600 if missing; tightens an existing file to 0600.
absl::Status MakePrivateFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("creating database file '", path, "'"));
  struct stat st;
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = ErrnoStatus(errno, absl::StrCat("stat '", path, "'"));
  } else if ((st.st_mode & 07777) != 0600) {
    if ((st.st_mode & 077) != 0 && st.st_size > 0) {
      Log(LogLevel::kWarning, "database file was readable by others; setting mode 0600",
          {{"path", path}});
    }
    if (fchmod(fd, 0600) != 0) status = ErrnoStatus(errno, absl::StrCat("chmod 0600 '", path, "'"));
  }
  close(fd);
  return status;
}

// The -wal and -shm files SQLite creates beside the database.
void TightenSidecars(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    std::string sidecar = path + suffix;
    if (chmod(sidecar.c_str(), 0600) != 0 && errno != ENOENT) {
      Log(LogLevel::kWarning, "cannot chmod 0600 a database sidecar file",
          {{"path", sidecar}, {"error", std::strerror(errno)}});
    }
  }
}

absl::Status Migrate(SqliteConnection* db, const Clock* clock) {
  TB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
  TB_RETURN_IF_ERROR(
      db->Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL) STRICT"));
  int64_t current = 0;
  {
    TB_ASSIGN_OR_RETURN(SqliteQuery q,
                        db->Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations"));
    TB_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) current = q.Int(0);
  }
  if (current > kLatestSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", current, " is newer than this binary supports (",
                     kLatestSchemaVersion, "): run a newer tokenbroker, or restore a backup"));
  }
  for (int64_t version = current + 1; version <= kLatestSchemaVersion; ++version) {
    TB_RETURN_IF_ERROR(db->Exec(kMigrations[version - 1]));
    TB_ASSIGN_OR_RETURN(
        SqliteQuery q,
        db->Prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"));
    TB_RETURN_IF_ERROR(
        q.Bind(version)
            .Bind(absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", clock->Now(), absl::UTCTimeZone()))
            .Run());
  }
  TB_RETURN_IF_ERROR(tx.Commit());
  if (current < kLatestSchemaVersion) {
    Log(LogLevel::kInfo, "applied schema migrations",
        {{"from_version", absl::StrCat(current)},
         {"to_version", absl::StrCat(kLatestSchemaVersion)}});
  }
  return absl::OkStatus();
}

// Sets the connection's pragmas and brings the schema up to date.
absl::Status Configure(SqliteConnection* db, const Clock* clock) {
  sqlite3_busy_timeout(db->get(), kBusyTimeoutMs);
  // secure_delete: deleted rows (old ciphertexts, e.g. wrapped by a retired
  // KEK) are overwritten with zeros instead of lingering in free pages.
  TB_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"));
  {
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db->Prepare("PRAGMA journal_mode = WAL"));
    TB_ASSIGN_OR_RETURN(bool row, q.Step());
    std::string mode = row ? q.Text(0) : "";
    if (mode != "wal") {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot enable WAL (journal_mode is '", mode,
                       "'); is the file on a network filesystem?"));
    }
  }
  // FULL: the WAL is fsynced at every commit, so an acknowledged write
  // survives power loss (NORMAL would only guarantee consistency).
  TB_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL;"));
  return Migrate(db, clock);
}

// The shared SQL's connection: the store's one connection, locked by the
// caller.
class SqliteSqlRow final : public internal::SqlRow {
 public:
  explicit SqliteSqlRow(const SqliteQuery& q) : q_(q) {}
  bool IsNull(int column) const override { return q_.IsNull(column); }
  std::string Bytes(int column) const override { return q_.Text(column); }
  int64_t Int(int column) const override { return q_.Int(column); }

 private:
  const SqliteQuery& q_;
};

class SqliteSqlConnection final : public internal::SqlConnection {
 public:
  explicit SqliteSqlConnection(SqliteConnection* db) : db_(db) {}
  absl::StatusOr<int64_t> Exec(
      absl::string_view, const std::string& sql, const internal::SqlParams& params,
      const std::function<void(const internal::SqlRow&)>& on_row) override {
    using Type = internal::SqlParams::Value::Type;
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare(internal::ToQuestionMarkPlaceholders(sql)));
    for (const internal::SqlParams::Value& v : params.values()) {
      switch (v.type) {
        case Type::kText:
          q.Bind(v.bytes);
          break;
        case Type::kInt:
          q.Bind(v.integer);
          break;
        case Type::kNull:
          q.Bind(std::optional<int64_t>());
          break;
        case Type::kBlob:
          q.BindBlob(v.bytes);
          break;
      }
    }
    int64_t rows = 0;
    SqliteSqlRow row(q);
    while (true) {
      TB_ASSIGN_OR_RETURN(bool more, q.Step());
      if (!more) break;
      ++rows;
      if (on_row) on_row(row);
    }
    return q.ReadOnly() ? rows : db_->Changes();
  }

 private:
  SqliteConnection* const db_;
};

}  // namespace

// Every unit of work under the store's mutex; writes in BEGIN IMMEDIATE.
class SqliteCredentialStore::LockedSqlDatabase final : public internal::SqlDatabase {
 public:
  explicit LockedSqlDatabase(SqliteCredentialStore* store) : store_(store) {}
  absl::Status Read(const std::function<absl::Status(internal::SqlConnection&)>& work) override {
    absl::MutexLock lock(&store_->mu_);
    SqliteSqlConnection sql(store_->db_.get());
    return work(sql);
  }
  absl::Status Write(const std::function<absl::Status(internal::SqlConnection&)>& work) override {
    absl::MutexLock lock(&store_->mu_);
    TB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(store_->db_.get()));
    SqliteSqlConnection sql(store_->db_.get());
    TB_RETURN_IF_ERROR(work(sql));
    return tx.Commit();
  }

 private:
  SqliteCredentialStore* const store_;
};

int SqliteCredentialStore::LatestSchemaVersion() { return kLatestSchemaVersion; }

SqliteCredentialStore::SqliteCredentialStore(std::string path, std::unique_ptr<SqliteConnection> db,
                                             EnvelopeCipher* cipher, const Clock* clock)
    : path_(std::move(path)),
      cipher_(cipher),
      clock_(clock),
      db_(std::move(db)),
      sql_db_(std::make_unique<LockedSqlDatabase>(this)) {
  internal::SqlDialect dialect;
  // Cascading deletes leave no token behind, unless the file was edited
  // with foreign keys off: a new integration never inherits one, a deleted
  // one leaves none.
  dialect.create_also_sql = "DELETE FROM tokens WHERE integration_id = $1";
  dialect.delete_also_sql = "DELETE FROM tokens WHERE integration_id = $1";
  core_ =
      std::make_unique<internal::SqlStoreCore>(sql_db_.get(), cipher_, clock_, std::move(dialect));
}

SqliteCredentialStore::~SqliteCredentialStore() = default;

absl::StatusOr<std::unique_ptr<SqliteCredentialStore>> SqliteCredentialStore::Open(
    const std::string& path, EnvelopeCipher* cipher, const Clock* clock) {
  if (path.empty()) return absl::InvalidArgumentError("SQLite store: empty database path");
  if (cipher == nullptr) return absl::InvalidArgumentError("SQLite store: no envelope cipher");
  if (clock == nullptr) return absl::InvalidArgumentError("SQLite store: no clock");
  TB_RETURN_IF_ERROR(MakePrivateDirectories(std::filesystem::path(path).parent_path()));
  TB_RETURN_IF_ERROR(MakePrivateFile(path));

  TB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> db,
                      SqliteConnection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                                       SQLITE_OPEN_NOFOLLOW));
  absl::Status configured = Configure(db.get(), clock);
  if (!configured.ok()) {
    return WithPrefix(configured, absl::StrCat("SQLite store '", path, "': "));
  }
  TightenSidecars(path);
  return std::unique_ptr<SqliteCredentialStore>(
      new SqliteCredentialStore(path, std::move(db), cipher, clock));
}

absl::StatusOr<Integration> SqliteCredentialStore::CreateTx(const Integration& integration) {
  return core_->Create(integration);
}

absl::StatusOr<Integration> SqliteCredentialStore::Get(absl::string_view id) {
  return core_->Get(id);
}

absl::StatusOr<IntegrationPage> SqliteCredentialStore::List(int page_size,
                                                            absl::string_view page_token) {
  return core_->List(page_size, page_token);
}

absl::StatusOr<Integration> SqliteCredentialStore::UpdateTx(const Integration& integration,
                                                            absl::string_view expected_etag) {
  return core_->Update(integration, expected_etag);
}

absl::Status SqliteCredentialStore::DeleteTx(absl::string_view id,
                                             absl::string_view expected_etag) {
  return core_->Delete(id, expected_etag);
}

absl::Status SqliteCredentialStore::PutTokenTx(absl::string_view id, const AccessToken& token) {
  TB_ASSIGN_OR_RETURN(Sealed sealed,
                      SealWith(cipher_, token.access_token.value(), internal::TokenContext(id)));
  absl::MutexLock lock(&mu_);
  // One statement (its own transaction): inserts nothing when the
  // integration is gone, whether or not foreign keys are enforced. The
  // WHERE clause also keeps SQLite from reading ON CONFLICT as a join.
  TB_ASSIGN_OR_RETURN(
      SqliteQuery q,
      db_->Prepare("INSERT INTO tokens (integration_id, token, issue_time_ns, expire_time_ns, "
                   "debug_id, kek_id) SELECT ?1, ?2, ?3, ?4, ?5, ?6 "
                   "WHERE EXISTS (SELECT 1 FROM integrations WHERE id = ?1) "
                   "ON CONFLICT (integration_id) DO UPDATE SET token = excluded.token, "
                   "issue_time_ns = excluded.issue_time_ns, "
                   "expire_time_ns = excluded.expire_time_ns, debug_id = excluded.debug_id, "
                   "kek_id = excluded.kek_id"));
  TB_RETURN_IF_ERROR(q.Bind(id)
                         .BindBlob(sealed.ciphertext)
                         .Bind(TimeToColumn(token.issue_time))
                         .Bind(TimeToColumn(token.expire_time))
                         .Bind(token.debug_id)
                         .Bind(sealed.kek_id)
                         .Run());
  if (db_->Changes() == 0) return NotFound(id);
  return absl::OkStatus();
}

absl::StatusOr<IntegrationWithToken> SqliteCredentialStore::GetWithToken(absl::string_view id) {
  return core_->GetWithToken(id);
}

absl::StatusOr<std::optional<AccessToken>> SqliteCredentialStore::GetToken(absl::string_view id) {
  return core_->GetToken(id);
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteCredentialStore::OpenSideConnection()
    const {
  TB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> db,
                      SqliteConnection::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                                        SQLITE_OPEN_NOFOLLOW));
  sqlite3_busy_timeout(db->get(), kBusyTimeoutMs);
  return db;
}

absl::Status SqliteCredentialStore::IntegrityCheck() {
  TB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> db, OpenSideConnection());
  std::vector<std::string> problems;
  // Both checks in one read transaction: one snapshot.
  TB_RETURN_IF_ERROR(db->Exec("BEGIN"));
  {
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db->Prepare("PRAGMA integrity_check(10)"));
    while (true) {
      TB_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      std::string line = q.Text(0);
      if (line != "ok") problems.push_back(std::move(line));
    }
  }
  {
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db->Prepare("PRAGMA foreign_key_check"));
    while (problems.size() < 10) {
      TB_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      problems.push_back(absl::StrCat("row ", q.Int(1), " of table ", q.Text(0),
                                      " references a missing row of ", q.Text(2)));
    }
  }
  TB_RETURN_IF_ERROR(db->Exec("COMMIT"));
  if (!problems.empty()) {
    if (problems.size() > 5) problems.resize(5);
    return absl::DataLossError(absl::StrCat(
        "SQLite store '", path_, "' failed its integrity check: ", absl::StrJoin(problems, "; ")));
  }
  return absl::OkStatus();
}

absl::Status SqliteCredentialStore::Backup(const std::string& to_path) {
  if (to_path.empty()) return absl::InvalidArgumentError("backup path is empty");
  {
    int fd = open(to_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return ErrnoStatus(errno, absl::StrCat("creating backup file '", to_path, "'"));
    int rc = fchmod(fd, 0600);
    int err = errno;
    close(fd);
    if (rc != 0) {
      unlink(to_path.c_str());
      return ErrnoStatus(err, absl::StrCat("chmod 0600 '", to_path, "'"));
    }
  }
  auto remove_partial = [&to_path] {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      unlink((to_path + suffix).c_str());
    }
  };
  absl::Status status = [&]() -> absl::Status {
    TB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> source, OpenSideConnection());
    TB_ASSIGN_OR_RETURN(
        std::unique_ptr<SqliteConnection> dest,
        SqliteConnection::Open(to_path,
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW));
    TB_RETURN_IF_ERROR(dest->Exec("PRAGMA synchronous = FULL;"));
    internal::SqliteBackupHandle backup(
        sqlite3_backup_init(dest->get(), "main", source->get(), "main"));
    if (backup == nullptr) {
      return internal::SqliteStatus(dest->get(), sqlite3_errcode(dest->get()),
                                    "starting the backup");
    }
    // -1: all pages in one step, i.e. in one read transaction on the source:
    // a consistent snapshot that WAL readers/writers do not disturb.
    int rc = sqlite3_backup_step(backup.get(), -1);
    if (rc != SQLITE_DONE) {
      return internal::SqliteStatus(dest->get(), rc, "copying the database");
    }
    rc = sqlite3_backup_finish(backup.release());
    if (rc != SQLITE_OK) return internal::SqliteStatus(dest->get(), rc, "finishing the backup");
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    remove_partial();
    return WithPrefix(status, absl::StrCat("backup to '", to_path, "': "));
  }
  TightenSidecars(to_path);
  Log(LogLevel::kInfo, "database backed up", {{"path", path_}, {"to", to_path}});
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqliteCredentialStore::CheckStructure() {
  TB_RETURN_IF_ERROR(IntegrityCheck());
  return std::string("PRAGMA integrity_check: ok");
}

absl::StatusOr<StoreMaintenance::Counts> SqliteCredentialStore::Count() { return core_->Count(); }

int64_t SqliteCredentialStore::StatementsRun() {
  absl::MutexLock lock(&mu_);
  return db_->statements_run();
}

absl::StatusOr<std::vector<std::string>> SqliteCredentialStore::KeyIdsInUse() {
  return core_->KeyIdsInUse();
}

absl::StatusOr<StoreMaintenance::RekeyProgress> SqliteCredentialStore::Rekey(
    std::function<void(const RekeyProgress&)> on_progress, int batch_size) {
  TB_ASSIGN_OR_RETURN(RekeyProgress progress, core_->Rekey(on_progress, batch_size));
  // Old wrappings live on in WAL frames until they are checkpointed and the
  // WAL truncated. Best effort: a long reader can keep it from completing,
  // and the next automatic checkpoint catches up.
  ScrubFreedData().IgnoreError();
  return progress;
}

absl::Status SqliteCredentialStore::ScrubFreedData() {
  absl::MutexLock lock(&mu_);
  TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare("PRAGMA wal_checkpoint(TRUNCATE)"));
  TB_ASSIGN_OR_RETURN(bool row, q.Step());
  // One row: busy (1 when a reader or writer kept it from completing), WAL
  // frames, frames checkpointed.
  if (row && q.Int(0) != 0) {
    return absl::UnavailableError(
        absl::StrCat("SQLite store '", path_,
                     "': the WAL checkpoint could not complete (a reader holds an old snapshot)"));
  }
  return absl::OkStatus();
}

// The writes tell the change feed after they commit.
absl::StatusOr<Integration> SqliteCredentialStore::Create(const Integration& integration) {
  absl::StatusOr<Integration> created = CreateTx(integration);
  if (created.ok()) feed_.Deliver({StoreChange::Kind::kIntegration, integration.id});
  return created;
}

absl::StatusOr<Integration> SqliteCredentialStore::Update(const Integration& integration,
                                                          absl::string_view expected_etag) {
  absl::StatusOr<Integration> updated = UpdateTx(integration, expected_etag);
  if (updated.ok()) feed_.Deliver({StoreChange::Kind::kIntegration, integration.id});
  return updated;
}

absl::StatusOr<std::vector<Integration>> SqliteCredentialStore::WriteAll(
    const std::vector<IntegrationWrite>& writes) {
  absl::StatusOr<std::vector<Integration>> written = core_->WriteAll(writes);
  if (written.ok()) {
    for (const Integration& integration : *written) {
      feed_.Deliver({StoreChange::Kind::kIntegration, integration.id});
    }
  }
  return written;
}

absl::Status SqliteCredentialStore::Delete(absl::string_view id, absl::string_view expected_etag) {
  absl::Status deleted = DeleteTx(id, expected_etag);
  if (deleted.ok()) {
    StoreChange change{StoreChange::Kind::kIntegration, std::string(id)};
    change.deleted = true;
    feed_.Deliver(change);
  }
  return deleted;
}

absl::Status SqliteCredentialStore::PutToken(absl::string_view id, const AccessToken& token) {
  absl::Status put = PutTokenTx(id, token);
  if (put.ok()) {
    StoreChange change{StoreChange::Kind::kToken, std::string(id)};
    change.token_expire_time = token.expire_time;
    feed_.Deliver(change);
  }
  return put;
}

}  // namespace tokenbroker
