#ifndef TOKENBROKER_SERVER_IMS_DISPATCHING_EXCHANGER_H_
#define TOKENBROKER_SERVER_IMS_DISPATCHING_EXCHANGER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/ims/token_exchanger.h"

namespace tokenbroker {

// Routes each exchange to the exchanger of the integration's auth_method.
// Errors: INVALID_ARGUMENT for AUTH_METHOD_UNSPECIFIED (or an unknown
// value), FAILED_PRECONDITION when no exchanger was given for the method;
// otherwise those of the chosen exchanger.
// Thread-safe if the exchangers are. Owns them; either may be null.
class DispatchingExchanger final : public TokenExchanger {
 public:
  DispatchingExchanger(std::unique_ptr<TokenExchanger> oauth_s2s,
                       std::unique_ptr<TokenExchanger> jwt);

  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override;

 private:
  const std::unique_ptr<TokenExchanger> oauth_s2s_;
  const std::unique_ptr<TokenExchanger> jwt_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_DISPATCHING_EXCHANGER_H_
