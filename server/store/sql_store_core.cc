#include "server/store/sql_store_core.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/store/page_token.h"
#include "server/store/stored_record.h"

namespace tokenbroker::internal {
namespace {

using Progress = StoreMaintenance::RekeyProgress;

// Every column of `integrations`, in the order of SCHEMA.md's table: what
// INSERT writes ($1..$n) and SELECT reads (ReadIntegrationRow).
constexpr char kIntegrationColumns[] =
    "id, display_name, auth_method, client_id, org_id, technical_account_id, scopes, metascopes, "
    "ims_url, sandbox_name, state, include_org_header, create_time_ns, update_time_ns, etag, "
    "credentials, kek_id, console_org_id, console_credential_id, secret_rotation_period_ns, "
    "client_secret_info, last_secret_rotation_time_ns";
constexpr int CountColumns(std::string_view columns) {
  return static_cast<int>(std::count(columns.begin(), columns.end(), ',')) + 1;
}
constexpr int kIntegrationColumnCount = CountColumns(kIntegrationColumns);
// In a join, the token's columns follow the integration's.
constexpr int kJoinedTokenColumn = kIntegrationColumnCount;
constexpr char kTokenColumns[] = "t.token, t.issue_time_ns, t.expire_time_ns, t.debug_id";

// kIntegrationColumns of `integrations i`, for joins.
std::string JoinedIntegrationColumns() {
  return absl::StrJoin(
      absl::StrSplit(kIntegrationColumns, ", "), ", ",
      [](std::string* out, absl::string_view column) { absl::StrAppend(out, "i.", column); });
}

// "$1, $2, ..., $n".
std::string Placeholders(int n) {
  std::vector<std::string> placeholders;
  for (int i = 1; i <= n; ++i) placeholders.push_back(absl::StrCat("$", i));
  return absl::StrJoin(placeholders, ", ");
}

StoredRow ReadRow(const SqlRow& row) {
  return ReadIntegrationRow([&row](int i) { return row.Bytes(i); },
                            [&row](int i) { return row.Int(i); },
                            [&row](int i) { return row.OptionalInt(i); });
}

// The token columns from `col` (kTokenColumns): the ciphertext (nullopt
// when there is no token) and the token's other fields.
std::optional<std::string> ReadTokenColumns(const SqlRow& row, int col, AccessToken* token) {
  if (row.IsNull(col)) return std::nullopt;
  token->issue_time = TimeFromColumn(row.OptionalInt(col + 1));
  token->expire_time = TimeFromColumn(row.OptionalInt(col + 2));
  token->debug_id = row.Bytes(col + 3);
  return row.Bytes(col);
}

// display_name ... last_secret_rotation_time_ns (kIntegrationColumns but
// id); create_time_ns only `with_create_time` (Update keeps the stored one).
void AddColumns(SqlParams& p, const Integration& in, const ColumnValues& v, bool with_create_time) {
  p.Text(in.display_name)
      .Int(static_cast<int64_t>(in.auth_method))
      .Text(in.client_id)
      .Text(in.org_id)
      .Text(in.technical_account_id)
      .Text(v.scopes)
      .Text(v.metascopes)
      .Text(in.ims_url)
      .Text(in.sandbox_name)
      .Int(static_cast<int64_t>(in.state))
      .Int(in.include_org_header ? 1 : 0);
  if (with_create_time) p.Int(absl::ToUnixNanos(in.create_time));
  p.Int(absl::ToUnixNanos(in.update_time))
      .Text(in.etag)
      .Blob(v.credentials.ciphertext)
      .Text(v.credentials.kek_id)
      .Text(in.console.org_id)
      .Text(in.console.credential_id)
      .OptionalInt(DurationToColumn(in.secret_rotation_period))
      .Text(v.client_secret_info)
      .OptionalInt(TimeToColumn(in.last_secret_rotation_time));
}

absl::StatusOr<bool> Exists(SqlConnection& conn, absl::string_view id) {
  TB_ASSIGN_OR_RETURN(
      int64_t rows, conn.Exec("reading an integration", "SELECT 1 FROM integrations WHERE id = $1",
                              SqlParams().Text(id), nullptr));
  return rows > 0;
}

StoreChange IntegrationChange(absl::string_view id, bool deleted) {
  StoreChange change{StoreChange::Kind::kIntegration, std::string(id)};
  change.deleted = deleted;
  return change;
}

}  // namespace

SqlParams& SqlParams::Text(absl::string_view text) {
  values_.push_back(Value{Value::Type::kText, std::string(text), 0});
  return *this;
}

SqlParams& SqlParams::Int(int64_t value) {
  values_.push_back(Value{Value::Type::kInt, "", value});
  return *this;
}

SqlParams& SqlParams::OptionalInt(std::optional<int64_t> value) {
  if (value.has_value()) return Int(*value);
  values_.push_back(Value{Value::Type::kNull, "", 0});
  return *this;
}

SqlParams& SqlParams::Blob(absl::string_view bytes) {
  values_.push_back(Value{Value::Type::kBlob, std::string(bytes), 0});
  return *this;
}

std::string ToQuestionMarkPlaceholders(absl::string_view sql) {
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && absl::ascii_isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '?';
  }
  return out;
}

