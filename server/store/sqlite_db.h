// Thin RAII layer over the SQLite C API, used by SqliteCredentialStore only.
//
// Not a general-purpose wrapper: just what the store needs (owned handles,
// cached prepared statements that reset themselves, transactions that roll
// back unless committed, and SQLite result codes turned into absl::Status).
#ifndef TOKENBROKER_SERVER_STORE_SQLITE_DB_H_
#define TOKENBROKER_SERVER_STORE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokenbroker::internal {

struct SqliteDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  void operator()(sqlite3_backup* backup) const { sqlite3_backup_finish(backup); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteDeleter>;
using SqliteStatementHandle = std::unique_ptr<sqlite3_stmt, SqliteDeleter>;
using SqliteBackupHandle = std::unique_ptr<sqlite3_backup, SqliteDeleter>;

// Maps a SQLite result code to a canonical code: BUSY/LOCKED/IOERR/FULL/
// CANTOPEN → UNAVAILABLE, CORRUPT/NOTADB → DATA_LOSS, CONSTRAINT →
// FAILED_PRECONDITION, anything else → INTERNAL. The message is `what`, the
// code name and sqlite3_errmsg (which names tables and columns, never
// bound values).
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what);

// One use of a prepared statement: bind parameters in order, step, read
// columns. The destructor resets the statement and clears its bindings so
// the cached statement can be reused; at most one SqliteQuery per SQL text
// may be alive at a time. Not thread-safe (it borrows the
// connection, which the caller serialises).
class SqliteQuery {
 public:
  SqliteQuery(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteQuery(SqliteQuery&& other) noexcept;
  SqliteQuery(const SqliteQuery&) = delete;
  SqliteQuery& operator=(const SqliteQuery&) = delete;
  SqliteQuery& operator=(SqliteQuery&&) = delete;
  ~SqliteQuery();

  // Bind the next parameter (?1, ?2, ... in call order). Values are copied.
  SqliteQuery& Bind(int64_t value);
  SqliteQuery& Bind(absl::string_view text);
  SqliteQuery& Bind(const char* text) { return Bind(absl::string_view(text)); }
  SqliteQuery& Bind(const std::string& text) { return Bind(absl::string_view(text)); }
  SqliteQuery& BindBlob(absl::string_view bytes);
  // NULL when `value` is empty.
  SqliteQuery& Bind(std::optional<int64_t> value);

  // Advances: true when a row is available, false when done. A bind error
  // recorded earlier is returned here.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring any rows.
  absl::Status Run();

  // Whether the statement cannot change the database (a query).
  bool ReadOnly() const { return sqlite3_stmt_readonly(stmt_) != 0; }

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;  // also reads BLOB columns
  std::optional<int64_t> OptionalInt(int column) const;

 private:
  void NoteBind(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int next_param_ = 1;
  absl::Status bind_status_;
};

// An open connection with a cache of prepared statements.
// Not thread-safe: the owner serialises all calls.
class SqliteConnection {
 public:
  // `flags` as sqlite3_open_v2; SQLITE_OPEN_EXRESCODE is always added.
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(const std::string& path, int flags);

  // A statement for `sql` (one statement), prepared once and cached.
  absl::StatusOr<SqliteQuery> Prepare(absl::string_view sql);
  // Runs `sql` (one or more statements, no parameters, rows ignored).
  absl::Status Exec(absl::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const { return sqlite3_changes64(db_.get()); }
  // Statements run so far: each Prepare (one use of a statement) and each
  // Exec (BEGIN and COMMIT included) counts one.
  int64_t statements_run() const { return statements_run_; }
  sqlite3* get() const { return db_.get(); }

 private:
  explicit SqliteConnection(SqliteHandle db) : db_(std::move(db)) {}

  SqliteHandle db_;
  int64_t statements_run_ = 0;
  // Declared after db_: destroyed (finalized) before the connection closes.
  std::map<std::string, SqliteStatementHandle, std::less<>> statements_;
};

// BEGIN IMMEDIATE (takes the write lock up front, so a read-then-write
// transaction cannot fail half way with SQLITE_BUSY) and rolls back on
// destruction unless Commit() succeeded.
class SqliteTransaction {
 public:
  static absl::StatusOr<SqliteTransaction> Begin(SqliteConnection* connection);
  SqliteTransaction(SqliteTransaction&& other) noexcept
      : connection_(other.connection_), done_(other.done_) {
    other.done_ = true;
  }
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  absl::Status Commit();

 private:
  explicit SqliteTransaction(SqliteConnection* connection) : connection_(connection) {}
  SqliteConnection* connection_;
  bool done_ = false;
};

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_STORE_SQLITE_DB_H_
