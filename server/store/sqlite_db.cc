#include "server/store/sqlite_db.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tokenbroker::internal {

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", sqlite3_errstr(rc));
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) {
    absl::StrAppend(&message, " (", sqlite3_errmsg(db), ")");
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CONSTRAINT:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

SqliteQuery::SqliteQuery(SqliteQuery&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      next_param_(other.next_param_),
      bind_status_(std::move(other.bind_status_)) {}

SqliteQuery::~SqliteQuery() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void SqliteQuery::NoteBind(int rc) {
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteStatus(db_, rc, absl::StrCat("binding parameter ", next_param_));
  }
  ++next_param_;
}

SqliteQuery& SqliteQuery::Bind(int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, next_param_, value));
  return *this;
}

SqliteQuery& SqliteQuery::Bind(absl::string_view text) {
  NoteBind(sqlite3_bind_text64(stmt_, next_param_, text.data(), text.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8));
  return *this;
}

SqliteQuery& SqliteQuery::BindBlob(absl::string_view bytes) {
  // A zero-length blob must still be a BLOB, not NULL: data must not be null.
  static const char kEmpty = 0;
  NoteBind(sqlite3_bind_blob64(stmt_, next_param_, bytes.empty() ? &kEmpty : bytes.data(),
                               bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

SqliteQuery& SqliteQuery::Bind(std::optional<int64_t> value) {
  if (value.has_value()) return Bind(*value);
  NoteBind(sqlite3_bind_null(stmt_, next_param_));
  return *this;
}

absl::StatusOr<bool> SqliteQuery::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, absl::StrCat("executing '", sqlite3_sql(stmt_), "'"));
}

absl::Status SqliteQuery::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

bool SqliteQuery::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t SqliteQuery::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string SqliteQuery::Text(int column) const {
  // sqlite3_column_blob before sqlite3_column_bytes, as the SQLite docs ask.
  const void* data = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::optional<int64_t> SqliteQuery::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                         int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_EXRESCODE, nullptr);
  SqliteHandle db(raw);
  if (rc != SQLITE_OK) {
    return SqliteStatus(db.get(), rc, absl::StrCat("opening SQLite database '", path, "'"));
  }
  return std::unique_ptr<SqliteConnection>(new SqliteConnection(std::move(db)));
}

absl::StatusOr<SqliteQuery> SqliteConnection::Prepare(absl::string_view sql) {
  ++statements_run_;
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    SqliteStatementHandle stmt(raw);
    if (rc != SQLITE_OK) {
      return SqliteStatus(db_.get(), rc, absl::StrCat("preparing '", sql, "'"));
    }
    it = statements_.emplace(std::string(sql), std::move(stmt)).first;
  }
  return SqliteQuery(db_.get(), it->second.get());
}

absl::Status SqliteConnection::Exec(absl::string_view sql) {
  ++statements_run_;
  std::string owned(sql);
  int rc = sqlite3_exec(db_.get(), owned.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_.get(), rc, "executing SQL script");
  return absl::OkStatus();
}

absl::StatusOr<SqliteTransaction> SqliteTransaction::Begin(SqliteConnection* connection) {
  absl::StatusOr<SqliteQuery> begin = connection->Prepare("BEGIN IMMEDIATE");
  if (!begin.ok()) return begin.status();
  absl::Status status = begin->Run();
  if (!status.ok()) return status;
  return SqliteTransaction(connection);
}

SqliteTransaction::~SqliteTransaction() {
  if (done_) return;
  // Best effort: a failed ROLLBACK leaves SQLite to roll back automatically.
  absl::StatusOr<SqliteQuery> rollback = connection_->Prepare("ROLLBACK");
  if (rollback.ok()) rollback->Run().IgnoreError();
}

absl::Status SqliteTransaction::Commit() {
  absl::StatusOr<SqliteQuery> commit = connection_->Prepare("COMMIT");
  if (!commit.ok()) return commit.status();
  absl::Status status = commit->Run();
  // On failure the destructor rolls back.
  if (status.ok()) done_ = true;
  return status;
}

}  // namespace tokenbroker::internal
