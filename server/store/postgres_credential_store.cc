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
#include "server/store/change_payload.h"
#include "server/store/page_token.h"
#include "server/store/postgres_connection.h"
#include "server/store/sql_store_core.h"
#include "server/store/stored_record.h"

namespace tokenbroker {
namespace {

using internal::Sealed;
using internal::SealWith;
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
    // 2: taking a refresh lease and reading the token stored at that moment
    // in one round trip. A function, not one statement with a CTE: a
    // statement reads one snapshot, taken before its INSERT may wait for the
    // previous holder's PutTokenAndReleaseLease to commit, so it would miss
    // the very token that holder just stored. In a VOLATILE function each
    // statement takes a new snapshot (READ COMMITTED): the SELECT sees it.
    R"sql(
CREATE FUNCTION tokenbroker_take_refresh_lease(lease_id text, lease_holder text, ttl_us bigint)
RETURNS TABLE (held boolean, sealed_token bytea, token_issue_time_ns bigint,
               token_expire_time_ns bigint, token_debug_id text)
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  INSERT INTO refresh_leases AS l (integration_id, holder, expires_at)
  VALUES (lease_id, lease_holder, now() + ttl_us * interval '1 microsecond')
  ON CONFLICT (integration_id) DO UPDATE
    SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE l.holder = excluded.holder OR l.expires_at <= now();
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, NULL::bytea, NULL::bigint, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  RETURN QUERY
    SELECT true, t.token, t.issue_time_ns, t.expire_time_ns, t.debug_id
    FROM (SELECT 1) AS one LEFT JOIN tokens t ON t.integration_id = lease_id;
END
$fn$;
)sql",
    // 3: where each credential lives in the Developer Console, its secret
    // rotation period, what is known of each client secret, and the last
    // rotation (SQLite's migration 2). Existing rows read as unknown /
    // server default / never. Constant defaults: no table rewrite.
    R"sql(
ALTER TABLE integrations
  ADD COLUMN console_org_id               text   NOT NULL DEFAULT '',
  ADD COLUMN console_credential_id        text   NOT NULL DEFAULT '',
  ADD COLUMN secret_rotation_period_ns    bigint,
  ADD COLUMN client_secret_info           text   NOT NULL DEFAULT '[]',
  ADD COLUMN last_secret_rotation_time_ns bigint;
)sql",
};
constexpr int kLatestSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// Stores a token, releases the lease of `$7` (a holder is never empty, so
// '' releases nothing) and notifies, in one statement: one round trip, one
// (implicit) transaction. Data-modifying CTEs run to completion whether or
// not the main query reads them; pg_notify runs once, when the upsert
// wrote a row. An integration that is gone fails the foreign key (23503).
constexpr char kPutTokenSql[] =
    "WITH put AS ("
    "INSERT INTO tokens (integration_id, token, issue_time_ns, expire_time_ns, debug_id, kek_id) "
    "VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (integration_id) DO UPDATE SET token = excluded.token, "
    "issue_time_ns = excluded.issue_time_ns, expire_time_ns = excluded.expire_time_ns, "
    "debug_id = excluded.debug_id, kek_id = excluded.kek_id RETURNING integration_id), "
    "released AS (DELETE FROM refresh_leases WHERE integration_id = $1 AND holder = $7) "
    "SELECT pg_notify($8, $9) FROM put";

// The token columns (token, issue_time_ns, expire_time_ns, debug_id) of row
// `r` from column `col`, opened; nullopt when there is none or it cannot be
// opened (logged: a cached token is only a cache).
std::optional<AccessToken> ReadToken(EnvelopeCipher* cipher, absl::string_view id,
                                     const PgRows& rows, int r, int col) {
  if (rows.IsNull(r, col)) return std::nullopt;
  AccessToken token;
  token.issue_time = TimeFromColumn(rows.OptionalInt(r, col + 1));
  token.expire_time = TimeFromColumn(rows.OptionalInt(r, col + 2));
  token.debug_id = rows.Bytes(r, col + 3);
  return internal::OpenCachedToken(cipher, id, rows.Bytes(r, col), std::move(token));
}

