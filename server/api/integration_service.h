#ifndef TOKENBROKER_SERVER_API_INTEGRATION_SERVICE_H_
#define TOKENBROKER_SERVER_API_INTEGRATION_SERVICE_H_

#include "server/api/call_guard.h"
#include "server/api/convert.h"
#include "server/api/wiping_allocator.h"
#include "server/common/clock.h"
#include "server/common/executor.h"
#include "server/lifecycle/client_secrets.h"
#include "server/lifecycle/jwt_migration.h"
#include "server/store/credential_store.h"
#include "tokenbroker/v1/integration_service.grpc.pb.h"

namespace tokenbroker {

// tokenbroker.v1.IntegrationService on gRPC's callback API. Store calls may
// block, so each RPC runs on `executor` and finishes its reactor from there.
class IntegrationServiceImpl final : public v1::IntegrationService::CallbackService {
 public:
  // `api` must outlive the service. The broker needs no telling: it hears
  // of every change through the store's change feed.
  // `clock` stamps when client secrets were stored; `secrets` answers
  // ListClientSecrets and RotateClientSecret, `migrator`
  // MigrateIntegration. None is owned.
  IntegrationServiceImpl(CredentialStore* store, Executor* executor, ValidationOptions options,
                         const ApiContext* api, const Clock* clock, ClientSecretManager* secrets,
                         JwtMigrator* migrator)
      : store_(store),
        executor_(executor),
        options_(options),
        api_(api),
        clock_(clock),
        secrets_(secrets),
        migrator_(migrator) {
    SetMessageAllocatorFor_CreateIntegration(&create_allocator_);
    SetMessageAllocatorFor_UpdateIntegration(&update_allocator_);
    SetMessageAllocatorFor_ImportIntegrations(&import_allocator_);
    SetMessageAllocatorFor_MigrateIntegration(&migrate_allocator_);
  }

  grpc::ServerUnaryReactor* CreateIntegration(grpc::CallbackServerContext* context,
                                              const v1::CreateIntegrationRequest* request,
                                              v1::CreateIntegrationResponse* response) override;
  grpc::ServerUnaryReactor* GetIntegration(grpc::CallbackServerContext* context,
                                           const v1::GetIntegrationRequest* request,
                                           v1::GetIntegrationResponse* response) override;
  grpc::ServerUnaryReactor* ListIntegrations(grpc::CallbackServerContext* context,
                                             const v1::ListIntegrationsRequest* request,
                                             v1::ListIntegrationsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateIntegration(grpc::CallbackServerContext* context,
                                              const v1::UpdateIntegrationRequest* request,
                                              v1::UpdateIntegrationResponse* response) override;
  grpc::ServerUnaryReactor* DeleteIntegration(grpc::CallbackServerContext* context,
                                              const v1::DeleteIntegrationRequest* request,
                                              v1::DeleteIntegrationResponse* response) override;
  grpc::ServerUnaryReactor* ImportIntegrations(grpc::CallbackServerContext* context,
                                               const v1::ImportIntegrationsRequest* request,
                                               v1::ImportIntegrationsResponse* response) override;
  grpc::ServerUnaryReactor* ListClientSecrets(grpc::CallbackServerContext* context,
                                              const v1::ListClientSecretsRequest* request,
                                              v1::ListClientSecretsResponse* response) override;
  grpc::ServerUnaryReactor* RotateClientSecret(grpc::CallbackServerContext* context,
                                               const v1::RotateClientSecretRequest* request,
                                               v1::RotateClientSecretResponse* response) override;
  grpc::ServerUnaryReactor* MigrateIntegration(grpc::CallbackServerContext* context,
                                               const v1::MigrateIntegrationRequest* request,
                                               v1::MigrateIntegrationResponse* response) override;

  // The operations themselves, synchronous; public for unit tests.
  absl::StatusOr<v1::Integration> Create(const v1::CreateIntegrationRequest& request);
  absl::StatusOr<v1::Integration> Get(const v1::GetIntegrationRequest& request);
  absl::Status List(const v1::ListIntegrationsRequest& request,
                    v1::ListIntegrationsResponse* response);
  absl::StatusOr<v1::Integration> Update(const v1::UpdateIntegrationRequest& request);
  absl::Status Delete(const v1::DeleteIntegrationRequest& request);
  // With `validate_only`, the response shows the integrations as they would
  // be stored (no etag, no times) and nothing is written.
  absl::Status Import(const v1::ImportIntegrationsRequest& request,
                      v1::ImportIntegrationsResponse* response);
  absl::Status ListSecrets(const v1::ListClientSecretsRequest& request,
                           v1::ListClientSecretsResponse* response);
  absl::Status RotateSecret(const v1::RotateClientSecretRequest& request,
                            v1::RotateClientSecretResponse* response);
  // JWT -> OAuth S2S (JwtMigrator::Migrate), the request's fields checked
  // first and the converted integration validated as an S2S create.
  absl::StatusOr<v1::Integration> Migrate(const v1::MigrateIntegrationRequest& request);

 private:
  CredentialStore* const store_;
  Executor* const executor_;
  const ValidationOptions options_;
  const ApiContext* const api_;
  const Clock* const clock_;
  ClientSecretManager* const secrets_;
  JwtMigrator* const migrator_;
  // Wipe the credentials of the requests when gRPC frees them.
  WipingMessageAllocator<v1::CreateIntegrationRequest, v1::CreateIntegrationResponse>
      create_allocator_;
  WipingMessageAllocator<v1::UpdateIntegrationRequest, v1::UpdateIntegrationResponse>
      update_allocator_;
  WipingMessageAllocator<v1::ImportIntegrationsRequest, v1::ImportIntegrationsResponse>
      import_allocator_;
  WipingMessageAllocator<v1::MigrateIntegrationRequest, v1::MigrateIntegrationResponse>
      migrate_allocator_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_API_INTEGRATION_SERVICE_H_
