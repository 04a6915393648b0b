#ifndef TOKENBROKER_SERVER_IMS_OAUTH_S2S_EXCHANGER_H_
#define TOKENBROKER_SERVER_IMS_OAUTH_S2S_EXCHANGER_H_

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/http/http_transport.h"
#include "server/ims/ims_options.h"
#include "server/ims/token_exchanger.h"

namespace tokenbroker {

// OAuth Server-to-Server: POST {base}{oauth_token_path} with urlencoded
// grant_type=client_credentials, client_id, client_secret and scope (the
// integration's scopes, comma-separated; omitted when there are none).
// `expires_in` of the answer is in SECONDS.
//
// Secret rotation: when IMS answers `invalid_client` to the first client
// secret and the integration holds a second one, the second is tried (and a
// warning logged, since the rotation should then be finished).
//
// Errors: those of TokenExchanger; INVALID_ARGUMENT when client_id or every
// client secret is empty.
// Thread-safe; blocks on the transport. Does not own `transport` or `clock`,
// which must outlive it.
class OAuthServerToServerExchanger final : public TokenExchanger {
 public:
  OAuthServerToServerExchanger(HttpTransport* transport, const Clock* clock, ImsOptions options);

  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override;

 private:
  HttpTransport* const transport_;
  const Clock* const clock_;
  const ImsOptions options_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_OAUTH_S2S_EXCHANGER_H_
