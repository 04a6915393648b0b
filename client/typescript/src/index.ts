// @tokenbroker/client: Adobe IMS access tokens from a tokenbroker server.
export {
  CHANNEL_DEFAULTS,
  DEFAULT_CALLER_TOKEN_RELOAD_MS,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_TARGET,
  TokenbrokerClient,
  integrationName,
  type CallOptions,
  type ClientOptions,
  type ClientSettings,
  type ImportIntegrationsInput,
  type IntegrationInput,
  type MigrateIntegrationInput,
  type RequestHeaders,
  type TlsOptions,
  type Token,
  type TokenCallOptions,
} from "./client.js";
export { TokenSource, type TokenSourceOptions, type TokenSourceStats } from "./token_source.js";
export {
  ERROR_DOMAIN,
  TokenbrokerError,
  decodeStatusDetails,
  type DecodedStatusDetails,
  type FieldViolation,
} from "./errors.js";
export { DEFAULT_RETRY, backoffDelayMs, type RetryOptions } from "./retry.js";
export { setLogger, type Logger } from "./log.js";
export {
  adobeAxiosInterceptor,
  adobeHeaders,
  createAdobeFetch,
  installAdobeAxiosInterceptor,
  withAdobeHeaders,
  type AxiosLikeInstance,
  type AxiosLikeRequestConfig,
  type HeaderSource,
  type HeadersInitLike,
} from "./http.js";
export { AuthMethod, Integration_State as IntegrationState, type Integration } from "./gen/tokenbroker/v1/integration.js";
export {
  ImportIntegrationsResponse_Imported_Action as ImportAction,
  RotateClientSecretResponse_State as RotationState,
  type ConsoleClientSecret,
  type ImportIntegrationsResponse,
  type ImportIntegrationsResponse_Imported as ImportedIntegration,
  type ImportIntegrationsResponse_Skipped as SkippedCredential,
  type ListClientSecretsResponse,
  type ListIntegrationsResponse,
  type RotateClientSecretResponse,
} from "./gen/tokenbroker/v1/integration_service.js";
/** gRPC status codes (grpc-js's `status` enum): `err.code === Code.NOT_FOUND`. */
export { status as Code, Metadata } from "@grpc/grpc-js";
export * as stubs from "./stubs.js";
