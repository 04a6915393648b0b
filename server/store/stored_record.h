// The plaintext record sealed into `integrations.credentials`, and the
// envelope contexts of the store's ciphertexts. The byte layout is
// documented in server/store/SCHEMA.md ("Credentials record").
//
// Shared by the SQLite and PostgreSQL stores, so that both encode columns
// alike and hold identical ciphertexts: the record, its contexts, the
// column encodings and the errors the two stores answer with.
#ifndef TOKENBROKER_SERVER_STORE_SQLITE_RECORD_H_
#define TOKENBROKER_SERVER_STORE_SQLITE_RECORD_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/secret.h"
#include "server/crypto/envelope.h"
#include "server/model/integration.h"
#include "server/store/credential_store.h"

namespace tokenbroker::internal {

// `integrations/<id>/credentials`: the associated data of a credentials
// ciphertext, so it cannot be moved to another row or field.
std::string CredentialsContext(absl::string_view integration_id);
// `integrations/<id>/token`.
std::string TokenContext(absl::string_view integration_id);

// Encodes `integration.credentials`, plus copies of the non-secret fields
// that decide where and as whom the secrets are presented (auth method,
// client id, org id, technical account id, IMS URL), as a version 1
// credentials record. The result is secret: wiped when it goes away.
SecretString EncodeCredentialsRecord(const Integration& integration);

// Decodes a credentials record into `integration->credentials`, checking
// that the bound fields equal the ones already in `integration` (read from
// the plaintext columns). DATA_LOSS when the record is malformed, of an
// unknown version, or its bound fields differ; the message names the
// problem, never a value.
absl::Status DecodeCredentialsRecord(absl::string_view record, Integration* integration);

// NOT_FOUND / ABORTED as every store words them.
absl::Status IntegrationNotFound(absl::string_view id);
absl::Status EtagMismatch(absl::string_view id);
// `status` with `prefix` before its message.
absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix);

// Token times may be unknown (InfinitePast): stored as NULL (nullopt);
// InfiniteFuture as INT64_MAX; others as Unix nanoseconds.
std::optional<int64_t> TimeToColumn(absl::Time t);
absl::Time TimeFromColumn(std::optional<int64_t> ns);

// scopes/metascopes as a JSON array of strings. INVALID_ARGUMENT naming
// `field` for bytes that are not UTF-8; DATA_LOSS for a malformed column.
absl::StatusOr<std::string> ListToJson(const std::vector<std::string>& values,
                                       absl::string_view field);
absl::Status ListFromJson(const std::string& text, absl::string_view field,
                          std::vector<std::string>* out);

// secret_rotation_period: nullopt (the server default) as NULL; others as
// nanoseconds, saturated (an infinite period is INT64_MAX or INT64_MIN and
// reads back infinite).
std::optional<int64_t> DurationToColumn(std::optional<absl::Duration> d);
std::optional<absl::Duration> DurationFromColumn(std::optional<int64_t> ns);

// client_secret_info as a JSON array of objects
// `{"console_uuid": "...", "create_time_ns": <TimeToColumn, null when unknown>}`
// (SCHEMA.md). INVALID_ARGUMENT for a uuid that is not UTF-8; DATA_LOSS for
// a malformed column. A missing key reads as unknown (null, ""); other keys
// are ignored.
absl::StatusOr<std::string> SecretInfoToJson(const std::vector<ClientSecretInfo>& infos);
absl::Status SecretInfoFromJson(const std::string& text, std::vector<ClientSecretInfo>* out);

// What every read of a SQL store returns: one client_secret_info per client
// secret. Missing entries are added (unknown time, no uuid), extra ones
// dropped.
void FitSecretInfoToSecrets(Integration* integration);

// One integrations row as read, before its credentials are opened.
struct StoredRow {
  Integration integration;  // every field but credentials
  std::string credentials;  // ciphertext
  absl::Status column_error;
};
// Reads the integrations columns in the order of SCHEMA.md's table (id ...
// kek_id, then console_org_id, console_credential_id,
// secret_rotation_period_ns, client_secret_info,
// last_secret_rotation_time_ns; kek_id is not read) through the backend's
// column getters (`optional_integer`: nullopt for NULL).
StoredRow ReadIntegrationRow(const std::function<std::string(int)>& text,
                             const std::function<int64_t(int)>& integer,
                             const std::function<std::optional<int64_t>(int)>& optional_integer);