// The shared SQL's connection: a pooled PgConnection.
class PgSqlRow final : public internal::SqlRow {
 public:
  PgSqlRow(const PgRows& rows, int row) : rows_(rows), row_(row) {}
  bool IsNull(int column) const override { return rows_.IsNull(row_, column); }
  std::string Bytes(int column) const override { return rows_.Bytes(row_, column); }
  int64_t Int(int column) const override { return rows_.Int(row_, column); }

 private:
  const PgRows& rows_;
  const int row_;
};

class PgSqlConnection final : public internal::SqlConnection {
 public:
  PgSqlConnection(PgConnection& conn, absl::Duration timeout) : conn_(conn), timeout_(timeout) {}
  absl::StatusOr<int64_t> Exec(
      absl::string_view what, const std::string& sql, const internal::SqlParams& params,
      const std::function<void(const internal::SqlRow&)>& on_row) override {
    using Type = internal::SqlParams::Value::Type;
    PgParams pg;
    for (const internal::SqlParams::Value& v : params.values()) {
      switch (v.type) {
        case Type::kText:
          pg.Add(v.bytes);
          break;
        case Type::kInt:
          pg.Add(v.integer);  // text; PostgreSQL also reads '1'/'0' as a boolean
          break;
        case Type::kNull:
          pg.Add(std::optional<int64_t>());
          break;
        case Type::kBlob:
          pg.AddBytes(v.bytes);
          break;
      }
    }
    TB_ASSIGN_OR_RETURN(PgRows rows, conn_.Exec(what, sql, pg, timeout_));
    if (on_row) {
      for (int r = 0; r < rows.size(); ++r) on_row(PgSqlRow(rows, r));
    }
    return std::max<int64_t>(rows.size(), rows.Affected());
  }

 private:
  PgConnection& conn_;
  const absl::Duration timeout_;
};

}  // namespace

// Reads on a pooled connection (retried once on a new one after a lost
// connection), writes in a pool transaction.
class PostgresCredentialStore::PooledSqlDatabase final : public internal::SqlDatabase {
 public:
  PooledSqlDatabase(PgPool* pool, absl::Duration timeout) : pool_(pool), timeout_(timeout) {}
  absl::Status Read(const std::function<absl::Status(internal::SqlConnection&)>& work) override {
    return pool_->Run([&](PgConnection& conn, bool*) {
      PgSqlConnection sql(conn, timeout_);
      return work(sql);
    });
  }
  absl::Status Write(const std::function<absl::Status(internal::SqlConnection&)>& work) override {
    return pool_->Transaction([&](PgConnection& conn) {
      PgSqlConnection sql(conn, timeout_);
      return work(sql);
    });
  }

 private:
  PgPool* const pool_;
  const absl::Duration timeout_;
};

