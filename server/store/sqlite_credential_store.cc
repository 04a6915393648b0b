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
#include "server/store/sqlite_db.h"
#include "server/store/stored_record.h"

namespace tokenbroker {
namespace {

using internal::ColumnValues;
using internal::DecodeRow;
using internal::EtagMismatch;
using internal::PrepareColumns;
using internal::Sealed;
using internal::SealWith;
using internal::StoredRow;
using internal::TimeFromColumn;
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
};
constexpr int kLatestSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

constexpr char kIntegrationColumns[] =
    "id, display_name, auth_method, client_id, org_id, technical_account_id, scopes, metascopes, "
    "ims_url, sandbox_name, state, include_org_header, create_time_ns, update_time_ns, etag, "
    "credentials, kek_id";

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

// Reads a row selected with kIntegrationColumns.
StoredRow ReadRow(const SqliteQuery& q) {
  return internal::ReadIntegrationRow([&q](int i) { return q.Text(i); },
                                      [&q](int i) { return q.Int(i); });
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

// Whether an integration `id` exists (inside the caller's transaction).
absl::StatusOr<bool> Exists(SqliteConnection* db, absl::string_view id) {
  TB_ASSIGN_OR_RETURN(SqliteQuery q, db->Prepare("SELECT 1 FROM integrations WHERE id = ?"));
  return q.Bind(id).Step();
}

// Binds display_name ... kek_id (16 parameters).
void BindColumns(SqliteQuery& q, const Integration& in, const ColumnValues& v) {
  q.Bind(in.display_name)
      .Bind(static_cast<int64_t>(in.auth_method))
      .Bind(in.client_id)
      .Bind(in.org_id)
      .Bind(in.technical_account_id)
      .Bind(v.scopes)
      .Bind(v.metascopes)
      .Bind(in.ims_url)
      .Bind(in.sandbox_name)
      .Bind(static_cast<int64_t>(in.state))
      .Bind(int64_t{in.include_org_header ? 1 : 0})
      .Bind(absl::ToUnixNanos(in.create_time))
      .Bind(absl::ToUnixNanos(in.update_time))
      .Bind(in.etag)
      .BindBlob(v.credentials.ciphertext)
      .Bind(v.credentials.kek_id);
}

}  // namespace

int SqliteCredentialStore::LatestSchemaVersion() { return kLatestSchemaVersion; }

SqliteCredentialStore::SqliteCredentialStore(std::string path, std::unique_ptr<SqliteConnection> db,
                                             EnvelopeCipher* cipher, const Clock* clock)
    : path_(std::move(path)), cipher_(cipher), clock_(clock), db_(std::move(db)) {}

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

absl::StatusOr<Integration> SqliteCredentialStore::Create(const Integration& integration) {
  if (integration.id.empty()) return absl::InvalidArgumentError("integration id is empty");
  Integration stored = integration;
  stored.create_time = stored.update_time = clock_->Now();
  stored.etag = NewEtag();
  TB_ASSIGN_OR_RETURN(ColumnValues values, PrepareColumns(cipher_, stored));

  absl::MutexLock lock(&mu_);
  TB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_.get()));
  {
    TB_ASSIGN_OR_RETURN(
        SqliteQuery q,
        db_->Prepare(absl::StrCat("INSERT INTO integrations (", kIntegrationColumns,
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                  "ON CONFLICT (id) DO NOTHING")));
    q.Bind(stored.id);
    BindColumns(q, stored, values);
    TB_RETURN_IF_ERROR(q.Run());
  }
  if (db_->Changes() == 0) {
    return absl::AlreadyExistsError(absl::StrCat("integration '", stored.id, "' already exists"));
  }
  {
    // Cascading deletes leave no token behind, unless the file was edited
    // with foreign keys off: a new integration never inherits one.
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare("DELETE FROM tokens WHERE integration_id = ?"));
    TB_RETURN_IF_ERROR(q.Bind(stored.id).Run());
  }
  TB_RETURN_IF_ERROR(tx.Commit());
  return stored;
}

