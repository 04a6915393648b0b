#include "server/store/postgres_credential_store.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/store/page_token.h"
#include "server/store/postgres_connection.h"
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

absl::Status NotFound(absl::string_view id) { return internal::IntegrationNotFound(id); }

using internal::PgConnection;
using internal::PgParams;
using internal::PgPool;
using internal::PgRows;

constexpr char kChannel[] = "tokenbroker_changes";
// pg_advisory_xact_lock key serialising migrations: "tokenbrk" as a
// big-endian int64. Any replica migrating holds it until its COMMIT.
constexpr char kMigrationLockSql[] = "SELECT pg_advisory_xact_lock(8390042714202337899)";

// Schema migrations, applied in order; migration N is kMigrations[N - 1].
// Never edit a released migration: append a new one. SCHEMA.md documents
// the resulting schema column by column. Ids use the "C" collation so that
// List pages in byte order, as in the SQLite store.
constexpr const char* kMigrations[] = {
    // 1: integrations, their cached tokens, refresh leases.
    R"sql(
CREATE TABLE integrations (
  id                   text COLLATE "C" NOT NULL PRIMARY KEY,
  display_name         text    NOT NULL,
  auth_method          integer NOT NULL,
  client_id            text    NOT NULL,
  org_id               text    NOT NULL,
  technical_account_id text    NOT NULL,
  scopes               text    NOT NULL,
  metascopes           text    NOT NULL,
  ims_url              text    NOT NULL,
  sandbox_name         text    NOT NULL,
  state                integer NOT NULL,
  include_org_header   boolean NOT NULL,
  create_time_ns       bigint  NOT NULL,
  update_time_ns       bigint  NOT NULL,
  etag                 text    NOT NULL,
  credentials          bytea   NOT NULL,
  kek_id               text    NOT NULL
);
CREATE INDEX integrations_by_kek_id ON integrations (kek_id);
CREATE TABLE tokens (
  integration_id text COLLATE "C" NOT NULL PRIMARY KEY
                 REFERENCES integrations (id) ON DELETE CASCADE,
  token          bytea  NOT NULL,
  issue_time_ns  bigint,
  expire_time_ns bigint,
  debug_id       text   NOT NULL,
  kek_id         text   NOT NULL
);
CREATE INDEX tokens_by_kek_id ON tokens (kek_id);
CREATE TABLE refresh_leases (
  integration_id text COLLATE "C" NOT NULL PRIMARY KEY,
  holder         text        NOT NULL,
  expires_at     timestamptz NOT NULL
);
)sql",
};
constexpr int kLatestSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

constexpr char kIntegrationColumns[] =
    "id, display_name, auth_method, client_id, org_id, technical_account_id, scopes, metascopes, "
    "ims_url, sandbox_name, state, include_org_header, create_time_ns, update_time_ns, etag, "
    "credentials, kek_id";

StoredRow ReadRow(const PgRows& rows, int r) {
  return internal::ReadIntegrationRow([&rows, r](int i) { return rows.Bytes(r, i); },
                                      [&rows, r](int i) { return rows.Int(r, i); });
}

// display_name ... kek_id, but create_time_ns when `with_create_time` is
// false (Update keeps the stored one).
void AddColumns(PgParams& p, const Integration& in, const ColumnValues& v, bool with_create_time) {
  p.Add(in.display_name)
      .Add(static_cast<int64_t>(in.auth_method))
      .Add(in.client_id)
      .Add(in.org_id)
      .Add(in.technical_account_id)
      .Add(v.scopes)
      .Add(v.metascopes)
      .Add(in.ims_url)
      .Add(in.sandbox_name)
      .Add(static_cast<int64_t>(in.state))
      .Add(in.include_org_header ? "true" : "false");
  if (with_create_time) p.Add(absl::ToUnixNanos(in.create_time));
  p.Add(absl::ToUnixNanos(in.update_time))
      .Add(in.etag)
      .AddBytes(v.credentials.ciphertext)
      .Add(v.credentials.kek_id);
}

absl::StatusOr<bool> Exists(PgConnection& conn, absl::string_view id) {
  TB_ASSIGN_OR_RETURN(
      PgRows rows, conn.Exec("reading an integration", "SELECT 1 FROM integrations WHERE id = $1",
                             PgParams().Add(id)));
  return rows.size() > 0;
}