namespace {

absl::Status Notify(internal::SqlConnection& conn, const StoreChange& change,
                    absl::string_view origin) {
  return conn
      .Exec(
          "notifying replicas", "SELECT pg_notify($1, $2)",
          internal::SqlParams().Text(kChannel).Text(internal::EncodeChangePayload(change, origin)))
      .status();
}

StoreChange IntegrationChange(absl::string_view id, bool deleted = false) {
  StoreChange change{StoreChange::Kind::kIntegration, std::string(id)};
  change.deleted = deleted;
  return change;
}

StoreChange TokenChange(absl::string_view id, const AccessToken& token) {
  StoreChange change{StoreChange::Kind::kToken, std::string(id)};
  change.token_expire_time = token.expire_time;
  return change;
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

PostgresCredentialStore::PostgresCredentialStore(PostgresStoreOptions options,
                                                 std::unique_ptr<PgPool> pool,
                                                 EnvelopeCipher* cipher, const Clock* clock)
    : options_(std::move(options)),
      pool_(std::move(pool)),
      cipher_(cipher),
      clock_(clock),
      origin_(NewEtag()),
      sql_db_(std::make_unique<PooledSqlDatabase>(pool_.get(), options_.query_timeout)) {
  internal::SqlDialect dialect;
  dialect.notify = [this](internal::SqlConnection& conn, const StoreChange& change) {
    return Notify(conn, change, origin_);
  };
  // A lease would outlive the integration.
  dialect.delete_also_sql = "DELETE FROM refresh_leases WHERE integration_id = $1";
  core_ =
      std::make_unique<internal::SqlStoreCore>(sql_db_.get(), cipher_, clock_, std::move(dialect));
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

absl::StatusOr<Integration> PostgresCredentialStore::CreateTx(const Integration& integration) {
  return core_->Create(integration);
}

absl::StatusOr<Integration> PostgresCredentialStore::Get(absl::string_view id) {
  return core_->Get(id);
}

absl::StatusOr<IntegrationPage> PostgresCredentialStore::List(int page_size,
                                                              absl::string_view page_token) {
  return core_->List(page_size, page_token);
}

absl::StatusOr<Integration> PostgresCredentialStore::UpdateTx(const Integration& integration,
                                                              absl::string_view expected_etag) {
  return core_->Update(integration, expected_etag);
}

absl::Status PostgresCredentialStore::DeleteTx(absl::string_view id,
                                               absl::string_view expected_etag) {
  return core_->Delete(id, expected_etag);
}

absl::Status PostgresCredentialStore::PutTokenTx(absl::string_view id, const AccessToken& token,
                                                 absl::string_view holder) {
  TB_ASSIGN_OR_RETURN(Sealed sealed,
                      SealWith(cipher_, token.access_token.value(), internal::TokenContext(id)));
  PgParams params;
  params.Add(id)
      .AddBytes(sealed.ciphertext)
      .Add(TimeToColumn(token.issue_time))
      .Add(TimeToColumn(token.expire_time))
      .Add(token.debug_id)
      .Add(sealed.kek_id)
      .Add(holder)
      .Add(kChannel)
      .Add(internal::EncodeChangePayload(TokenChange(id, token), origin_));
  // One statement, its own transaction. Safe to run again after a lost
  // connection (the pool's retry): it writes the same row and releases the
  // same lease; replicas may hear of it twice.
  absl::Status status = pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    return conn.Exec("storing a token", kPutTokenSql, params, options_.query_timeout).status();
  });
  // foreign_key_violation: the integration is gone.
  if (absl::IsNotFound(status)) return NotFound(id);
  return status;
}

absl::StatusOr<IntegrationWithToken> PostgresCredentialStore::GetWithToken(absl::string_view id) {
  return core_->GetWithToken(id);
}

absl::StatusOr<std::optional<AccessToken>> PostgresCredentialStore::GetToken(absl::string_view id) {
  return core_->GetToken(id);
}

absl::Status PostgresCredentialStore::CheckHealth() {
  absl::StatusOr<PgPool::Lease> lease = pool_->Acquire(options_.health_timeout);
  if (!lease.ok()) return absl::UnavailableError(lease.status().message());
  absl::StatusOr<PgRows> rows =
      (*lease)->Exec("health check", "SELECT 1", PgParams(), options_.health_timeout);
  if (!rows.ok()) return absl::UnavailableError(rows.status().message());
  return absl::OkStatus();
}

absl::StatusOr<LeaseGrant> PostgresCredentialStore::TryAcquireRefreshLease(absl::string_view id,
                                                                           absl::string_view holder,
                                                                           absl::Duration ttl) {
  if (holder.empty()) return absl::InvalidArgumentError("lease holder is empty");
  // One statement, so atomic; now() is the database's clock, never ours.
  // Retrying it is harmless: a second run by the same holder only extends.
  LeaseGrant grant;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(
        PgRows rows,
        conn.Exec("taking a refresh lease",
                  "SELECT held, sealed_token, token_issue_time_ns, token_expire_time_ns, "
                  "token_debug_id FROM tokenbroker_take_refresh_lease($1, $2, $3::bigint)",
                  PgParams().Add(id).Add(holder).Add(absl::ToInt64Microseconds(ttl)),
                  options_.query_timeout));
    grant.held = rows.size() == 1 && rows.Int(0, 0) != 0;
    grant.stored_token = grant.held ? ReadToken(cipher_, id, rows, 0, 1) : std::nullopt;
    return absl::OkStatus();
  }));
  return grant;
}

