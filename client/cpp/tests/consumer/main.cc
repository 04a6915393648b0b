// consumer TARGET INTEGRATION [CLIENT_ID CLIENT_SECRET IMS_URL]: with the
// three extra arguments first creates INTEGRATION (OAuth Server-to-Server)
// through the SDK's IntegrationService call; then prints the Adobe header
// names and the token's validity, and lists the integrations; exit 0.
// A plaintext client: for a broker on loopback.
#include <cstdio>
#include <string>

#include "tokenbroker/client/client.h"
#include "tokenbroker/client/error.h"
#include "tokenbroker/client/token_source.h"
#ifdef CONSUMER_WITH_CURL
#include "tokenbroker/client/curl_headers.h"
#endif

namespace tbc = tokenbroker::client;

// Prints the name of each header the source would send.
int PrintHeaderNames(tbc::TokenSource& source) {
#ifdef CONSUMER_WITH_CURL
  absl::StatusOr<tbc::CurlHeaderList> headers = tbc::CurlHeaders(source);
  if (!headers.ok()) {
    std::fprintf(stderr, "%s\n", tbc::GetError(headers.status()).ToString().c_str());
    return 1;
  }
  for (curl_slist* line = headers->get(); line != nullptr; line = line->next) {
    std::string text = line->data;
    std::printf("header %s\n", text.substr(0, text.find(':')).c_str());
  }
#else
  absl::StatusOr<tbc::RequestHeaders> headers = source.Headers();
  if (!headers.ok()) {
    std::fprintf(stderr, "%s\n", tbc::GetError(headers.status()).ToString().c_str());
    return 1;
  }
  for (const tbc::Header& header : headers->headers) {
    std::printf("header %s\n", header.name.c_str());
  }
#endif
  return 0;
}

// Creates `id` for the IMS client `client_id`.
int CreateIntegration(tbc::Client& client, const char* id, const char* client_id,
                      const char* secret, const char* ims_url) {
  tokenbroker::v1::CreateIntegrationRequest request;
  request.set_integration_id(id);
  tokenbroker::v1::Integration* integration = request.mutable_integration();
  integration->set_auth_method(tokenbroker::v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER);
  integration->set_client_id(client_id);
  integration->set_org_id("ORG@AdobeOrg");
  integration->add_scopes("openid");
  integration->add_scopes("AdobeID");
  integration->set_ims_url(ims_url);
  integration->mutable_credentials()->add_client_secrets(secret);
  absl::StatusOr<tokenbroker::v1::CreateIntegrationResponse> created =
      client.CreateIntegration(request);
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", tbc::GetError(created.status()).ToString().c_str());
    return 1;
  }
  std::printf("created %s\n", created->integration().name().c_str());
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 6) {
    std::fprintf(stderr, "usage: consumer TARGET INTEGRATION [CLIENT_ID CLIENT_SECRET IMS_URL]\n");
    return 2;
  }
  tbc::ClientOptions options;
  options.target = argv[1];
  options.plaintext = true;
  absl::StatusOr<std::shared_ptr<tbc::Client>> client = tbc::Client::New(options);
  if (!client.ok()) return 1;
  if (argc == 6 && CreateIntegration(**client, argv[2], argv[3], argv[4], argv[5]) != 0) return 1;
  auto source = tbc::TokenSource::New(*client, argv[2]);
  if (!source.ok()) return 1;
  if (PrintHeaderNames(**source) != 0) return 1;
  absl::StatusOr<tbc::AccessToken> token = (*source)->Token();
  if (!token.ok()) return 1;
  std::printf("valid for %lld s\n",
              static_cast<long long>(absl::ToInt64Seconds(token->expire_time - absl::Now())));

  absl::StatusOr<tokenbroker::v1::ListIntegrationsResponse> listed =
      (*client)->ListIntegrations(tokenbroker::v1::ListIntegrationsRequest());
  if (!listed.ok()) {
    std::fprintf(stderr, "%s\n", tbc::GetError(listed.status()).ToString().c_str());
    return 1;
  }
  std::printf("integrations %d\n", listed->integrations_size());
  return 0;
}