absl::Status Notify(PgConnection& conn, absl::string_view payload) {
  return conn
      .Exec("notifying replicas", "SELECT pg_notify($1, $2)", PgParams().Add(kChannel).Add(payload))
      .status();
}

absl::Status MigrateSchema(PgPool& pool) {
  int64_t from = 0;
  TB_RETURN_IF_ERROR(pool.Transaction([&](PgConnection& conn) -> absl::Status {
    TB_RETURN_IF_ERROR(
        conn.ExecScript("taking the migration lock", kMigrationLockSql, absl::Minutes(5)));
    TB_RETURN_IF_ERROR(conn.ExecScript(
        "creating schema_migrations",
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"));
    TB_ASSIGN_OR_RETURN(
        PgRows rows, conn.Exec("reading the schema version",
                               "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations"));
    from = rows.Int(0, 0);
    if (from > kLatestSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("database schema version ", from, " is newer than this binary supports (",
                       kLatestSchemaVersion, "): run a newer tokenbroker"));
    }
    for (int64_t version = from + 1; version <= kLatestSchemaVersion; ++version) {
      TB_RETURN_IF_ERROR(conn.ExecScript(absl::StrCat("applying migration ", version),
                                         kMigrations[version - 1], absl::Minutes(5)));
      TB_RETURN_IF_ERROR(conn.Exec("recording a migration",
                                   "INSERT INTO schema_migrations (version) VALUES ($1)",
                                   PgParams().Add(version))
                             .status());
    }
    return absl::OkStatus();
  }));
  if (from < kLatestSchemaVersion) {
    Log(LogLevel::kInfo, "applied schema migrations",
        {{"from_version", absl::StrCat(from)}, {"to_version", absl::StrCat(kLatestSchemaVersion)}});
  }
  return absl::OkStatus();
}

}  // namespace

int PostgresCredentialStore::LatestSchemaVersion() { return kLatestSchemaVersion; }

absl::StatusOr<int> PostgresCredentialStore::Migrate(const PostgresStoreOptions& options) {
  TB_ASSIGN_OR_RETURN(internal::PgDsn dsn, internal::PgDsn::Parse(options.dsn));
  const std::string description = dsn.description;
  PgPool::Options pool_options;
  pool_options.size = 1;
  pool_options.acquire_timeout = options.acquire_timeout;
  pool_options.connect_timeout = options.connect_timeout;
  PgPool pool(std::move(dsn), pool_options);
  absl::Status migrated = MigrateSchema(pool);
  if (!migrated.ok()) {
    return absl::Status(migrated.code(),
                        absl::StrCat("PostgreSQL store (", description, "): ", migrated.message()));
  }
  return kLatestSchemaVersion;
}

std::string PostgresCredentialStore::DescribeDsn(const std::string& dsn) {
  absl::StatusOr<internal::PgDsn> parsed = internal::PgDsn::Parse(dsn);
  return parsed.ok() ? parsed->description : "(unparsable connection string)";
}

bool PostgresCredentialStore::IsPostgresUri(const std::string& store) {
  return absl::StartsWith(store, "postgres://") || absl::StartsWith(store, "postgresql://");
}

PostgresCredentialStore::PostgresCredentialStore(PostgresStoreOptions options,
                                                 std::unique_ptr<PgPool> pool,
                                                 EnvelopeCipher* cipher, const Clock* clock)
    : options_(std::move(options)), pool_(std::move(pool)), cipher_(cipher), clock_(clock) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
}

PostgresCredentialStore::~PostgresCredentialStore() {
  stopping_ = true;
  if (wake_pipe_[1] >= 0) {
    char byte = 1;
    [[maybe_unused]] ssize_t n = write(wake_pipe_[1], &byte, 1);
  }
  {
    absl::MutexLock lock(&feed_mu_);
    if (feed_thread_.joinable()) feed_thread_.join();
  }
  for (int fd : wake_pipe_) {
    if (fd >= 0) close(fd);
  }
}