absl::StatusOr<Integration> SqliteCredentialStore::Get(absl::string_view id) {
  StoredRow row;
  {
    absl::MutexLock lock(&mu_);
    TB_ASSIGN_OR_RETURN(SqliteQuery q,
                        db_->Prepare(absl::StrCat("SELECT ", kIntegrationColumns,
                                                  " FROM integrations WHERE id = ?")));
    TB_ASSIGN_OR_RETURN(bool found, q.Bind(id).Step());
    if (!found) return NotFound(id);
    row = ReadRow(q);
  }
  return DecodeRow(cipher_, std::move(row));
}

absl::StatusOr<IntegrationPage> SqliteCredentialStore::List(int page_size,
                                                            absl::string_view page_token) {
  if (page_size < 1) return absl::InvalidArgumentError("page_size must be at least 1");
  TB_ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token));
  std::vector<StoredRow> rows;
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare(absl::StrCat("SELECT ", kIntegrationColumns,
                                                                 " FROM integrations WHERE id > ? "
                                                                 "ORDER BY id LIMIT ?")));
    q.Bind(after).Bind(int64_t{page_size} + 1);
    while (true) {
      TB_ASSIGN_OR_RETURN(bool found, q.Step());
      if (!found) break;
      if (static_cast<int>(rows.size()) == page_size) {
        more = true;
        break;
      }
      rows.push_back(ReadRow(q));
    }
  }
  return internal::DecodePage(cipher_, std::move(rows), more);
}

absl::StatusOr<Integration> SqliteCredentialStore::Update(const Integration& integration,
                                                          absl::string_view expected_etag) {
  Integration stored = integration;
  stored.update_time = clock_->Now();
  stored.etag = NewEtag();
  // create_time is kept: read from the row below.
  TB_ASSIGN_OR_RETURN(ColumnValues values, PrepareColumns(cipher_, stored));

  absl::MutexLock lock(&mu_);
  TB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_.get()));
  std::string current_etag;
  {
    TB_ASSIGN_OR_RETURN(SqliteQuery q,
                        db_->Prepare("SELECT etag, create_time_ns FROM integrations WHERE id = ?"));
    TB_ASSIGN_OR_RETURN(bool found, q.Bind(stored.id).Step());
    if (!found) return NotFound(stored.id);
    current_etag = q.Text(0);
    stored.create_time = absl::FromUnixNanos(q.Int(1));
  }
  if (!expected_etag.empty() && expected_etag != current_etag) return EtagMismatch(stored.id);
  {
    // The write lock is held since BEGIN IMMEDIATE, so the etag read above
    // is still current; the WHERE clause repeats the compare-and-set anyway.
    TB_ASSIGN_OR_RETURN(
        SqliteQuery q,
        db_->Prepare("UPDATE integrations SET display_name = ?, auth_method = ?, client_id = ?, "
                     "org_id = ?, technical_account_id = ?, scopes = ?, metascopes = ?, "
                     "ims_url = ?, sandbox_name = ?, state = ?, include_org_header = ?, "
                     "create_time_ns = ?, update_time_ns = ?, etag = ?, credentials = ?, "
                     "kek_id = ? WHERE id = ? AND etag = ?"));
    BindColumns(q, stored, values);
    TB_RETURN_IF_ERROR(q.Bind(stored.id).Bind(current_etag).Run());
  }
  if (db_->Changes() != 1) return EtagMismatch(stored.id);
  {
    // The cached token may belong to the old credentials.
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare("DELETE FROM tokens WHERE integration_id = ?"));
    TB_RETURN_IF_ERROR(q.Bind(stored.id).Run());
  }
  TB_RETURN_IF_ERROR(tx.Commit());
  return stored;
}

absl::Status SqliteCredentialStore::Delete(absl::string_view id, absl::string_view expected_etag) {
  absl::MutexLock lock(&mu_);
  TB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_.get()));
  {
    TB_ASSIGN_OR_RETURN(
        SqliteQuery q,
        db_->Prepare("DELETE FROM integrations WHERE id = ? AND (? = '' OR etag = ?)"));
    TB_RETURN_IF_ERROR(q.Bind(id).Bind(expected_etag).Bind(expected_etag).Run());
  }
  if (db_->Changes() == 0) {
    TB_ASSIGN_OR_RETURN(bool exists, Exists(db_.get(), id));
    return exists ? EtagMismatch(id) : NotFound(id);
  }
  {
    // ON DELETE CASCADE already did this; kept for files edited with
    // foreign keys off.
    TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare("DELETE FROM tokens WHERE integration_id = ?"));
    TB_RETURN_IF_ERROR(q.Bind(id).Run());
  }
  return tx.Commit();
}

