// The generated messages and grpc-js stubs (src/gen, made by generate.sh),
// re-exported under one roof: `import { stubs } from "@tokenbroker/client"`
// or `import ... from "@tokenbroker/client/stubs"`.
export {
  AccessToken,
  GetAccessTokenRequest,
  GetAccessTokenResponse,
  GetRequestHeadersRequest,
  GetRequestHeadersResponse,
  Header,
  RefreshAccessTokenRequest,
  RefreshAccessTokenResponse,
  TokenServiceClient,
  TokenServiceService,
  WatchAccessTokensRequest,
  WatchAccessTokensResponse,
  type TokenServiceServer,
} from "./gen/tokenbroker/v1/token_service.js";
export {
  ConsoleClientSecret,
  CreateIntegrationRequest,
  CreateIntegrationResponse,
  DeleteIntegrationRequest,
  DeleteIntegrationResponse,
  GetIntegrationRequest,
  GetIntegrationResponse,
  ImportIntegrationsRequest,
  ImportIntegrationsResponse,
  ImportIntegrationsResponse_Imported,
  ImportIntegrationsResponse_Imported_Action,
  ImportIntegrationsResponse_Skipped,
  IntegrationServiceClient,
  IntegrationServiceService,
  ListClientSecretsRequest,
  ListClientSecretsResponse,
  ListIntegrationsRequest,
  ListIntegrationsResponse,
  MigrateIntegrationRequest,
  MigrateIntegrationResponse,
  RotateClientSecretRequest,
  RotateClientSecretResponse,
  RotateClientSecretResponse_State,
  UpdateIntegrationRequest,
  UpdateIntegrationResponse,
  type IntegrationServiceServer,
} from "./gen/tokenbroker/v1/integration_service.js";
export { AuthMethod, CredentialInfo, Credentials, Integration, Integration_State } from "./gen/tokenbroker/v1/integration.js";
export { BadRequest, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details.js";
export { Status } from "./gen/google/rpc/status.js";