absl::StatusOr<std::unique_ptr<PostgresCredentialStore>> PostgresCredentialStore::Open(
    const PostgresStoreOptions& options, EnvelopeCipher* cipher, const Clock* clock) {
  if (cipher == nullptr) return absl::InvalidArgumentError("postgres store: no envelope cipher");
  if (clock == nullptr) return absl::InvalidArgumentError("postgres store: no clock");
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError("postgres store: pool size must be at least 1");
  }
  TB_ASSIGN_OR_RETURN(internal::PgDsn dsn, internal::PgDsn::Parse(options.dsn));
  const std::string description = dsn.description;
  PgPool::Options pool_options;
  pool_options.size = options.pool_size;
  pool_options.acquire_timeout = options.acquire_timeout;
  pool_options.connect_timeout = options.connect_timeout;
  auto pool = std::make_unique<PgPool>(std::move(dsn), pool_options);
  absl::Status migrated = MigrateSchema(*pool);
  if (!migrated.ok()) {
    return absl::Status(migrated.code(),
                        absl::StrCat("PostgreSQL store (", description, "): ", migrated.message()));
  }
  Log(LogLevel::kInfo, "PostgreSQL store opened",
      {{"database", description},
       {"pool_size", absl::StrCat(options.pool_size)},
       {"schema_version", absl::StrCat(kLatestSchemaVersion)}});
  return std::unique_ptr<PostgresCredentialStore>(
      new PostgresCredentialStore(options, std::move(pool), cipher, clock));
}

absl::StatusOr<Integration> PostgresCredentialStore::Create(const Integration& integration) {
  if (integration.id.empty()) return absl::InvalidArgumentError("integration id is empty");
  Integration stored = integration;
  stored.create_time = stored.update_time = clock_->Now();
  stored.etag = NewEtag();
  TB_ASSIGN_OR_RETURN(ColumnValues values, PrepareColumns(cipher_, stored));
  PgParams params;
  params.Add(stored.id);
  AddColumns(params, stored, values, /*with_create_time=*/true);
  const std::string sql = absl::StrCat(
      "INSERT INTO integrations (", kIntegrationColumns,
      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
      "ON CONFLICT (id) DO NOTHING");
  TB_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& conn) -> absl::Status {
    TB_ASSIGN_OR_RETURN(PgRows rows,
                        conn.Exec("creating an integration", sql, params, options_.query_timeout));
    if (rows.Affected() == 0) {
      return absl::AlreadyExistsError(absl::StrCat("integration '", stored.id, "' already exists"));
    }
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<Integration> PostgresCredentialStore::Get(absl::string_view id) {
  std::optional<StoredRow> row;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(PgRows rows, conn.Exec("reading an integration",
                                               absl::StrCat("SELECT ", kIntegrationColumns,
                                                            " FROM integrations WHERE id = $1"),
                                               PgParams().Add(id), options_.query_timeout));
    if (rows.size() > 0) row = ReadRow(rows, 0);
    return absl::OkStatus();
  }));
  if (!row.has_value()) return NotFound(id);
  return DecodeRow(cipher_, *std::move(row));
}

absl::StatusOr<IntegrationPage> PostgresCredentialStore::List(int page_size,
                                                              absl::string_view page_token) {
  if (page_size < 1) return absl::InvalidArgumentError("page_size must be at least 1");
  TB_ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token));
  std::vector<StoredRow> rows;
  bool more = false;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    rows.clear();
    TB_ASSIGN_OR_RETURN(PgRows result, conn.Exec("listing integrations",
                                                 absl::StrCat("SELECT ", kIntegrationColumns,
                                                              " FROM integrations WHERE id > $1 "
                                                              "ORDER BY id LIMIT $2"),
                                                 PgParams().Add(after).Add(int64_t{page_size} + 1),
                                                 options_.query_timeout));
    more = result.size() > page_size;
    for (int r = 0; r < std::min(result.size(), page_size); ++r) rows.push_back(ReadRow(result, r));
    return absl::OkStatus();
  }));
  return internal::DecodePage(cipher_, std::move(rows), more);
}

