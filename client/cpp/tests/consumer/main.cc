// consumer TARGET INTEGRATION: prints the Adobe header names and the token's
// validity, lists integrations through the installed proto stubs; exit 0.
#include <grpcpp/grpcpp.h>

#include <cstdio>

#include "tokenbroker/client/client.h"
#include "tokenbroker/client/curl_headers.h"
#include "tokenbroker/client/error.h"
#include "tokenbroker/client/token_source.h"
#include "tokenbroker/v1/integration_service.grpc.pb.h"

int main(int argc, char** argv) {
  namespace tbc = tokenbroker::client;
  if (argc != 3) {
    std::fprintf(stderr, "usage: consumer TARGET INTEGRATION\n");
    return 2;
  }
  tbc::ClientOptions options;
  options.target = argv[1];
  options.plaintext = true;
  absl::StatusOr<std::shared_ptr<tbc::Client>> client = tbc::Client::New(options);
  if (!client.ok()) return 1;
  auto source = tbc::TokenSource::New(*client, argv[2]);
  if (!source.ok()) return 1;
  absl::StatusOr<tbc::CurlHeaderList> headers = tbc::CurlHeaders(**source);
  if (!headers.ok()) {
    std::fprintf(stderr, "%s\n", tbc::GetError(headers.status()).ToString().c_str());
    return 1;
  }
  for (curl_slist* line = headers->get(); line != nullptr; line = line->next) {
    std::string text = line->data;
    std::printf("header %s\n", text.substr(0, text.find(':')).c_str());
  }
  absl::StatusOr<tbc::AccessToken> token = (*source)->Token();
  if (!token.ok()) return 1;
  std::printf("valid for %lld s\n",
              static_cast<long long>(absl::ToInt64Seconds(token->expire_time - absl::Now())));

  grpc::ClientContext context;
  if (!(*client)->PrepareContext(&context).ok()) return 1;
  tokenbroker::v1::ListIntegrationsRequest request;
  tokenbroker::v1::ListIntegrationsResponse response;
  grpc::Status status = tokenbroker::v1::IntegrationService::NewStub((*client)->channel())
                            ->ListIntegrations(&context, request, &response);
  if (!status.ok()) return 1;
  std::printf("integrations %d\n", response.integrations_size());
  return 0;
}
