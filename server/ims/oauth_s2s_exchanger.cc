#include "server/ims/oauth_s2s_exchanger.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/ims/ims_request.h"

namespace tokenbroker {

OAuthServerToServerExchanger::OAuthServerToServerExchanger(HttpTransport* transport,
                                                           const Clock* clock, ImsOptions options)
    : transport_(transport), clock_(clock), options_(std::move(options)) {}

absl::StatusOr<AccessToken> OAuthServerToServerExchanger::Exchange(const Integration& integration) {
  if (integration.client_id.empty()) {
    return InvalidField("client_id", "required to exchange an OAuth Server-to-Server credential");
  }
  std::vector<const SecretString*> secrets = internal::ClientSecrets(integration);
  if (secrets.empty()) {
    return InvalidField("client_secrets",
                        "an OAuth Server-to-Server integration needs a client secret");
  }
  const std::string scope = absl::StrJoin(integration.scopes, ",");

  return internal::WithSecretFallback(
      integration, secrets,
      [&](const SecretString& secret, int index) -> absl::StatusOr<AccessToken> {
        std::vector<std::pair<absl::string_view, absl::string_view>> fields = {
            {"grant_type", "client_credentials"},
            {"client_id", integration.client_id},
            {"client_secret", secret.value()},
        };
        if (!scope.empty()) fields.emplace_back("scope", scope);
        internal::ImsPost post;
        post.url = absl::StrCat(ImsBaseUrl(integration, options_), options_.oauth_token_path);
        post.form_body = internal::FormEncode(fields);
        post.timeout = options_.request_timeout;
        post.unit = ExpiresInUnit::kSeconds;
        post.flow = "oauth_s2s";
        post.secret_index = index;
        return internal::PostTokenRequest(*transport_, *clock_, integration, post);
      });
}

}  // namespace tokenbroker