absl::Status SqliteCredentialStore::PutToken(absl::string_view id, const AccessToken& token) {
  TB_ASSIGN_OR_RETURN(Sealed sealed,
                      SealWith(cipher_, token.access_token.value(), internal::TokenContext(id)));
  absl::MutexLock lock(&mu_);
  TB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_.get()));
  TB_ASSIGN_OR_RETURN(bool exists, Exists(db_.get(), id));
  if (!exists) return NotFound(id);
  {
    TB_ASSIGN_OR_RETURN(
        SqliteQuery q,
        db_->Prepare("INSERT INTO tokens (integration_id, token, issue_time_ns, expire_time_ns, "
                     "debug_id, kek_id) VALUES (?, ?, ?, ?, ?, ?) "
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
  }
  return tx.Commit();
}

absl::StatusOr<std::optional<AccessToken>> SqliteCredentialStore::GetToken(absl::string_view id) {
  std::string ciphertext;
  AccessToken token;
  {
    absl::MutexLock lock(&mu_);
    TB_ASSIGN_OR_RETURN(
        SqliteQuery q,
        db_->Prepare("SELECT t.token, t.issue_time_ns, t.expire_time_ns, t.debug_id "
                     "FROM integrations i LEFT JOIN tokens t ON t.integration_id = i.id "
                     "WHERE i.id = ?"));
    TB_ASSIGN_OR_RETURN(bool found, q.Bind(id).Step());
    if (!found) return NotFound(id);
    if (q.IsNull(0)) return std::optional<AccessToken>();
    ciphertext = q.Text(0);
    token.issue_time = TimeFromColumn(q.OptionalInt(1));
    token.expire_time = TimeFromColumn(q.OptionalInt(2));
    token.debug_id = q.Text(3);
  }
  TB_RETURN_IF_ERROR(internal::OpenToken(cipher_, id, ciphertext, &token));
  return std::optional<AccessToken>(std::move(token));
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

absl::StatusOr<std::vector<std::string>> SqliteCredentialStore::KeyIdsInUse() {
  absl::MutexLock lock(&mu_);
  TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare(internal::kDistinctKeyIdsSql));
  std::vector<std::string> ids;
  while (true) {
    TB_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ids.push_back(q.Text(0));
  }
  return ids;
}

absl::StatusOr<SqliteCredentialStore::RekeyProgress> SqliteCredentialStore::Rekey(
    std::function<void(const RekeyProgress&)> on_progress, int batch_size) {
  if (batch_size < 1) return absl::InvalidArgumentError("batch_size must be at least 1");
  const std::string primary = cipher_->PrimaryKeyId();
  RekeyProgress progress;
  {
    absl::MutexLock lock(&mu_);
    TB_ASSIGN_OR_RETURN(
        SqliteQuery q,
        db_->Prepare("SELECT (SELECT count(*) FROM integrations) + (SELECT count(*) FROM tokens), "
                     "(SELECT count(*) FROM integrations WHERE kek_id = ?) + "
                     "(SELECT count(*) FROM tokens WHERE kek_id = ?)"));
    TB_ASSIGN_OR_RETURN(bool row, q.Bind(primary).Bind(primary).Step());
    if (row) {
      progress.total = q.Int(0);
      progress.already_current = q.Int(1);
    }
  }
  Log(LogLevel::kInfo, "rekey started",
      {{"primary_key_id", primary},
       {"ciphertexts", absl::StrCat(progress.total)},
       {"already_current", absl::StrCat(progress.already_current)}});
  TB_RETURN_IF_ERROR(RekeyTable(/*tokens=*/false, primary, batch_size, on_progress, &progress));
  TB_RETURN_IF_ERROR(RekeyTable(/*tokens=*/true, primary, batch_size, on_progress, &progress));
  {
    // Old wrappings live on in WAL frames until they are checkpointed and
    // the WAL truncated. Best effort: a long reader can keep it from
    // completing, and the next automatic checkpoint catches up.
    absl::MutexLock lock(&mu_);
    absl::StatusOr<SqliteQuery> q = db_->Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (q.ok()) q->Run().IgnoreError();
  }
  Log(LogLevel::kInfo, "rekey finished",
      {{"primary_key_id", primary},
       {"rewrapped", absl::StrCat(progress.rewrapped)},
       {"already_current", absl::StrCat(progress.already_current)},
       {"dropped_tokens", absl::StrCat(progress.dropped_tokens)}});
  return progress;
}

absl::Status SqliteCredentialStore::RekeyTable(
    bool tokens, const std::string& primary, int batch_size,
    const std::function<void(const RekeyProgress&)>& on_progress, RekeyProgress* progress) {
  const char* table = tokens ? "tokens" : "integrations";
  const char* id_column = tokens ? "integration_id" : "id";
  const char* blob_column = tokens ? "token" : "credentials";
  const std::string select =
      absl::StrCat("SELECT ", id_column, ", ", blob_column, " FROM ", table,
                   " WHERE kek_id <> ? AND ", id_column, " > ? ORDER BY ", id_column, " LIMIT ?");
  const std::string update =
      absl::StrCat("UPDATE ", table, " SET ", blob_column, " = ?, kek_id = ? WHERE ", id_column,
                   " = ? AND ", blob_column, " = ?");
  const std::string drop =
      absl::StrCat("DELETE FROM tokens WHERE integration_id = ? AND token = ?");

  struct Item {
    std::string id;
    std::string old_ciphertext;
    std::optional<Sealed> rewrapped;  // nullopt: a token to drop
  };
  std::string after;  // ids are visited in order, each at most once per run
  while (true) {
    std::vector<Item> batch;
    {
      absl::MutexLock lock(&mu_);
      TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare(select));
      q.Bind(primary).Bind(after).Bind(int64_t{batch_size});
      while (true) {
        TB_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        batch.push_back(Item{q.Text(0), q.Text(1), std::nullopt});
      }
    }
    if (batch.empty()) return absl::OkStatus();
    after = batch.back().id;

    // Re-wrap outside the mutex: CPU work only, readers and writers go on.
    for (Item& item : batch) {
      TB_ASSIGN_OR_RETURN(item.rewrapped,
                          internal::RewrapStored(cipher_, tokens, item.id, item.old_ciphertext));
    }

    RekeyProgress delta;
    {
      absl::MutexLock lock(&mu_);
      TB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_.get()));
      for (const Item& item : batch) {
        // Compare-and-set on the old ciphertext: a row a writer changed (or
        // deleted) since it was read is the writer's, sealed with the primary.
        if (item.rewrapped.has_value()) {
          TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare(update));
          TB_RETURN_IF_ERROR(q.BindBlob(item.rewrapped->ciphertext)
                                 .Bind(item.rewrapped->kek_id)
                                 .Bind(item.id)
                                 .BindBlob(item.old_ciphertext)
                                 .Run());
          if (db_->Changes() > 0) {
            ++delta.rewrapped;
          } else {
            ++delta.already_current;
          }
        } else {
          TB_ASSIGN_OR_RETURN(SqliteQuery q, db_->Prepare(drop));
          TB_RETURN_IF_ERROR(q.Bind(item.id).BindBlob(item.old_ciphertext).Run());
          if (db_->Changes() > 0) {
            ++delta.dropped_tokens;
          } else {
            ++delta.already_current;
          }
        }
      }
      TB_RETURN_IF_ERROR(tx.Commit());
    }
    progress->rewrapped += delta.rewrapped;
    progress->already_current += delta.already_current;
    progress->dropped_tokens += delta.dropped_tokens;
    // Outside the mutex: the callback may call the store.
    if (on_progress) on_progress(*progress);
  }
}

}  // namespace tokenbroker
