// The one place where an IMS HTTP response becomes an access token or a
// Status, shared by every exchanger.
#ifndef TOKENBROKER_SERVER_IMS_IMS_RESPONSE_H_
#define TOKENBROKER_SERVER_IMS_IMS_RESPONSE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/http_transport.h"
#include "server/model/integration.h"

namespace tokenbroker {

// The unit of `expires_in` in a token response: it differs between flows
// (OAuth S2S: seconds; JWT exchange: milliseconds).
enum class ExpiresInUnit { kSeconds, kMilliseconds };

// Turns an IMS token response into an AccessToken, or a Status that follows
// TokenExchanger's contract:
// - 200 with `access_token` and a positive `expires_in` (number or numeric
//   string, in `unit`): AccessToken{issue_time = now, expire_time = now +
//   expires_in, debug_id = x-debug-id}.
//   Cross-check: the access token is itself a JWT whose payload carries
//   `created_at` and `expires_in` (both ms). When that payload parses and is
//   plausible (created_at within an hour of `now`, positive lifetime), the
//   expiry is the earlier of the two computations: a unit mix-up or a clock
//   skew then shortens the cached lifetime instead of serving an expired
//   token. A disagreement of more than 5 minutes is logged.
// - 200 whose body is not a token (not JSON, missing fields, non-positive
//   expires_in): UNAVAILABLE, reason IMS_BAD_RESPONSE. Design choice: a
//   garbled answer is most likely a transient upstream fault (a proxy error
//   page, a truncated body), so it is retried like a 5xx instead of being
//   surfaced as INTERNAL.
// - 400, 401, 403 and other 4xx except 408/429: FAILED_PRECONDITION, reason
//   IMS_REJECTED, metadata `ims_error` (IMS's `error`, or `http_<status>`
//   when the body has none), `x_debug_id`, `http_status`. The message is
//   "IMS rejected integration 'ID': <error> (x-debug-id: ...)" followed by
//   IMS's error_description when printable (capped at 200 chars).
// - 408, 429, 5xx: UNAVAILABLE, reason IMS_UNAVAILABLE, with a RetryInfo
//   payload when `Retry-After` (delta-seconds or HTTP-date) parses.
// - 3xx (redirects are not followed): FAILED_PRECONDITION, reason
//   IMS_BAD_RESPONSE: the base URL or path is wrong.
// - Anything else: UNAVAILABLE, reason IMS_BAD_RESPONSE.
// Messages never contain the body, only IMS's error code and description.
absl::StatusOr<AccessToken> ParseImsTokenResponse(const HttpResponse& response, ExpiresInUnit unit,
                                                  absl::string_view integration_id, absl::Time now);

// Adds IMS context to a transport failure: "IMS request for integration
// 'ID' failed: <transport message>", same code; UNAVAILABLE gets reason
// IMS_UNAVAILABLE.
absl::Status ImsTransportError(const absl::Status& transport_status,
                               absl::string_view integration_id);

// True when `status` is IMS rejecting the client credentials
// (IMS_REJECTED with ims_error `invalid_client`): the cue to try the
// integration's other client secret.
bool IsInvalidClient(const absl::Status& status);

// Parses a Retry-After header value: delta-seconds, or an HTTP-date
// (IMF-fixdate) relative to `now`. nullopt when absent or unparsable.
// Negative results are clamped to zero; results are capped at one day.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_IMS_RESPONSE_H_
