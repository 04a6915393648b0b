// Thin RAII layer over libpq, used by PostgresCredentialStore only.
//
// Not a general-purpose wrapper: owned PGconn/PGresult handles, queries
// with parameters (never interpolated SQL) and a deadline, libpq failures
// turned into absl::Status, and a small bounded connection pool that
// replaces broken connections and retries a failed unit of work once on a
// fresh connection when that cannot apply it twice.
#ifndef TOKENBROKER_SERVER_STORE_POSTGRES_CONNECTION_H_
#define TOKENBROKER_SERVER_STORE_POSTGRES_CONNECTION_H_

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/secret.h"

namespace tokenbroker::internal {

struct PgDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
  void operator()(PGresult* result) const { PQclear(result); }
  void operator()(PGnotify* notify) const { PQfreemem(notify); }
};
using PgConnHandle = std::unique_ptr<PGconn, PgDeleter>;
using PgResultHandle = std::unique_ptr<PGresult, PgDeleter>;
using PgNotifyHandle = std::unique_ptr<PGnotify, PgDeleter>;

// A parsed libpq connection string (URI `postgresql://...` or `key=value`).
struct PgDsn {
  // Parses `dsn` with PQconninfoParse. INVALID_ARGUMENT (without echoing
  // the string, which may hold a password) when libpq cannot parse it.
  static absl::StatusOr<PgDsn> Parse(absl::string_view dsn);

  SecretString conninfo;  // the whole string: it may carry a password
  SecretString password;  // empty when the DSN has none
  // `host=H port=P dbname=D` (libpq defaults where the DSN has none): what
  // logs and error messages may say about the database. Never the password.
  std::string description;
};

// Result rows of a query run in binary result format. Column accessors
// decode the binary wire form of text/varchar, bytea, int2/4/8, bool.
class PgRows {
 public:
  explicit PgRows(PgResultHandle result) : result_(std::move(result)) {}
  int size() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  // text, varchar or bytea: the raw bytes.
  std::string Bytes(int row, int col) const;
  // int2, int4, int8 or bool; 0 for NULL.
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptionalInt(int row, int col) const;
  // Rows changed by an INSERT/UPDATE/DELETE without RETURNING.
  int64_t Affected() const;

 private:
  PgResultHandle result_;
};

// Query parameters, sent as text except bytea values (binary).
class PgParams {
 public:
  PgParams& Add(absl::string_view text);
  PgParams& Add(const char* text) { return Add(absl::string_view(text)); }
  PgParams& Add(const std::string& text) { return Add(absl::string_view(text)); }
  PgParams& Add(int64_t value);
  PgParams& Add(std::optional<int64_t> value);  // NULL when empty
  PgParams& AddBytes(absl::string_view bytes);  // bytea

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> Values() const;
  const std::vector<int>& Lengths() const { return lengths_; }
  const std::vector<int>& Formats() const { return formats_; }

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// One connection. Not thread-safe: the pool lends it to one caller at a time.
class PgConnection {
 public:
  // Connects (blocking, up to the DSN's `connect_timeout`, default
  // `connect_timeout` here). UNAVAILABLE when the server cannot be reached
  // or refuses the login; the message names host/port/dbname, never the
  // password.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const PgDsn& dsn,
                                                               absl::Duration connect_timeout);

  // Runs one statement with `params`, waiting at most `timeout` (then the
  // query is cancelled and the connection marked broken). Errors are mapped
  // by PgErrorStatus; `what` prefixes the message.
  absl::StatusOr<PgRows> Exec(absl::string_view what, const std::string& sql,
                              const PgParams& params = PgParams(),
                              absl::Duration timeout = absl::Seconds(30));
  // Runs `sql` (no parameters, may hold several statements) and discards
  // the rows. For migrations and BEGIN/COMMIT.
  absl::Status ExecScript(absl::string_view what, const std::string& sql,
                          absl::Duration timeout = absl::Seconds(30));

  // Whether the connection is known to be unusable: libpq says so, a query
  // timed out, or reading pending input found the server gone (checks the
  // socket without blocking).
  bool Broken();
  PGconn* get() { return conn_.get(); }

