#ifndef TOKENBROKER_SERVER_IMS_IMS_OPTIONS_H_
#define TOKENBROKER_SERVER_IMS_IMS_OPTIONS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/model/integration.h"

namespace tokenbroker {

// Server-wide IMS settings, shared by the exchangers. Paths are configurable
// because Adobe's own libraries disagree (e.g. /ims/token/v2 vs v3).
struct ImsOptions {
  // Used for integrations whose `ims_url` is empty.
  std::string default_base_url = "https://ims-na1.adobelogin.com";
  // OAuth Server-to-Server token endpoint.
  std::string oauth_token_path = "/ims/token/v3";
  // JWT (service account) exchange endpoint.
  std::string jwt_exchange_path = "/ims/exchange/jwt";
  // `exp` of the JWTs we sign = now + jwt_lifetime (Adobe's libraries: 5 min).
  absl::Duration jwt_lifetime = absl::Minutes(5);
  // Whole-request timeout of one IMS call.
  absl::Duration request_timeout = absl::Seconds(30);
};

// The IMS base URL for `integration`: its `ims_url` if set, else
// `options.default_base_url`; without trailing '/'.
std::string ImsBaseUrl(const Integration& integration, const ImsOptions& options);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_IMS_OPTIONS_H_
