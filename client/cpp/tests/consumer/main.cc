// consumer TARGET INTEGRATION: prints the Adobe header names and the token's
// validity, and lists integrations through the SDK's IntegrationService
// call; exit 0.
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

int main(int argc, char** argv) {
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
