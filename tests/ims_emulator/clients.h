// The emulator's registered IMS clients ("credentials" in the Developer
// Console) and their JSON form.
#ifndef TOKENBROKER_TESTS_IMS_EMULATOR_CLIENTS_H_
#define TOKENBROKER_TESTS_IMS_EMULATOR_CLIENTS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/ims_emulator/crypto.h"

namespace tokenbroker::emulator {

// One client. JSON form (every key but client_id and client_secrets is
// optional; unknown keys are rejected so that typos do not pass silently):
//   {"client_id": "...", "client_secrets": ["s1", "s2"],
//    "org_id": "X@AdobeOrg", "technical_account_id": "T@techacct.adobe.com",
//    "certificate_pem": "-----BEGIN CERTIFICATE-----..."  (or "certificate_file": "path"),
//    "scopes": ["openid", "AdobeID"], "metascopes": ["ent_dataservices_sdk"],
//    "token_lifetime_seconds": 86400,
//    "console_org_id": "25591412", "console_credential_id": "17606512",
//    "migration_in_progress": false}
// The console_* ids address the client in the Developer Console's secrets API
// (console_api.h); a client without them is not reachable there.
struct ClientConfig {
  std::string client_id;
  // One or two: IMS holds two at once while a secret is rotated.
  std::vector<std::string> client_secrets;
  std::string org_id;
  std::string technical_account_id;
  // Public key of the registered certificate (JWT flow); null when none.
  std::shared_ptr<EVP_PKEY> certificate_key;
  // Scopes a client_credentials request may ask for.
  std::vector<std::string> scopes;
  // Metascopes a JWT may claim (names only, e.g. "ent_dataservices_sdk").
  std::vector<std::string> metascopes;
  // Overrides the emulator-wide token lifetime.
  std::optional<absl::Duration> token_lifetime;
  // The Developer Console's numeric ids of the project's org and of this credential.
  std::string console_org_id;
  std::string console_credential_id;
  // A JWT -> OAuth S2S migration is in progress: the secrets cannot be rotated.
  bool migration_in_progress = false;
};

// Parses one client object. A relative "certificate_file" is resolved
// against `base_dir` (empty: the working directory).
// Errors: INVALID_ARGUMENT naming the client and the field.
absl::StatusOr<ClientConfig> ParseClient(const nlohmann::json& json,
                                         const std::string& base_dir = "");

// Parses `{"clients": [ ... ]}`; client ids must be unique.
// Errors: INVALID_ARGUMENT.
absl::StatusOr<std::vector<ClientConfig>> ParseClients(absl::string_view text,
                                                       const std::string& base_dir = "");

// Reads and parses a clients file. Errors: NOT_FOUND, INVALID_ARGUMENT.
absl::StatusOr<std::vector<ClientConfig>> LoadClientsFile(const std::string& path);

}  // namespace tokenbroker::emulator

#endif  // TOKENBROKER_TESTS_IMS_EMULATOR_CLIENTS_H_