absl::StatusOr<Integration> PostgresCredentialStore::Update(const Integration& integration,
                                                            absl::string_view expected_etag) {
  Integration stored = integration;
  stored.update_time = clock_->Now();
  stored.etag = NewEtag();
  TB_ASSIGN_OR_RETURN(ColumnValues values, PrepareColumns(cipher_, stored));
  PgParams params;
  params.Add(stored.id);
  AddColumns(params, stored, values, /*with_create_time=*/false);
  params.Add(expected_etag);
  // Compare-and-set in one statement: under concurrent writers PostgreSQL
  // re-checks the WHERE clause against the row version it finally locks.
  constexpr char kSql[] =
      "UPDATE integrations SET display_name = $2, auth_method = $3, client_id = $4, "
      "org_id = $5, technical_account_id = $6, scopes = $7, metascopes = $8, ims_url = $9, "
      "sandbox_name = $10, state = $11, include_org_header = $12, update_time_ns = $13, "
      "etag = $14, credentials = $15, kek_id = $16 "
      "WHERE id = $1 AND ($17 = '' OR etag = $17) RETURNING create_time_ns";
  TB_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& conn) -> absl::Status {
    TB_ASSIGN_OR_RETURN(PgRows rows,
                        conn.Exec("updating an integration", kSql, params, options_.query_timeout));
    if (rows.size() == 0) {
      TB_ASSIGN_OR_RETURN(bool exists, Exists(conn, stored.id));
      return exists ? EtagMismatch(stored.id) : NotFound(stored.id);
    }
    stored.create_time = absl::FromUnixNanos(rows.Int(0, 0));
    // The cached token may belong to the old credentials.
    TB_RETURN_IF_ERROR(conn.Exec("dropping the cached token",
                                 "DELETE FROM tokens WHERE integration_id = $1",
                                 PgParams().Add(stored.id), options_.query_timeout)
                           .status());
    return Notify(conn, absl::StrCat("i:", stored.id));
  }));
  return stored;
}

absl::Status PostgresCredentialStore::Delete(absl::string_view id,
                                             absl::string_view expected_etag) {
  return pool_->Transaction([&](PgConnection& conn) -> absl::Status {
    TB_ASSIGN_OR_RETURN(
        PgRows rows, conn.Exec("deleting an integration",
                               "DELETE FROM integrations WHERE id = $1 AND ($2 = '' OR etag = $2)",
                               PgParams().Add(id).Add(expected_etag), options_.query_timeout));
    if (rows.Affected() == 0) {
      TB_ASSIGN_OR_RETURN(bool exists, Exists(conn, id));
      return exists ? EtagMismatch(id) : NotFound(id);
    }
    // Tokens go by ON DELETE CASCADE; a lease would outlive the row.
    TB_RETURN_IF_ERROR(conn.Exec("dropping the refresh lease",
                                 "DELETE FROM refresh_leases WHERE integration_id = $1",
                                 PgParams().Add(id), options_.query_timeout)
                           .status());
    return Notify(conn, absl::StrCat("i:", id));
  });
}

absl::Status PostgresCredentialStore::PutToken(absl::string_view id, const AccessToken& token) {
  TB_ASSIGN_OR_RETURN(Sealed sealed,
                      SealWith(cipher_, token.access_token.value(), internal::TokenContext(id)));
  PgParams params;
  params.Add(id)
      .AddBytes(sealed.ciphertext)
      .Add(TimeToColumn(token.issue_time))
      .Add(TimeToColumn(token.expire_time))
      .Add(token.debug_id)
      .Add(sealed.kek_id);
  absl::Status status = pool_->Transaction([&](PgConnection& conn) -> absl::Status {
    TB_RETURN_IF_ERROR(
        conn.Exec("storing a token",
                  "INSERT INTO tokens (integration_id, token, issue_time_ns, expire_time_ns, "
                  "debug_id, kek_id) VALUES ($1, $2, $3, $4, $5, $6) "
                  "ON CONFLICT (integration_id) DO UPDATE SET token = excluded.token, "
                  "issue_time_ns = excluded.issue_time_ns, "
                  "expire_time_ns = excluded.expire_time_ns, debug_id = excluded.debug_id, "
                  "kek_id = excluded.kek_id",
                  params, options_.query_timeout)
            .status());
    return Notify(conn, absl::StrCat("t:", id));
  });
  // foreign_key_violation: the integration is gone.
  if (absl::IsNotFound(status)) return NotFound(id);
  return status;
}