// Opens `row`'s credentials and fits client_secret_info to them
// (FitSecretInfoToSecrets). DATA_LOSS (logged, with the detail) when the
// ciphertext or the record inside fails its checks, or a JSON column is
// malformed; FAILED_PRECONDITION naming the key id when the KEK is unknown.
absl::StatusOr<Integration> DecodeRow(EnvelopeCipher* cipher, StoredRow row);

// The page ListIntegrations answers: every row decoded; a row whose
// credentials cannot be opened (DATA_LOSS, unknown key: already logged) is
// listed without them (and so without client_secret_info) so that one bad
// row does not hide the others (Get reports its error). `more`: rows exist
// after these.
absl::StatusOr<IntegrationPage> DecodePage(EnvelopeCipher* cipher, std::vector<StoredRow> rows,
                                           bool more);

// Opens integration `id`'s stored token into `token->access_token`.
// DATA_LOSS when it fails its integrity check; the cipher's error (e.g. an
// unknown key id) otherwise. Logged either way, never with the token.
absl::Status OpenToken(EnvelopeCipher* cipher, absl::string_view id, const std::string& ciphertext,
                       AccessToken* token);

// A cached token read together with something else (GetWithToken, a lease
// grant): `token` with its access_token opened from `ciphertext`, or
// nullopt when it cannot be opened (logged by OpenToken). A cached token is
// only a cache: the caller mints a new one rather than failing.
std::optional<AccessToken> OpenCachedToken(EnvelopeCipher* cipher, absl::string_view id,
                                           const std::string& ciphertext, AccessToken token);

// The distinct kek_id values of the integrations and tokens tables (same
// SQL for SQLite and PostgreSQL), by hopping through each kek_id index from
// one value to the next (a "skip scan"): the cost follows the number of
// keys, not of rows, so start-up does not slow down with the number of
// integrations (a plain UNION scans both indexes whole).
inline constexpr char kDistinctKeyIdsSql[] = R"sql(
WITH RECURSIVE
  i(id) AS (SELECT min(kek_id) FROM integrations
            UNION ALL
            SELECT (SELECT min(kek_id) FROM integrations WHERE kek_id > i.id) FROM i
            WHERE i.id IS NOT NULL),
  t(id) AS (SELECT min(kek_id) FROM tokens
            UNION ALL
            SELECT (SELECT min(kek_id) FROM tokens WHERE kek_id > t.id) FROM t
            WHERE t.id IS NOT NULL)
SELECT id FROM i WHERE id IS NOT NULL
UNION
SELECT id FROM t WHERE id IS NOT NULL
ORDER BY 1)sql";

// A ciphertext and the id of the KEK that wraps its data key.
struct Sealed {
  std::string ciphertext;
  std::string kek_id;
};
absl::StatusOr<Sealed> SealWith(EnvelopeCipher* cipher, absl::string_view plaintext,
                                const std::string& context);

// The encoded values of an integration's non-text columns, for INSERT and
// UPDATE.
struct ColumnValues {
  std::string scopes;
  std::string metascopes;
  std::string client_secret_info;
  Sealed credentials;
};
absl::StatusOr<ColumnValues> PrepareColumns(EnvelopeCipher* cipher, const Integration& in);

// Rekey: `old_ciphertext` (integration `id`'s credentials, or its cached
// token when `token`) with its data key re-wrapped under the primary KEK.
// nullopt: a cached token that cannot be re-wrapped (logged; the caller
// drops it). An error (logged): credentials that cannot be.
absl::StatusOr<std::optional<Sealed>> RewrapStored(EnvelopeCipher* cipher, bool token,
                                                   const std::string& id,
                                                   const std::string& old_ciphertext);

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_STORE_SQLITE_RECORD_H_
