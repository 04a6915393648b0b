// ImportIntegrations before anything is written: the credential file read
// (server/console/console_file.h), the credentials picked, named and
// validated, and each turned into a store write (create, or replace of an
// existing integration when the caller allows it).
#ifndef TOKENBROKER_SERVER_API_IMPORT_PLAN_H_
#define TOKENBROKER_SERVER_API_IMPORT_PLAN_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/api/convert.h"
#include "server/store/credential_store.h"
#include "tokenbroker/v1/integration_service.pb.h"

namespace tokenbroker {

struct ImportPlan {
  // One per imported credential, in file order; kReplace carries the etag
  // read, so a concurrent change makes the import ABORTED.
  std::vector<IntegrationWrite> writes;
  // The response without the stored integrations: `imported[i]` has the
  // action and JSON path of `writes[i]`; `skipped` is complete.
  v1::ImportIntegrationsResponse response;
};

// Reads `request.credential_file` and plans its writes, reading `store` to
// find the integrations that exist. New secrets are stamped `now`.
// Errors: INVALID_ARGUMENT (the file, naming the JSON path; a request field;
// two credentials with one id; nothing importable), NOT_FOUND (no credential
// named `credential_name`), ALREADY_EXISTS (an id exists, `allow_update`
// false), FAILED_PRECONDITION (replacing an integration of another auth
// method), and the store's errors.
absl::StatusOr<ImportPlan> PlanImport(const v1::ImportIntegrationsRequest& request,
                                      CredentialStore* store, const ValidationOptions& options,
                                      absl::Time now);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_API_IMPORT_PLAN_H_
