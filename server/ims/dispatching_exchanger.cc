#include "server/ims/dispatching_exchanger.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"

namespace tokenbroker {

DispatchingExchanger::DispatchingExchanger(std::unique_ptr<TokenExchanger> oauth_s2s,
                                           std::unique_ptr<TokenExchanger> jwt)
    : oauth_s2s_(std::move(oauth_s2s)), jwt_(std::move(jwt)) {}

absl::StatusOr<AccessToken> DispatchingExchanger::Exchange(const Integration& integration) {
  TokenExchanger* exchanger = nullptr;
  const char* name = "";
  switch (integration.auth_method) {
    case AuthMethod::kOAuthServerToServer:
      exchanger = oauth_s2s_.get();
      name = "OAuth Server-to-Server";
      break;
    case AuthMethod::kJwt:
      exchanger = jwt_.get();
      name = "JWT";
      break;
    default:
      return InvalidField("auth_method",
                          absl::StrCat("integration '", integration.id, "' has no auth method"));
  }
  if (exchanger == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("integration '", integration.id, "': the ", name,
                     " auth method is not enabled on this server"));
  }
  return exchanger->Exchange(integration);
}

}  // namespace tokenbroker