absl::StatusOr<std::optional<AccessToken>> PostgresCredentialStore::GetToken(absl::string_view id) {
  bool found = false;
  std::optional<std::string> ciphertext;
  AccessToken token;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(
        PgRows rows, conn.Exec("reading a token",
                               "SELECT t.token, t.issue_time_ns, t.expire_time_ns, t.debug_id "
                               "FROM integrations i LEFT JOIN tokens t ON t.integration_id = i.id "
                               "WHERE i.id = $1",
                               PgParams().Add(id), options_.query_timeout));
    found = rows.size() > 0;
    if (!found || rows.IsNull(0, 0)) return absl::OkStatus();
    ciphertext = rows.Bytes(0, 0);
    token.issue_time = TimeFromColumn(rows.OptionalInt(0, 1));
    token.expire_time = TimeFromColumn(rows.OptionalInt(0, 2));
    token.debug_id = rows.Bytes(0, 3);
    return absl::OkStatus();
  }));
  if (!found) return NotFound(id);
  if (!ciphertext.has_value()) return std::optional<AccessToken>();
  TB_RETURN_IF_ERROR(internal::OpenToken(cipher_, id, *ciphertext, &token));
  return std::optional<AccessToken>(std::move(token));
}

absl::Status PostgresCredentialStore::CheckHealth() {
  absl::StatusOr<PgPool::Lease> lease = pool_->Acquire(options_.health_timeout);
  if (!lease.ok()) return absl::UnavailableError(lease.status().message());
  absl::StatusOr<PgRows> rows =
      (*lease)->Exec("health check", "SELECT 1", PgParams(), options_.health_timeout);
  if (!rows.ok()) return absl::UnavailableError(rows.status().message());
  return absl::OkStatus();
}

absl::StatusOr<bool> PostgresCredentialStore::TryAcquireRefreshLease(absl::string_view id,
                                                                     absl::string_view holder,
                                                                     absl::Duration ttl) {
  if (holder.empty()) return absl::InvalidArgumentError("lease holder is empty");
  // One statement, so atomic; now() is the database's clock, never ours.
  // Retrying it is harmless: a second run by the same holder only extends.
  bool held = false;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(
        PgRows rows, conn.Exec("taking a refresh lease",
                               "INSERT INTO refresh_leases (integration_id, holder, expires_at) "
                               "VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond') "
                               "ON CONFLICT (integration_id) DO UPDATE "
                               "SET holder = excluded.holder, expires_at = excluded.expires_at "
                               "WHERE refresh_leases.holder = excluded.holder "
                               "OR refresh_leases.expires_at <= now() RETURNING holder",
                               PgParams().Add(id).Add(holder).Add(absl::ToInt64Microseconds(ttl)),
                               options_.query_timeout));
    held = rows.size() == 1;
    return absl::OkStatus();
  }));
  return held;
}

absl::Status PostgresCredentialStore::ReleaseRefreshLease(absl::string_view id,
                                                          absl::string_view holder) {
  return pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    return conn
        .Exec("releasing a refresh lease",
              "DELETE FROM refresh_leases WHERE integration_id = $1 AND holder = $2",
              PgParams().Add(id).Add(holder), options_.query_timeout)
        .status();
  });
}

void PostgresCredentialStore::SetChangeListener(std::function<void(const StoreChange&)> listener) {
  const bool start = listener != nullptr;
  {
    absl::MutexLock lock(&listener_mu_);
    listener_ = std::move(listener);
  }
  if (!start) return;
  absl::MutexLock lock(&feed_mu_);
  if (!feed_thread_.joinable() && !stopping_) {
    feed_thread_ = std::thread([this] { FeedLoop(); });
  }
}

void PostgresCredentialStore::Deliver(const StoreChange& change) {
  absl::MutexLock lock(&listener_mu_);
  if (listener_) listener_(change);
}

bool PostgresCredentialStore::WaitReadable(int fd, absl::Duration timeout) {
  pollfd fds[2] = {{wake_pipe_[0], POLLIN, 0}, {fd, POLLIN, 0}};
  const int ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  int n = poll(fds, fd >= 0 ? 2 : 1, ms);
  if (n < 0 && errno != EINTR) return !stopping_;
  return !stopping_ && (fds[0].revents & POLLIN) == 0;
}

