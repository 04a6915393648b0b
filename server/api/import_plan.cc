#include "server/api/import_plan.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_details.h"
#include "server/common/quote.h"
#include "server/common/status_macros.h"
#include "server/console/console_file.h"

namespace tokenbroker {
namespace {

using Imported = v1::ImportIntegrationsResponse::Imported;

// The file's bytes are a Console download of a few KiB; the RPC's size limit
// (--max-admin-request-bytes) bounds them first.
constexpr size_t kMaxCredentialNameBytes = 256;

absl::Status CheckRequest(const v1::ImportIntegrationsRequest& request) {
  if (request.credential_file().empty()) return InvalidField("credential_file", "required");
  if (!request.integration_id().empty()) {
    TB_RETURN_IF_ERROR(ValidateIntegrationId(request.integration_id(), "integration_id"));
  }
  if (request.credential_name().size() > kMaxCredentialNameBytes) {
    return InvalidField("credential_name",
                        absl::StrCat("longer than ", kMaxCredentialNameBytes, " bytes"));
  }
  if (request.has_secret_rotation_period() && request.secret_rotation_period().seconds() < 0) {
    return InvalidField("secret_rotation_period", "must not be negative");
  }
  return absl::OkStatus();
}

std::string Names(const std::vector<ImportedCredential>& credentials) {
  std::vector<std::string> names;
  names.reserve(credentials.size());
  for (const ImportedCredential& c : credentials) names.push_back(QuoteInput(c.credential_name));
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

// The credentials the request asks for, with their ids.
absl::StatusOr<std::vector<ImportedCredential>> Pick(const v1::ImportIntegrationsRequest& request,
                                                     CredentialFile& file) {
  std::vector<ImportedCredential> picked;
  for (ImportedCredential& credential : file.credentials) {
    if (request.credential_name().empty() ||
        credential.credential_name == request.credential_name()) {
      picked.push_back(std::move(credential));
    }
  }
  if (picked.empty() && !request.credential_name().empty()) {
    return absl::NotFoundError(
        absl::StrCat("no importable credential named ", QuoteInput(request.credential_name()),
                     " in the file (importable: ", Names(file.credentials), ")"));
  }
  if (picked.empty()) {
    std::string why =
        file.skipped.empty()
            ? "it lists no credential"
            : absl::StrCat(file.skipped.size(), " skipped: ", file.skipped.front().reason);
    return InvalidField("credential_file",
                        absl::StrCat("no credential tokenbroker can import (", why, ")"));
  }
  if (!request.integration_id().empty()) {
    if (picked.size() != 1) {
      return InvalidField("integration_id",
                          absl::StrCat("names one integration but ", picked.size(),
                                       " credentials would be imported (", Names(picked),
                                       "): pick one with credential_name"));
    }
    picked.front().integration.id = request.integration_id();
  }
  absl::flat_hash_map<std::string, std::string> paths;  // id -> json path
  for (const ImportedCredential& c : picked) {
    auto [it, inserted] = paths.emplace(c.integration.id, c.json_path);
    if (!inserted) {
      return InvalidField(c.json_path, absl::StrCat("gets the integration id '", c.integration.id,
                                                    "' that ", it->second,
                                                    " gets too: import them one at a time with "
                                                    "credential_name and integration_id"));
    }
  }
  return picked;
}

// `existing` replaced by the file's credential: what the file says, and
// what only tokenbroker knows (state, sandbox, rotation, times) kept.
absl::StatusOr<Integration> Merge(const Integration& existing, Integration from_file) {
  if (existing.auth_method != from_file.auth_method) {
    return absl::FailedPreconditionError(absl::StrCat(
        "integration '", existing.id, "' uses another auth method than the file's credential: ",
        existing.auth_method == AuthMethod::kJwt
            ? "convert it with 'tokenctl integrations migrate' first"
            : "delete it first, or import under another id"));
  }
  if (from_file.display_name.empty()) from_file.display_name = existing.display_name;
  from_file.state = existing.state;
  from_file.sandbox_name = existing.sandbox_name;
  if (!from_file.secret_rotation_period.has_value()) {
    from_file.secret_rotation_period = existing.secret_rotation_period;
  }
  from_file.last_secret_rotation_time = existing.last_secret_rotation_time;
  return from_file;
}

absl::StatusOr<IntegrationWrite> PlanOne(const v1::ImportIntegrationsRequest& request,
                                         const ImportedCredential& credential,
                                         CredentialStore* store, const ValidationOptions& options,
                                         absl::Time now) {
  Integration integration = credential.integration;
  if (request.has_secret_rotation_period()) {
    integration.secret_rotation_period =
        absl::Seconds(request.secret_rotation_period().seconds()) +
        absl::Nanoseconds(request.secret_rotation_period().nanos());
  }
  IntegrationWrite write{IntegrationWrite::Kind::kCreate, {}, ""};
  absl::StatusOr<Integration> existing = store->Get(integration.id);
  if (existing.ok()) {
    if (!request.allow_update()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "integration '", integration.id, "' (from ", credential.json_path,
          ") already exists: allow_update (tokenctl --update) replaces it, or --id names "
          "another"));
    }
    TB_ASSIGN_OR_RETURN(integration, Merge(*existing, std::move(integration)));
    write = {IntegrationWrite::Kind::kReplace, {}, existing->etag};
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  StampClientSecretInfo(existing.ok() ? *existing : Integration{}, now, &integration);
  TB_RETURN_IF_ERROR(ValidateIntegration(integration, options,
                                         absl::StrCat(credential.json_path, " as integration.")));
  write.integration = std::move(integration);
  return write;
}

}  // namespace

absl::StatusOr<ImportPlan> PlanImport(const v1::ImportIntegrationsRequest& request,
                                      CredentialStore* store, const ValidationOptions& options,
                                      absl::Time now) {
  TB_RETURN_IF_ERROR(CheckRequest(request));
  TB_ASSIGN_OR_RETURN(CredentialFile file, ParseCredentialFile(request.credential_file()));
  ImportPlan plan;
  for (const SkippedCredential& skipped : file.skipped) {
    v1::ImportIntegrationsResponse::Skipped* out = plan.response.add_skipped();
    out->set_json_path(skipped.json_path);
    out->set_credential_name(skipped.credential_name);
    out->set_reason(skipped.reason);
  }
  TB_ASSIGN_OR_RETURN(std::vector<ImportedCredential> picked, Pick(request, file));
  for (const ImportedCredential& credential : picked) {
    TB_ASSIGN_OR_RETURN(IntegrationWrite write, PlanOne(request, credential, store, options, now));
    Imported* imported = plan.response.add_imported();
    imported->set_action(write.kind == IntegrationWrite::Kind::kCreate ? Imported::ACTION_CREATED
                                                                       : Imported::ACTION_UPDATED);
    imported->set_json_path(credential.json_path);
    plan.writes.push_back(std::move(write));
  }
  return plan;
}

}  // namespace tokenbroker