absl::Status PostgresCredentialStore::PutTokenAndReleaseLease(absl::string_view id,
                                                              const AccessToken& token,
                                                              absl::string_view holder) {
  if (holder.empty()) return absl::InvalidArgumentError("lease holder is empty");
  absl::Status put = PutTokenTx(id, token, holder);
  if (put.ok()) feed_.Deliver(TokenChange(id, token));
  return put;
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

absl::StatusOr<bool> PostgresCredentialStore::TryAcquireLease(absl::string_view name,
                                                              absl::string_view holder,
                                                              absl::Duration ttl) {
  if (holder.empty() || name.empty()) {
    return absl::InvalidArgumentError("lease name or holder is empty");
  }
  // The refresh lease's INSERT without the token read: one atomic statement
  // timed by the database's clock; a retry by the same holder only extends.
  bool held = false;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(
        PgRows rows,
        conn.Exec("taking a lease",
                  "INSERT INTO refresh_leases AS l (integration_id, holder, expires_at) "
                  "VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond') "
                  "ON CONFLICT (integration_id) DO UPDATE "
                  "SET holder = excluded.holder, expires_at = excluded.expires_at "
                  "WHERE l.holder = excluded.holder OR l.expires_at <= now() RETURNING 1",
                  PgParams().Add(name).Add(holder).Add(absl::ToInt64Microseconds(ttl)),
                  options_.query_timeout));
    held = rows.size() == 1;
    return absl::OkStatus();
  }));
  return held;
}

absl::Status PostgresCredentialStore::ReleaseLease(absl::string_view name,
                                                   absl::string_view holder) {
  return ReleaseRefreshLease(name, holder);
}

void PostgresCredentialStore::SetChangeListener(StoreChangeListener listener) {
  const bool start = listener != nullptr;
  feed_.SetListener(std::move(listener));
  if (!start) return;
  absl::MutexLock lock(&feed_mu_);
  if (!feed_thread_.joinable() && !stopping_) {
    feed_thread_ = std::thread([this] { FeedLoop(); });
  }
}

void PostgresCredentialStore::Deliver(const StoreChange& change) { feed_.Deliver(change); }

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
        std::optional<internal::ReceivedChange> received =
            internal::DecodeChangePayload(notify->extra);
        // This store's own writes were delivered by the writer, after commit.
        if (!received.has_value() || received->origin == origin_) continue;
        Deliver(received->change);
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

int64_t PostgresCredentialStore::RoundTrips() const { return pool_->round_trips(); }

absl::StatusOr<std::vector<std::string>> PostgresCredentialStore::KeyIdsInUse() {
  return core_->KeyIdsInUse();
}

absl::StatusOr<std::string> PostgresCredentialStore::CheckStructure() {
  int64_t version = 0;
  TB_RETURN_IF_ERROR(pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(PgRows rows,
                        conn.Exec("reading the schema version",
                                  "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
                                  PgParams(), options_.query_timeout));
    version = rows.Int(0, 0);
    return absl::OkStatus();
  }));
  if (version != kLatestSchemaVersion) {
    return absl::DataLossError(absl::StrCat("PostgreSQL store ", pool_->dsn().description,
                                            ": schema version ", version, ", expected ",
                                            kLatestSchemaVersion));
  }
  return absl::StrCat("PostgreSQL store ", pool_->dsn().description, ": schema version ", version);
}