void PostgresCredentialStore::FeedLoop() {
  constexpr absl::Duration kInitialBackoff = absl::Milliseconds(100);
  constexpr absl::Duration kIdlePing = absl::Seconds(30);
  absl::Duration backoff = kInitialBackoff;
  bool missed = false;  // a gap in which changes may have been missed
  bool logged_outage = false;
  const std::string listen_sql = absl::StrCat("LISTEN ", kChannel);
  while (!stopping_) {
    absl::StatusOr<std::unique_ptr<PgConnection>> conn =
        PgConnection::Connect(pool_->dsn(), options_.connect_timeout);
    absl::Status listening =
        conn.ok() ? (*conn)->ExecScript("listening for changes", listen_sql) : conn.status();
    if (!listening.ok()) {
      missed = true;
      if (!logged_outage) {
        Log(LogLevel::kWarning, "postgres change feed: cannot listen; retrying",
            {{"database", pool_->dsn().description}, {"error", std::string(listening.message())}});
        logged_outage = true;
      }
      if (!WaitReadable(-1, backoff)) return;
      backoff = std::min(backoff * 2, options_.max_reconnect_backoff);
      continue;
    }
    backoff = kInitialBackoff;
    if (logged_outage) {
      Log(LogLevel::kInfo, "postgres change feed: listening again",
          {{"database", pool_->dsn().description}});
      logged_outage = false;
    }
    if (missed) {
      Deliver(StoreChange{StoreChange::Kind::kResync, ""});
      missed = false;
    }
    PGconn* pg = (*conn)->get();
    absl::Time last_input = absl::Now();
    while (!stopping_) {
      while (internal::PgNotifyHandle notify{PQnotifies(pg)}) {
        absl::string_view payload = notify->extra;
        StoreChange change;
        if (absl::StartsWith(payload, "t:")) {
          change.kind = StoreChange::Kind::kToken;
        } else if (absl::StartsWith(payload, "i:")) {
          change.kind = StoreChange::Kind::kIntegration;
        } else {
          continue;
        }
        change.id = std::string(payload.substr(2));
        Deliver(change);
      }
      const absl::Duration idle = absl::Now() - last_input;
      if (!WaitReadable(PQsocket(pg), std::max(kIdlePing - idle, absl::ZeroDuration()))) return;
      if (absl::Now() - last_input >= kIdlePing) {
        // Quiet for a while: make sure the server is still there (a dead
        // peer behind a silent network would otherwise never be noticed).
        if (!(*conn)->ExecScript("change feed ping", "SELECT 1", absl::Seconds(10)).ok()) break;
        last_input = absl::Now();
        continue;
      }
      if (PQconsumeInput(pg) == 0 || PQstatus(pg) != CONNECTION_OK) break;
      last_input = absl::Now();
    }
    if (stopping_) return;
    missed = true;
    Log(LogLevel::kWarning, "postgres change feed: connection lost; reconnecting",
        {{"database", pool_->dsn().description}});
    logged_outage = true;
  }
}

absl::StatusOr<std::vector<std::string>> PostgresCredentialStore::KeyIdsInUse() {
  std::vector<std::string> ids;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    ids.clear();
    TB_ASSIGN_OR_RETURN(
        PgRows rows, conn.Exec("listing key ids in use", internal::kDistinctKeyIdsSql, PgParams(),
                               options_.query_timeout));
    for (int r = 0; r < rows.size(); ++r) ids.push_back(rows.Bytes(r, 0));
    return absl::OkStatus();
  }));
  return ids;
}

absl::StatusOr<PostgresCredentialStore::Counts> PostgresCredentialStore::Count() {
  Counts counts;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(PgRows rows, conn.Exec("counting rows",
                                               "SELECT (SELECT count(*) FROM integrations), "
                                               "(SELECT count(*) FROM tokens)",
                                               PgParams(), options_.query_timeout));
    counts.integrations = rows.Int(0, 0);
    counts.tokens = rows.Int(0, 1);
    return absl::OkStatus();
  }));
  return counts;
}