absl::StatusOr<SqlStoreCore::PreparedWrite> SqlStoreCore::Prepare(const IntegrationWrite& write) {
  if (write.integration.id.empty()) return absl::InvalidArgumentError("integration id is empty");
  PreparedWrite prepared{write.kind, write.integration, {}, write.expected_etag};
  prepared.stored.update_time = clock_->Now();
  if (write.kind == IntegrationWrite::Kind::kCreate) {
    prepared.stored.create_time = prepared.stored.update_time;
  }
  prepared.stored.etag = NewEtag();
  TB_ASSIGN_OR_RETURN(prepared.values, PrepareColumns(cipher_, prepared.stored));
  return prepared;
}

absl::Status SqlStoreCore::Insert(SqlConnection& conn, const PreparedWrite& write) {
  const Integration& stored = write.stored;
  SqlParams params;
  params.Text(stored.id);
  AddColumns(params, stored, write.values, /*with_create_time=*/true);
  const std::string sql =
      absl::StrCat("INSERT INTO integrations (", kIntegrationColumns, ") VALUES (",
                   Placeholders(kIntegrationColumnCount), ") ON CONFLICT (id) DO NOTHING");
  TB_ASSIGN_OR_RETURN(int64_t inserted, conn.Exec("creating an integration", sql, params));
  if (inserted == 0) {
    return absl::AlreadyExistsError(absl::StrCat("integration '", stored.id, "' already exists"));
  }
  if (!dialect_.create_also_sql.empty()) {
    TB_RETURN_IF_ERROR(
        conn.Exec("creating an integration", dialect_.create_also_sql, SqlParams().Text(stored.id))
            .status());
  }
  if (dialect_.notify) return dialect_.notify(conn, IntegrationChange(stored.id, false));
  return absl::OkStatus();
}