  // Counts each statement (or script) sent and awaited, i.e. each network
  // round trip, into `*counter` (not owned; may be null).
  void CountRoundTripsInto(std::atomic<int64_t>* counter) { round_trips_ = counter; }

 private:
  PgConnection(PgConnHandle conn, const PgDsn* dsn) : conn_(std::move(conn)), dsn_(dsn) {}
  absl::StatusOr<PgResultHandle> Run(absl::string_view what, const std::string& sql,
                                     const PgParams* params, absl::Duration timeout);

  PgConnHandle conn_;
  const PgDsn* dsn_;  // for scrubbing messages; owned by the pool/store
  bool broken_ = false;
  std::atomic<int64_t>* round_trips_ = nullptr;
};

// Maps a failed result (or, with `result` null, the connection's last
// error) to a canonical code: connection failures (SQLSTATE class 08, 57P0x
// shutdown, 53xxx resources, a bad connection) → UNAVAILABLE; 23505
// unique_violation → ALREADY_EXISTS; 23503 foreign_key_violation →
// NOT_FOUND; 40001/40P01 serialization/deadlock → ABORTED; 57014 query
// cancelled → DEADLINE_EXCEEDED mapped to UNAVAILABLE; anything else →
// INTERNAL. The message is `what`, the SQLSTATE and libpq's primary message
// with any occurrence of the DSN's password removed.
absl::Status PgErrorStatus(PGconn* conn, const PGresult* result, absl::string_view what,
                           const PgDsn& dsn);

// Removes the password (if any) from `message`.
std::string ScrubPassword(std::string message, const PgDsn& dsn);

// A bounded pool of connections to one database.
//
// Acquire blocks up to `acquire_timeout` for a free connection; it creates
// connections lazily up to `size`. A connection found broken (on return, or
// by a non-blocking check when lent) is closed and replaced.
//
// Design note: why retry once. After a server restart or failover every
// idle pooled connection is dead, but that is only discovered on use. A unit
// of work that fails UNAVAILABLE on a now-broken connection is run again on
// a freshly opened connection (all idle ones are dropped first), when the
// caller says that is safe: reads, and transactions that failed before
// COMMIT was sent (the server rolls back a transaction whose connection
// drops). A failure of COMMIT itself is ambiguous and is never retried.
//
// Thread-safe.
class PgPool {
 public:
  struct Options {
    int size = 8;
    absl::Duration acquire_timeout = absl::Seconds(5);
    absl::Duration connect_timeout = absl::Seconds(5);
  };
  PgPool(PgDsn dsn, Options options) : dsn_(std::move(dsn)), options_(options) {}
  ~PgPool();

  // A connection lent by the pool; given back (or closed if broken) when
  // destroyed.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection* operator->() { return conn_.get(); }
    PgConnection& operator*() { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // UNAVAILABLE when no connection is free within `timeout` (default
  // acquire_timeout) or a new one cannot be opened. `fresh`: drop every idle
  // connection and open a new one.
  absl::StatusOr<Lease> Acquire(std::optional<absl::Duration> timeout = std::nullopt,
                                bool fresh = false);

  // Runs `work` on a lent connection; when it fails UNAVAILABLE with the
  // connection broken and `*retry_safe` is still true afterwards, runs it
  // once more on a fresh connection. `work` sets `*retry_safe` to false once
  // a retry could apply its effect twice (i.e. before sending COMMIT).
  absl::Status Run(const std::function<absl::Status(PgConnection&, bool* retry_safe)>& work);

  // Runs `work` inside BEGIN ... COMMIT (READ COMMITTED), with Run's retry.
  // `work` returning an error rolls back.
  absl::Status Transaction(const std::function<absl::Status(PgConnection&)>& work);

  const PgDsn& dsn() const { return dsn_; }
  // Statements (and scripts: BEGIN, COMMIT, ...) sent by this pool's
  // connections and awaited: one network round trip each.
  int64_t round_trips() const { return round_trips_.load(); }

 private:
  void Return(std::unique_ptr<PgConnection> conn);

  const PgDsn dsn_;
  const Options options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + lent + being opened
  std::atomic<int64_t> round_trips_{0};
};

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_STORE_POSTGRES_CONNECTION_H_
