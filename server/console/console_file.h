// Adobe credential files, read into integrations: the Developer Console's
// "Download JSON" of a workspace and AEM as a Cloud Service's service
// credentials (../shared/IMS.md, "Developer Console download").
//
// Console: `project.org.ims_org_id`, `project.org.id` and
// `project.workspace.details.credentials[]`, each with `id`, `name`,
// `integration_type` and
//   - `oauth_server_to_server` {client_id, client_secrets[], scopes[],
//     technical_account_id, technical_account_email}: an OAuth S2S integration;
//   - `jwt` {client_id, client_secret, technical_account_id, meta_scopes[]}
//     (`integration_type: service`): a JWT credential. The download carries no
//     private key, so it cannot be imported; Adobe converted every JWT
//     credential to S2S by 2026-03-01 and a fresh download lists the S2S one;
//   - both (`oauth_server_to_server_migrate`): its S2S half.
// Other credential types (OAuth web, single-page app, API key...) hold no
// server-side credential: listed as skipped, not an error.
// AEM: `{"integration": {"technicalAccount": {"clientId", "clientSecret"},
// "org", "id", "email", "privateKey", "metascopes", "imsEndpoint"}}`: a JWT
// integration with its key and IMS host.
//
// All or nothing: the first problem fails the whole file with
// INVALID_ARGUMENT, its ErrorInfo field the JSON path of the problem
// (`project.workspace.details.credentials[1].oauth_server_to_server.client_secrets`).
// No message quotes a value of the file.
#ifndef TOKENBROKER_SERVER_CONSOLE_CONSOLE_FILE_H_
#define TOKENBROKER_SERVER_CONSOLE_CONSOLE_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/model/integration.h"

namespace tokenbroker {

// One credential of the file, as an integration to create.
struct ImportedCredential {
  // Where it is in the file: `project.workspace.details.credentials[1]`, `integration`.
  std::string json_path;
  // The Console's name of the credential (AEM: empty).
  std::string credential_name;
  // `id` derived from the credential's name (SuggestIntegrationId), `display_name` the name;
  // org id with `include_org_header` set; secrets from the file only; `console` the Console's
  // numeric ids, for its secrets API (AEM: empty).
  Integration integration;
};

// A credential of the file that holds nothing tokenbroker can use.
struct SkippedCredential {
  std::string json_path;
  std::string credential_name;
  std::string reason;
};

struct CredentialFile {
  // "console" or "aem".
  std::string format;
  std::vector<ImportedCredential> credentials;
  std::vector<SkippedCredential> skipped;
};

// Reads a Console download or an AEM service credential file. Errors:
// INVALID_ARGUMENT naming the JSON path (ErrorInfo reason INVALID_FIELD).
absl::StatusOr<CredentialFile> ParseCredentialFile(absl::string_view json);

// An integration ID (lower-case letters, digits, '-', at most 63, starting
// with a letter) from a Console credential name: Latin letters lose their
// accents, every other run of characters becomes one '-'. "PröjectB" ->
// "projectb", "New Test Intégration 8" -> "new-test-integration-8". A name
// with no letter or digit gives "credential"; one starting with a digit gets
// "c-" in front.
std::string SuggestIntegrationId(absl::string_view name);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_CONSOLE_CONSOLE_FILE_H_