absl::Status SqlStoreCore::Replace(SqlConnection& conn, PreparedWrite& write) {
  Integration& stored = write.stored;
  SqlParams params;
  params.Text(stored.id);
  AddColumns(params, stored, write.values, /*with_create_time=*/false);
  params.Text(write.expected_etag);
  // Compare-and-set in one statement: under concurrent writers the WHERE
  // clause is checked against the row version the UPDATE finally writes.
  constexpr char kSql[] =
      "UPDATE integrations SET display_name = $2, auth_method = $3, client_id = $4, "
      "org_id = $5, technical_account_id = $6, scopes = $7, metascopes = $8, ims_url = $9, "
      "sandbox_name = $10, state = $11, include_org_header = $12, update_time_ns = $13, "
      "etag = $14, credentials = $15, kek_id = $16, console_org_id = $17, "
      "console_credential_id = $18, secret_rotation_period_ns = $19, client_secret_info = $20, "
      "last_secret_rotation_time_ns = $21 "
      "WHERE id = $1 AND ($22 = '' OR etag = $22) RETURNING create_time_ns";
  std::optional<int64_t> create_time_ns;
  TB_RETURN_IF_ERROR(conn.Exec("updating an integration", kSql, params,
                               [&](const SqlRow& r) { create_time_ns = r.Int(0); })
                         .status());
  if (!create_time_ns.has_value()) {
    TB_ASSIGN_OR_RETURN(bool exists, Exists(conn, stored.id));
    return exists ? EtagMismatch(stored.id) : IntegrationNotFound(stored.id);
  }
  stored.create_time = absl::FromUnixNanos(*create_time_ns);
  // The cached token may belong to the old credentials.
  TB_RETURN_IF_ERROR(conn.Exec("dropping the cached token",
                               "DELETE FROM tokens WHERE integration_id = $1",
                               SqlParams().Text(stored.id))
                         .status());
  if (dialect_.notify) return dialect_.notify(conn, IntegrationChange(stored.id, false));
  return absl::OkStatus();
}

absl::StatusOr<Integration> SqlStoreCore::Create(const Integration& integration) {
  TB_ASSIGN_OR_RETURN(
      std::vector<Integration> written,
      WriteAll({IntegrationWrite{IntegrationWrite::Kind::kCreate, integration, ""}}));
  return std::move(written.front());
}

absl::StatusOr<Integration> SqlStoreCore::Update(const Integration& integration,
                                                 absl::string_view expected_etag) {
  TB_ASSIGN_OR_RETURN(std::vector<Integration> written,
                      WriteAll({IntegrationWrite{IntegrationWrite::Kind::kReplace, integration,
                                                 std::string(expected_etag)}}));
  return std::move(written.front());
}

absl::StatusOr<std::vector<Integration>> SqlStoreCore::WriteAll(
    const std::vector<IntegrationWrite>& writes) {
  TB_RETURN_IF_ERROR(CheckWriteBatch(writes));
  std::vector<PreparedWrite> prepared;
  prepared.reserve(writes.size());
  for (const IntegrationWrite& write : writes) {
    TB_ASSIGN_OR_RETURN(PreparedWrite one, Prepare(write));
    prepared.push_back(std::move(one));
  }
  TB_RETURN_IF_ERROR(db_->Write([&](SqlConnection& conn) -> absl::Status {
    for (PreparedWrite& write : prepared) {
      TB_RETURN_IF_ERROR(write.kind == IntegrationWrite::Kind::kCreate ? Insert(conn, write)
                                                                       : Replace(conn, write));
    }
    return absl::OkStatus();
  }));
  std::vector<Integration> written;
  written.reserve(prepared.size());
  for (PreparedWrite& write : prepared) written.push_back(std::move(write.stored));
  return written;
}

absl::StatusOr<Integration> SqlStoreCore::Get(absl::string_view id) {
  std::optional<StoredRow> row;
  const std::string sql =
      absl::StrCat("SELECT ", kIntegrationColumns, " FROM integrations WHERE id = $1");
  TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
    row.reset();
    return conn
        .Exec("reading an integration", sql, SqlParams().Text(id),
              [&row](const SqlRow& r) { row = ReadRow(r); })
        .status();
  }));
  if (!row.has_value()) return IntegrationNotFound(id);
  return DecodeRow(cipher_, *std::move(row));
}

