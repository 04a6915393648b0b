// The plaintext record sealed into `integrations.credentials`, and the
// envelope contexts of the store's ciphertexts. The byte layout is
// documented in server/store/SCHEMA.md ("Credentials record").
//
// Nothing here is SQLite-specific: the SQLite and PostgreSQL stores both
// use it, so they hold identical ciphertexts. (The file keeps its first
// user's name.)
#ifndef TOKENBROKER_SERVER_STORE_SQLITE_RECORD_H_
#define TOKENBROKER_SERVER_STORE_SQLITE_RECORD_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/common/secret.h"
#include "server/model/integration.h"

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

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_STORE_SQLITE_RECORD_H_
