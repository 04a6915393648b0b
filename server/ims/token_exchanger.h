#ifndef TOKENBROKER_SERVER_IMS_TOKEN_EXCHANGER_H_
#define TOKENBROKER_SERVER_IMS_TOKEN_EXCHANGER_H_

#include "absl/status/statusor.h"
#include "server/model/integration.h"

namespace tokenbroker {

// Obtains a new access token from IMS for one integration: one exchanger per
// auth method, plus decorators (retries) and a dispatcher by auth method.
//
// Errors (each with an ErrorInfo payload, see server/common/error_details.h):
// - FAILED_PRECONDITION, reason IMS_REJECTED: IMS refused the credential
//   (metadata `ims_error` = IMS's `error`, `x_debug_id`, `http_status`).
//   Needs an operator; do not retry in a loop.
// - UNAVAILABLE, reason IMS_UNAVAILABLE: 429, 5xx, timeout, reset; may carry
//   a RetryInfo payload (from Retry-After).
// - UNAVAILABLE, reason IMS_BAD_RESPONSE: a 200 whose body is not a token
//   (retried like a 5xx: most likely a transient upstream fault; see
//   ims_response.h). FAILED_PRECONDITION, reason IMS_BAD_RESPONSE: a
//   redirect (wrong base URL or path).
// - INVALID_ARGUMENT: the integration cannot be exchanged (e.g. a JWT
//   integration whose private key does not parse).
// Messages never contain secrets, tokens or raw IMS bodies.
// Thread-safe; blocks on network I/O.
class TokenExchanger {
 public:
  virtual ~TokenExchanger() = default;
  virtual absl::StatusOr<AccessToken> Exchange(const Integration& integration) = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_TOKEN_EXCHANGER_H_