absl::StatusOr<IntegrationPage> SqlStoreCore::List(int page_size, absl::string_view page_token) {
  if (page_size < 1) return absl::InvalidArgumentError("page_size must be at least 1");
  TB_ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token));
  std::vector<StoredRow> rows;
  const std::string sql = absl::StrCat("SELECT ", kIntegrationColumns,
                                       " FROM integrations WHERE id > $1 ORDER BY id LIMIT $2");
  TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
    rows.clear();
    return conn
        .Exec("listing integrations", sql, SqlParams().Text(after).Int(int64_t{page_size} + 1),
              [&rows](const SqlRow& r) { rows.push_back(ReadRow(r)); })
        .status();
  }));
  const bool more = static_cast<int>(rows.size()) > page_size;
  if (more) rows.resize(page_size);
  return DecodePage(cipher_, std::move(rows), more);
}

absl::Status SqlStoreCore::Delete(absl::string_view id, absl::string_view expected_etag) {
  return db_->Write([&](SqlConnection& conn) -> absl::Status {
    TB_ASSIGN_OR_RETURN(
        int64_t deleted,
        conn.Exec("deleting an integration",
                  "DELETE FROM integrations WHERE id = $1 AND ($2 = '' OR etag = $2)",
                  SqlParams().Text(id).Text(expected_etag)));
    if (deleted == 0) {
      TB_ASSIGN_OR_RETURN(bool exists, Exists(conn, id));
      return exists ? EtagMismatch(id) : IntegrationNotFound(id);
    }
    // Its token goes by ON DELETE CASCADE.
    if (!dialect_.delete_also_sql.empty()) {
      TB_RETURN_IF_ERROR(
          conn.Exec("deleting an integration", dialect_.delete_also_sql, SqlParams().Text(id))
              .status());
    }
    if (dialect_.notify) return dialect_.notify(conn, IntegrationChange(id, true));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<AccessToken>> SqlStoreCore::GetToken(absl::string_view id) {
  bool found = false;
  std::optional<std::string> ciphertext;
  AccessToken token;
  const std::string sql =
      absl::StrCat("SELECT ", kTokenColumns,
                   " FROM integrations i LEFT JOIN tokens t ON t.integration_id = i.id "
                   "WHERE i.id = $1");
  TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
    found = false;
    return conn
        .Exec("reading a token", sql, SqlParams().Text(id),
              [&](const SqlRow& r) {
                found = true;
                ciphertext = ReadTokenColumns(r, 0, &token);
              })
        .status();
  }));
  if (!found) return IntegrationNotFound(id);
  if (!ciphertext.has_value()) return std::optional<AccessToken>();
  TB_RETURN_IF_ERROR(OpenToken(cipher_, id, *ciphertext, &token));
  return std::optional<AccessToken>(std::move(token));
}

absl::StatusOr<IntegrationWithToken> SqlStoreCore::GetWithToken(absl::string_view id) {
  std::optional<StoredRow> row;
  std::optional<std::string> ciphertext;
  AccessToken token;
  const std::string sql =
      absl::StrCat("SELECT ", JoinedIntegrationColumns(), ", ", kTokenColumns,
                   " FROM integrations i LEFT JOIN tokens t ON t.integration_id = i.id "
                   "WHERE i.id = $1");
  TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
    row.reset();
    return conn
        .Exec("reading an integration and its token", sql, SqlParams().Text(id),
              [&](const SqlRow& r) {
                row = ReadRow(r);
                ciphertext = ReadTokenColumns(r, kJoinedTokenColumn, &token);
              })
        .status();
  }));
  if (!row.has_value()) return IntegrationNotFound(id);
  TB_ASSIGN_OR_RETURN(Integration integration, DecodeRow(cipher_, *std::move(row)));
  IntegrationWithToken out{std::move(integration), std::nullopt};
  if (ciphertext.has_value()) out.token = OpenCachedToken(cipher_, id, *ciphertext, token);
  return out;
}

absl::StatusOr<std::vector<std::string>> SqlStoreCore::KeyIdsInUse() {
  std::vector<std::string> ids;
  TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
    ids.clear();
    return conn
        .Exec("listing key ids in use", kDistinctKeyIdsSql, SqlParams(),
              [&ids](const SqlRow& r) { ids.push_back(r.Bytes(0)); })
        .status();
  }));
  return ids;
}

