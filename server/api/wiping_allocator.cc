#include "server/api/wiping_allocator.h"

#include "server/common/secret.h"

namespace tokenbroker {
namespace {

void WipeCredentials(v1::Integration* integration) {
  if (!integration->has_credentials()) return;
  v1::Credentials* credentials = integration->mutable_credentials();
  for (std::string& secret : *credentials->mutable_client_secrets()) WipeString(&secret);
  WipeString(credentials->mutable_private_key_pem());
}

void WipeToken(v1::AccessToken* token) { WipeString(token->mutable_access_token()); }

}  // namespace

void WipeSecrets(v1::CreateIntegrationRequest* request) {
  if (request->has_integration()) WipeCredentials(request->mutable_integration());
}

void WipeSecrets(v1::UpdateIntegrationRequest* request) {
  if (request->has_integration()) WipeCredentials(request->mutable_integration());
}

void WipeSecrets(v1::ImportIntegrationsRequest* request) {
  WipeString(request->mutable_credential_file());
}

void WipeSecrets(v1::MigrateIntegrationRequest* request) {
  WipeString(request->mutable_client_secret());
}

void WipeSecrets(v1::GetAccessTokenResponse* response) {
  if (response->has_token()) WipeToken(response->mutable_token());
}

void WipeSecrets(v1::RefreshAccessTokenResponse* response) {
  if (response->has_token()) WipeToken(response->mutable_token());
}

void WipeSecrets(v1::GetRequestHeadersResponse* response) {
  // Authorization carries the token; the others are not secret but cheap.
  for (v1::Header& header : *response->mutable_headers()) WipeString(header.mutable_value());
}

}  // namespace tokenbroker
