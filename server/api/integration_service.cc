#include "server/api/integration_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/api/grpc_status.h"
#include "server/api/import_plan.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace tokenbroker {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;
// Page tokens and etags the server hands out are far shorter.
constexpr size_t kMaxPageTokenBytes = 512;
constexpr size_t kMaxEtagBytes = 128;
// As ValidateIntegration's limit of each stored client secret.
constexpr size_t kMaxClientSecretBytes = 1024;

absl::Status CheckEtag(const std::string& etag, absl::string_view field) {
  if (etag.size() > kMaxEtagBytes) {
    return InvalidField(field, absl::StrCat("longer than ", kMaxEtagBytes, " bytes"));
  }
  return absl::OkStatus();
}

// Admits the caller for `permission` (before anything is looked up), then
// runs `fn` (returning absl::Status) on `executor`, audits and finishes the
// RPC.
template <typename Fn>
grpc::ServerUnaryReactor* RunAsync(grpc::CallbackServerContext* context, Executor* executor,
                                   const ApiContext& api, const char* method, Permission permission,
                                   const google::protobuf::Message& request,
                                   const std::string& integration, Fn fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto scope = std::make_shared<RpcScope>(api, context, method);
  scope->set_integration(integration);
  absl::Status admitted = scope->Admit(permission, integration);
  if (admitted.ok()) {
    admitted = CheckRequestSize(request, api.max_admin_request_bytes, "--max-admin-request-bytes");
  }
  if (!admitted.ok()) {
    scope->Finish(admitted);
    reactor->Finish(ToGrpcStatus(admitted));
    return reactor;
  }
  executor->Schedule([reactor, scope, fn = std::move(fn)]() mutable {
    absl::Status status = fn();
    scope->Finish(status);
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

// The id in `integrations/{id}`, for audit lines ("" if malformed: the
// operation itself reports INVALID_ARGUMENT).
std::string IdOf(const std::string& name) {
  absl::StatusOr<std::string> id = ParseIntegrationName(name, "name");
  return id.ok() ? *id : std::string();
}

}  // namespace

absl::StatusOr<v1::Integration> IntegrationServiceImpl::Create(
    const v1::CreateIntegrationRequest& request) {
  TB_RETURN_IF_ERROR(ValidateIntegrationId(request.integration_id(), "integration_id"));
  if (!request.has_integration()) return InvalidField("integration", "required");
  Integration integration = FromProto(request.integration());
  integration.id = request.integration_id();
  StampClientSecretInfo(Integration{}, clock_->Now(), &integration);
  TB_RETURN_IF_ERROR(ValidateIntegration(integration, options_, "integration."));
  TB_ASSIGN_OR_RETURN(Integration stored, store_->Create(integration));
  v1::Integration out = ToProto(stored);
  Log(LogLevel::kInfo, "integration created",
      {{"integration", stored.id},
       {"client_id", stored.client_id},
       {"secret_fingerprints",
        absl::StrJoin(out.credential_info().client_secret_fingerprints(), ",")}});
  return out;
}

absl::StatusOr<v1::Integration> IntegrationServiceImpl::Get(
    const v1::GetIntegrationRequest& request) {
  TB_ASSIGN_OR_RETURN(std::string id, ParseIntegrationName(request.name(), "name"));
  TB_ASSIGN_OR_RETURN(Integration stored, store_->Get(id));
  return ToProto(stored);
}

absl::Status IntegrationServiceImpl::List(const v1::ListIntegrationsRequest& request,
                                          v1::ListIntegrationsResponse* response) {
  if (request.page_size() < 0) return InvalidField("page_size", "must not be negative");
  if (request.page_token().size() > kMaxPageTokenBytes) {
    return InvalidField("page_token", absl::StrCat("longer than ", kMaxPageTokenBytes, " bytes"));
  }
  int page_size =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  TB_ASSIGN_OR_RETURN(IntegrationPage page, store_->List(page_size, request.page_token()));
  for (const Integration& integration : page.integrations) {
    *response->add_integrations() = ToProto(integration);
  }
  response->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::StatusOr<v1::Integration> IntegrationServiceImpl::Update(
    const v1::UpdateIntegrationRequest& request) {
  TB_ASSIGN_OR_RETURN(std::string id,
                      ParseIntegrationName(request.integration().name(), "integration.name"));
  TB_ASSIGN_OR_RETURN(Integration merged, store_->Get(id));
  const std::string& etag = request.integration().etag();
  TB_RETURN_IF_ERROR(CheckEtag(etag, "integration.etag"));
  if (!etag.empty() && etag != merged.etag) {
    return absl::AbortedError("integration '" + id +
                              "' was changed concurrently (etag mismatch): re-read it");
  }
  const Integration before = merged;
  TB_RETURN_IF_ERROR(ApplyUpdate(request.integration(), request.update_mask(), &merged));
  StampClientSecretInfo(before, clock_->Now(), &merged);
  TB_RETURN_IF_ERROR(ValidateIntegration(merged, options_, "integration."));
  // Written with the etag it was read with: a concurrent change of another
  // field makes this ABORTED instead of being silently overwritten. The
  // broker hears of the change through the store's change feed.
  TB_ASSIGN_OR_RETURN(Integration stored, store_->Update(merged, merged.etag));
  Log(LogLevel::kInfo, "integration updated",
      {{"integration", id}, {"fields", absl::StrJoin(request.update_mask().paths(), ",")}});
  return ToProto(stored);
}

absl::Status IntegrationServiceImpl::Delete(const v1::DeleteIntegrationRequest& request) {
  TB_ASSIGN_OR_RETURN(std::string id, ParseIntegrationName(request.name(), "name"));
  TB_RETURN_IF_ERROR(CheckEtag(request.etag(), "etag"));
  TB_RETURN_IF_ERROR(store_->Delete(id, request.etag()));
  Log(LogLevel::kInfo, "integration deleted", {{"integration", id}});
  return absl::OkStatus();
}

absl::Status IntegrationServiceImpl::Import(const v1::ImportIntegrationsRequest& request,
                                            v1::ImportIntegrationsResponse* response) {
  TB_ASSIGN_OR_RETURN(ImportPlan plan, PlanImport(request, store_, options_, clock_->Now()));
  std::vector<Integration> stored;
  if (request.validate_only()) {
    for (const IntegrationWrite& write : plan.writes) stored.push_back(write.integration);
  } else {
    TB_ASSIGN_OR_RETURN(stored, store_->WriteAll(plan.writes));
  }
  *response = std::move(plan.response);
  std::vector<std::string> ids;
  for (size_t i = 0; i < stored.size(); ++i) {
    *response->mutable_imported(static_cast<int>(i))->mutable_integration() = ToProto(stored[i]);
    ids.push_back(stored[i].id);
  }
  if (!request.validate_only()) {
    Log(LogLevel::kInfo, "integrations imported",
        {{"integrations", absl::StrJoin(ids, ",")},
         {"skipped", absl::StrCat(response->skipped_size())}});
  }
  return absl::OkStatus();
}

absl::Status IntegrationServiceImpl::ListSecrets(const v1::ListClientSecretsRequest& request,
                                                 v1::ListClientSecretsResponse* response) {
  TB_ASSIGN_OR_RETURN(std::string id, ParseIntegrationName(request.parent(), "parent"));
  TB_ASSIGN_OR_RETURN(SecretListing listing, secrets_->List(id));
  for (const ListedSecret& secret : listing.secrets) {
    v1::ConsoleClientSecret* out = response->add_client_secrets();
    out->set_uuid(secret.uuid);
    ToProto(secret.create_time, out->mutable_create_time());
    if (secret.last_use_time) ToProto(*secret.last_use_time, out->mutable_last_use_time());
    out->set_held(secret.held);
    out->set_in_use(secret.in_use);
    out->set_fingerprint(secret.fingerprint);
    ToProto(secret.stored_time, out->mutable_store_time());
  }
  response->set_held_unmatched_count(listing.held_unmatched);
  return absl::OkStatus();
}

absl::Status IntegrationServiceImpl::RotateSecret(const v1::RotateClientSecretRequest& request,
                                                  v1::RotateClientSecretResponse* response) {
  TB_ASSIGN_OR_RETURN(std::string id, ParseIntegrationName(request.parent(), "parent"));
  TB_ASSIGN_OR_RETURN(RotationResult result, secrets_->Rotate(id, request.immediate()));
  response->set_state(result.phase == RotationResult::Phase::kDone
                          ? v1::RotateClientSecretResponse::STATE_DONE
                          : v1::RotateClientSecretResponse::STATE_WAITING);
  response->set_detail(result.detail);
  response->set_fingerprint(result.fingerprint);
  response->set_console_uuid(result.console_uuid);
  for (const std::string& uuid : result.deleted_uuids) response->add_deleted_console_uuids(uuid);
  return absl::OkStatus();
}

absl::StatusOr<v1::Integration> IntegrationServiceImpl::Migrate(
    const v1::MigrateIntegrationRequest& request) {
  JwtMigrationRequest migration;
  TB_ASSIGN_OR_RETURN(migration.id, ParseIntegrationName(request.name(), "name"));
  TB_RETURN_IF_ERROR(CheckEtag(request.etag(), "etag"));
  if (request.scopes().empty()) {
    return InvalidField("scopes", "required: the OAuth scopes of the Server-to-Server credential");
  }
  if (request.client_secret().size() > kMaxClientSecretBytes) {
    return InvalidField("client_secret",
                        absl::StrCat("longer than ", kMaxClientSecretBytes, " bytes"));
  }
  if (!request.client_secret().empty())
    migration.client_secret = SecretString(request.client_secret());
  migration.scopes.assign(request.scopes().begin(), request.scopes().end());
  migration.etag = request.etag();
  // As a create of an S2S integration: the scopes' field is `scopes`.
  migration.validate = [this](const Integration& converted) {
    return ValidateIntegration(converted, options_, "");
  };
  TB_ASSIGN_OR_RETURN(Integration migrated, migrator_->Migrate(migration));
  return ToProto(migrated);
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::CreateIntegration(
    grpc::CallbackServerContext* context, const v1::CreateIntegrationRequest* request,
    v1::CreateIntegrationResponse* response) {
  return RunAsync(context, executor_, *api_, "/tokenbroker.v1.IntegrationService/CreateIntegration",
                  Permission::kManageIntegrations, *request, request->integration_id(),
                  [this, request, response]() -> absl::Status {
                    TB_ASSIGN_OR_RETURN(*response->mutable_integration(), Create(*request));
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::GetIntegration(
    grpc::CallbackServerContext* context, const v1::GetIntegrationRequest* request,
    v1::GetIntegrationResponse* response) {
  return RunAsync(context, executor_, *api_, "/tokenbroker.v1.IntegrationService/GetIntegration",
                  Permission::kReadIntegrations, *request, IdOf(request->name()),
                  [this, request, response]() -> absl::Status {
                    TB_ASSIGN_OR_RETURN(*response->mutable_integration(), Get(*request));
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::ListIntegrations(
    grpc::CallbackServerContext* context, const v1::ListIntegrationsRequest* request,
    v1::ListIntegrationsResponse* response) {
  return RunAsync(context, executor_, *api_, "/tokenbroker.v1.IntegrationService/ListIntegrations",
                  Permission::kReadIntegrations, *request, std::string(),
                  [this, request, response] { return List(*request, response); });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::UpdateIntegration(
    grpc::CallbackServerContext* context, const v1::UpdateIntegrationRequest* request,
    v1::UpdateIntegrationResponse* response) {
  return RunAsync(context, executor_, *api_, "/tokenbroker.v1.IntegrationService/UpdateIntegration",
                  Permission::kManageIntegrations, *request, IdOf(request->integration().name()),
                  [this, request, response]() -> absl::Status {
                    TB_ASSIGN_OR_RETURN(*response->mutable_integration(), Update(*request));
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::DeleteIntegration(
    grpc::CallbackServerContext* context, const v1::DeleteIntegrationRequest* request,
    v1::DeleteIntegrationResponse* response) {
  return RunAsync(context, executor_, *api_, "/tokenbroker.v1.IntegrationService/DeleteIntegration",
                  Permission::kManageIntegrations, *request, IdOf(request->name()),
                  [this, request] { return Delete(*request); });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::ImportIntegrations(
    grpc::CallbackServerContext* context, const v1::ImportIntegrationsRequest* request,
    v1::ImportIntegrationsResponse* response) {
  return RunAsync(context, executor_, *api_,
                  "/tokenbroker.v1.IntegrationService/ImportIntegrations",
                  Permission::kManageIntegrations, *request, request->integration_id(),
                  [this, request, response] { return Import(*request, response); });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::ListClientSecrets(
    grpc::CallbackServerContext* context, const v1::ListClientSecretsRequest* request,
    v1::ListClientSecretsResponse* response) {
  return RunAsync(context, executor_, *api_, "/tokenbroker.v1.IntegrationService/ListClientSecrets",
                  Permission::kReadIntegrations, *request, IdOf(request->parent()),
                  [this, request, response] { return ListSecrets(*request, response); });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::RotateClientSecret(
    grpc::CallbackServerContext* context, const v1::RotateClientSecretRequest* request,
    v1::RotateClientSecretResponse* response) {
  return RunAsync(context, executor_, *api_,
                  "/tokenbroker.v1.IntegrationService/RotateClientSecret",
                  Permission::kManageIntegrations, *request, IdOf(request->parent()),
                  [this, request, response] { return RotateSecret(*request, response); });
}

grpc::ServerUnaryReactor* IntegrationServiceImpl::MigrateIntegration(
    grpc::CallbackServerContext* context, const v1::MigrateIntegrationRequest* request,
    v1::MigrateIntegrationResponse* response) {
  return RunAsync(context, executor_, *api_,
                  "/tokenbroker.v1.IntegrationService/MigrateIntegration",
                  Permission::kManageIntegrations, *request, IdOf(request->name()),
                  [this, request, response]() -> absl::Status {
                    TB_ASSIGN_OR_RETURN(*response->mutable_integration(), Migrate(*request));
                    return absl::OkStatus();
                  });
}

}  // namespace tokenbroker
