// What the SQLite and PostgreSQL stores share: the SQL of every
// CredentialStore and StoreMaintenance operation that is the same on both,
// written once over a tiny connection interface that each store implements
// (a dialect: placeholders, parameter and column encodings, transactions,
// and a hook for what only one of them does, e.g. NOTIFY).
//
// Design note: a shared core rather than a query builder. The two schemas
// are the same table for table and column for column (SCHEMA.md), so the
// statements are the same text with `$n` placeholders (SQLite reads them as
// `?n`); only leases, the change feed and the token upsert (which carries
// the NOTIFY and the lease release on PostgreSQL) stay in their stores.
#ifndef TOKENBROKER_SERVER_STORE_SQL_STORE_CORE_H_
#define TOKENBROKER_SERVER_STORE_SQL_STORE_CORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/clock.h"
#include "server/crypto/envelope.h"
#include "server/store/change_feed.h"
#include "server/store/credential_store.h"
#include "server/store/store_maintenance.h"
#include "server/store/stored_record.h"

namespace tokenbroker::internal {

// Statement parameters, $1..$n in order.
class SqlParams {
 public:
  struct Value {
    enum class Type { kText, kInt, kNull, kBlob };
    Type type = Type::kNull;
    std::string bytes;  // kText, kBlob
    int64_t integer = 0;
  };
  SqlParams& Text(absl::string_view text);
  SqlParams& Int(int64_t value);
  SqlParams& OptionalInt(std::optional<int64_t> value);  // NULL when empty
  SqlParams& Blob(absl::string_view bytes);
  const std::vector<Value>& values() const { return values_; }

 private:
  std::vector<Value> values_;
};

// One result row.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual bool IsNull(int column) const = 0;
  virtual std::string Bytes(int column) const = 0;  // text or blob
  virtual int64_t Int(int column) const = 0;        // integer or boolean; 0 for NULL
  std::optional<int64_t> OptionalInt(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Int(column);
  }
};

// A connection lent for one unit of work. Not thread-safe.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Runs one statement (placeholders `$1`..`$n`), calling `on_row` (may be
  // empty) for each row. Returns the rows an INSERT/UPDATE/DELETE changed,
  // or the rows a query returned. `what` names the step in errors.
  virtual absl::StatusOr<int64_t> Exec(absl::string_view what, const std::string& sql,
                                       const SqlParams& params,
                                       const std::function<void(const SqlRow&)>& on_row) = 0;
  absl::StatusOr<int64_t> Exec(absl::string_view what, const std::string& sql,
                               const SqlParams& params = SqlParams()) {
    return Exec(what, sql, params, nullptr);
  }
};

// How a store runs units of work. Thread-safe.
class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  // `work` reads; it may be run again on a new connection after a lost one.
  virtual absl::Status Read(const std::function<absl::Status(SqlConnection&)>& work) = 0;
  // `work` in one transaction, committed when it returns OK, rolled back
  // otherwise.
  virtual absl::Status Write(const std::function<absl::Status(SqlConnection&)>& work) = 0;
};

// What one store does differently inside the shared writes.
struct SqlDialect {
  // Inside a write's transaction, after its change (PostgreSQL: NOTIFY).
  // May be empty.
  std::function<absl::Status(SqlConnection&, const StoreChange&)> notify;
  // Run by Create after its INSERT, and by Delete after its DELETE, with
  // $1 = the id (e.g. dropping rows that a file edited with foreign keys
  // off left behind, or the lease of a deleted integration). May be empty.
  std::string create_also_sql;
  std::string delete_also_sql;
};

// The shared operations. Errors and behaviour as SqliteCredentialStore's
// (CredentialStore and StoreMaintenance contracts). Thread-safe when the
// database is. Writes do not deliver to the change feed: the store does,
// after they return OK.
class SqlStoreCore {
 public:
  // None is owned; all must outlive the core.
  SqlStoreCore(SqlDatabase* db, EnvelopeCipher* cipher, const Clock* clock, SqlDialect dialect)
      : db_(db), cipher_(cipher), clock_(clock), dialect_(std::move(dialect)) {}

  absl::StatusOr<Integration> Create(const Integration& integration);
  absl::StatusOr<Integration> Get(absl::string_view id);
  absl::StatusOr<IntegrationPage> List(int page_size, absl::string_view page_token);
  absl::StatusOr<Integration> Update(const Integration& integration,
                                     absl::string_view expected_etag);
  absl::Status Delete(absl::string_view id, absl::string_view expected_etag);
  absl::StatusOr<std::vector<Integration>> WriteAll(const std::vector<IntegrationWrite>& writes);
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id);
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id);

  absl::StatusOr<std::vector<std::string>> KeyIdsInUse();
  absl::StatusOr<StoreMaintenance::Counts> Count();
  absl::StatusOr<StoreMaintenance::RekeyProgress> Rekey(
      const std::function<void(const StoreMaintenance::RekeyProgress&)>& on_progress,
      int batch_size);

 private:
  // A write with its etag, times and sealed columns ready, before the
  // transaction (sealing is CPU work that need not hold it).
  struct PreparedWrite {
    IntegrationWrite::Kind kind;
    Integration stored;
    ColumnValues values;
    std::string expected_etag;
  };
  absl::StatusOr<PreparedWrite> Prepare(const IntegrationWrite& write);
  // Inside a write's transaction: INSERT (ALREADY_EXISTS), or UPDATE with
  // the etag compare-and-set (ABORTED, NOT_FOUND), which also drops the
  // cached token and sets `write.stored.create_time` from the row.
  absl::Status Insert(SqlConnection& conn, const PreparedWrite& write);
  absl::Status Replace(SqlConnection& conn, PreparedWrite& write);

  absl::Status RekeyTable(
      bool tokens, const std::string& primary, int batch_size,
      const std::function<void(const StoreMaintenance::RekeyProgress&)>& on_progress,
      StoreMaintenance::RekeyProgress* progress);

  SqlDatabase* const db_;
  EnvelopeCipher* const cipher_;
  const Clock* const clock_;
  const SqlDialect dialect_;
};

// `sql` with `$n` placeholders written `?n` (SQLite's numbered form).
std::string ToQuestionMarkPlaceholders(absl::string_view sql);

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_STORE_SQL_STORE_CORE_H_