absl::StatusOr<PostgresCredentialStore::RekeyProgress> PostgresCredentialStore::Rekey(
    std::function<void(const RekeyProgress&)> on_progress, int batch_size) {
  if (batch_size < 1) return absl::InvalidArgumentError("batch_size must be at least 1");
  const std::string primary = cipher_->PrimaryKeyId();
  RekeyProgress progress;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(
        PgRows rows,
        conn.Exec("counting ciphertexts",
                  "SELECT (SELECT count(*) FROM integrations) + (SELECT count(*) FROM tokens), "
                  "(SELECT count(*) FROM integrations WHERE kek_id = $1) + "
                  "(SELECT count(*) FROM tokens WHERE kek_id = $1)",
                  PgParams().Add(primary), options_.query_timeout));
    progress.total = rows.Int(0, 0);
    progress.already_current = rows.Int(0, 1);
    return absl::OkStatus();
  }));
  Log(LogLevel::kInfo, "rekey started",
      {{"primary_key_id", primary},
       {"ciphertexts", absl::StrCat(progress.total)},
       {"already_current", absl::StrCat(progress.already_current)}});
  TB_RETURN_IF_ERROR(RekeyTable(/*tokens=*/false, primary, batch_size, on_progress, &progress));
  TB_RETURN_IF_ERROR(RekeyTable(/*tokens=*/true, primary, batch_size, on_progress, &progress));
  Log(LogLevel::kInfo, "rekey finished",
      {{"primary_key_id", primary},
       {"rewrapped", absl::StrCat(progress.rewrapped)},
       {"already_current", absl::StrCat(progress.already_current)},
       {"dropped_tokens", absl::StrCat(progress.dropped_tokens)}});
  return progress;
}

absl::Status PostgresCredentialStore::RekeyTable(
    bool tokens, const std::string& primary, int batch_size,
    const std::function<void(const RekeyProgress&)>& on_progress, RekeyProgress* progress) {
  const char* table = tokens ? "tokens" : "integrations";
  const char* id_column = tokens ? "integration_id" : "id";
  const char* blob_column = tokens ? "token" : "credentials";
  const std::string select =
      absl::StrCat("SELECT ", id_column, ", ", blob_column, " FROM ", table, " WHERE kek_id <> $1 ",
                   "AND ", id_column, " > $2 ORDER BY ", id_column, " LIMIT $3");
  const std::string update =
      absl::StrCat("UPDATE ", table, " SET ", blob_column, " = $1, kek_id = $2 WHERE ", id_column,
                   " = $3 AND ", blob_column, " = $4");
  const std::string drop = "DELETE FROM tokens WHERE integration_id = $1 AND token = $2";

  struct Item {
    std::string id;
    std::string old_ciphertext;
    std::optional<Sealed> rewrapped;  // nullopt: a token to drop
  };
  std::string after;
  while (true) {
    std::vector<Item> batch;
    TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
      batch.clear();
      TB_ASSIGN_OR_RETURN(PgRows rows,
                          conn.Exec("reading ciphertexts to re-wrap", select,
                                    PgParams().Add(primary).Add(after).Add(int64_t{batch_size}),
                                    options_.query_timeout));
      for (int r = 0; r < rows.size(); ++r) {
        batch.push_back(Item{rows.Bytes(r, 0), rows.Bytes(r, 1), std::nullopt});
      }
      return absl::OkStatus();
    }));
    if (batch.empty()) return absl::OkStatus();
    after = batch.back().id;

    for (Item& item : batch) {
      TB_ASSIGN_OR_RETURN(item.rewrapped,
                          internal::RewrapStored(cipher_, tokens, item.id, item.old_ciphertext));
    }

    RekeyProgress delta;
    TB_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& conn) -> absl::Status {
      delta = RekeyProgress();
      for (const Item& item : batch) {
        // Compare-and-set on the old ciphertext: a concurrent writer wins.
        if (item.rewrapped.has_value()) {
          TB_ASSIGN_OR_RETURN(PgRows rows, conn.Exec("re-wrapping", update,
                                                     PgParams()
                                                         .AddBytes(item.rewrapped->ciphertext)
                                                         .Add(item.rewrapped->kek_id)
                                                         .Add(item.id)
                                                         .AddBytes(item.old_ciphertext),
                                                     options_.query_timeout));
          ++(rows.Affected() > 0 ? delta.rewrapped : delta.already_current);
        } else {
          TB_ASSIGN_OR_RETURN(PgRows rows,
                              conn.Exec("dropping a token", drop,
                                        PgParams().Add(item.id).AddBytes(item.old_ciphertext),
                                        options_.query_timeout));
          ++(rows.Affected() > 0 ? delta.dropped_tokens : delta.already_current);
        }
      }
      return absl::OkStatus();
    }));
    progress->rewrapped += delta.rewrapped;
    progress->already_current += delta.already_current;
    progress->dropped_tokens += delta.dropped_tokens;
    if (on_progress) on_progress(*progress);
  }
}

}  // namespace tokenbroker