absl::StatusOr<StoreMaintenance::Counts> SqlStoreCore::Count() {
  StoreMaintenance::Counts counts;
  TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
    return conn
        .Exec("counting rows",
              "SELECT (SELECT count(*) FROM integrations), (SELECT count(*) FROM tokens)",
              SqlParams(),
              [&counts](const SqlRow& r) {
                counts.integrations = r.Int(0);
                counts.tokens = r.Int(1);
              })
        .status();
  }));
  return counts;
}

absl::StatusOr<Progress> SqlStoreCore::Rekey(
    const std::function<void(const Progress&)>& on_progress, int batch_size) {
  if (batch_size < 1) return absl::InvalidArgumentError("batch_size must be at least 1");
  const std::string primary = cipher_->PrimaryKeyId();
  Progress progress;
  TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
    return conn
        .Exec("counting ciphertexts",
              "SELECT (SELECT count(*) FROM integrations) + (SELECT count(*) FROM tokens), "
              "(SELECT count(*) FROM integrations WHERE kek_id = $1) + "
              "(SELECT count(*) FROM tokens WHERE kek_id = $1)",
              SqlParams().Text(primary),
              [&progress](const SqlRow& r) {
                progress.total = r.Int(0);
                progress.already_current = r.Int(1);
              })
        .status();
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

absl::Status SqlStoreCore::RekeyTable(bool tokens, const std::string& primary, int batch_size,
                                      const std::function<void(const Progress&)>& on_progress,
                                      Progress* progress) {
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
  std::string after;  // ids are visited in order, each at most once per run
  while (true) {
    std::vector<Item> batch;
    TB_RETURN_IF_ERROR(db_->Read([&](SqlConnection& conn) -> absl::Status {
      batch.clear();
      return conn
          .Exec("reading ciphertexts to re-wrap", select,
                SqlParams().Text(primary).Text(after).Int(batch_size),
                [&batch](const SqlRow& r) {
                  batch.push_back(Item{r.Bytes(0), r.Bytes(1), std::nullopt});
                })
          .status();
    }));
    if (batch.empty()) return absl::OkStatus();
    after = batch.back().id;

    // Re-wrap outside any transaction: CPU work only, readers and writers go on.
    for (Item& item : batch) {
      TB_ASSIGN_OR_RETURN(item.rewrapped,
                          RewrapStored(cipher_, tokens, item.id, item.old_ciphertext));
    }

    Progress delta;
    TB_RETURN_IF_ERROR(db_->Write([&](SqlConnection& conn) -> absl::Status {
      delta = Progress();
      for (const Item& item : batch) {
        // Compare-and-set on the old ciphertext: a row a writer changed (or
        // deleted) since it was read is the writer's, sealed with the primary.
        if (item.rewrapped.has_value()) {
          TB_ASSIGN_OR_RETURN(int64_t changed, conn.Exec("re-wrapping", update,
                                                         SqlParams()
                                                             .Blob(item.rewrapped->ciphertext)
                                                             .Text(item.rewrapped->kek_id)
                                                             .Text(item.id)
                                                             .Blob(item.old_ciphertext)));
          ++(changed > 0 ? delta.rewrapped : delta.already_current);
        } else {
          TB_ASSIGN_OR_RETURN(int64_t changed,
                              conn.Exec("dropping a token", drop,
                                        SqlParams().Text(item.id).Blob(item.old_ciphertext)));
          ++(changed > 0 ? delta.dropped_tokens : delta.already_current);
        }
      }
      return absl::OkStatus();
    }));
    progress->rewrapped += delta.rewrapped;
    progress->already_current += delta.already_current;
    progress->dropped_tokens += delta.dropped_tokens;
    // Outside any lock: the callback may call the store.
    if (on_progress) on_progress(*progress);
  }
}

}  // namespace tokenbroker::internal
