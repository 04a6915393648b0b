#ifndef TOKENBROKER_SERVER_IMS_JWT_EXCHANGER_H_
#define TOKENBROKER_SERVER_IMS_JWT_EXCHANGER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "server/common/clock.h"
#include "server/http/http_transport.h"
#include "server/ims/ims_options.h"
#include "server/ims/token_exchanger.h"

namespace tokenbroker {

// JWT service account (legacy; Adobe ends it in 2025–2026): signs an RS256
// JWT with the integration's private key and POSTs it to
// {base}{jwt_exchange_path} as urlencoded client_id, client_secret and
// jwt_token. `expires_in` of the answer is in MILLISECONDS.
//
// Claims: `exp` (integer epoch seconds, now + jwt_lifetime), `iss` = org_id,
// `sub` = technical_account_id, `aud` = {base}/c/{client_id}, `jti` (random,
// 128 bits hex; some accounts require a unique one), and per metascope
// `{base}/s/{metascope}: true` (a metascope that already is a URL, as
// Postman exports give them, is used as is). No `iat`: Adobe's documentation
// does not list it.
//
// Secret rotation: as OAuthServerToServerExchanger (second client secret
// after an `invalid_client`, with a freshly signed JWT).
//
// Errors: those of TokenExchanger; INVALID_ARGUMENT when a required field is
// empty or the private key does not parse.
// Thread-safe; blocks on the transport. Does not own `transport` or `clock`.
class JwtExchanger final : public TokenExchanger {
 public:
  // Returns a fresh `jti`.
  using JtiGenerator = std::function<std::string()>;

  // `jti_generator` exists for tests; by default 16 RAND_bytes, hex.
  JwtExchanger(HttpTransport* transport, const Clock* clock, ImsOptions options,
               JtiGenerator jti_generator = nullptr);

  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override;

  // The claims signed for `integration` at `now` (exposed for tests).
  nlohmann::json Claims(const Integration& integration, absl::Time now) const;

 private:
  HttpTransport* const transport_;
  const Clock* const clock_;
  const ImsOptions options_;
  const JtiGenerator jti_generator_;
};

// 16 bytes from OpenSSL's RAND_bytes, as 32 lower-case hex digits.
std::string RandomJti();

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_JWT_EXCHANGER_H_