absl::Status PostgresCredentialStore::Backup(const std::string&) {
  return absl::FailedPreconditionError(
      "the PostgreSQL store is backed up with the database's own tools (pg_dump, or your "
      "provider's snapshots); the copy holds ciphertexts only and needs the same keyring");
}

absl::StatusOr<StoreMaintenance::Counts> PostgresCredentialStore::Count() { return core_->Count(); }

absl::Status PostgresCredentialStore::ScrubFreedData() {
  // VACUUM by a role that does not own the table only warns (and skips it):
  // ask first, so the caller hears of it.
  constexpr char kMayVacuumSql[] =
      "SELECT (pg_has_role(current_user, c.relowner, 'USAGE') OR r.rolsuper) "
      "FROM pg_class c, pg_roles r WHERE c.oid = 'integrations'::regclass "
      "AND r.rolname = current_user";
  const absl::Duration timeout = std::max(options_.query_timeout, absl::Minutes(1));
  return pool_->Run([&](PgConnection& conn, bool*) -> absl::Status {
    TB_ASSIGN_OR_RETURN(PgRows rows, conn.Exec("checking who may vacuum integrations",
                                               kMayVacuumSql, PgParams(), options_.query_timeout));
    if (rows.size() != 1 || rows.Int(0, 0) != 1) {
      return absl::FailedPreconditionError(
          "the database role does not own table integrations, so it cannot VACUUM it: have "
          "its owner run VACUUM integrations");
    }
    // Not in a transaction (VACUUM refuses to run in one): one statement.
    return conn.ExecScript("VACUUM integrations", "VACUUM integrations", timeout);
  });
}

absl::StatusOr<StoreMaintenance::RekeyProgress> PostgresCredentialStore::Rekey(
    std::function<void(const RekeyProgress&)> on_progress, int batch_size) {
  return core_->Rekey(on_progress, batch_size);
}

// The writes tell the change feed after they commit. The LISTEN thread
// skips their notifications (same origin), so each is delivered once.
absl::StatusOr<Integration> PostgresCredentialStore::Create(const Integration& integration) {
  absl::StatusOr<Integration> created = CreateTx(integration);
  if (created.ok()) feed_.Deliver(IntegrationChange(integration.id));
  return created;
}

absl::StatusOr<Integration> PostgresCredentialStore::Update(const Integration& integration,
                                                            absl::string_view expected_etag) {
  absl::StatusOr<Integration> updated = UpdateTx(integration, expected_etag);
  if (updated.ok()) feed_.Deliver(IntegrationChange(integration.id));
  return updated;
}

absl::StatusOr<std::vector<Integration>> PostgresCredentialStore::WriteAll(
    const std::vector<IntegrationWrite>& writes) {
  absl::StatusOr<std::vector<Integration>> written = core_->WriteAll(writes);
  if (written.ok()) {
    for (const Integration& integration : *written) {
      feed_.Deliver(IntegrationChange(integration.id));
    }
  }
  return written;
}

absl::Status PostgresCredentialStore::Delete(absl::string_view id,
                                             absl::string_view expected_etag) {
  absl::Status deleted = DeleteTx(id, expected_etag);
  if (deleted.ok()) feed_.Deliver(IntegrationChange(id, /*deleted=*/true));
  return deleted;
}

absl::Status PostgresCredentialStore::PutToken(absl::string_view id, const AccessToken& token) {
  absl::Status put = PutTokenTx(id, token, /*holder=*/"");
  if (put.ok()) feed_.Deliver(TokenChange(id, token));
  return put;
}

}  // namespace tokenbroker
