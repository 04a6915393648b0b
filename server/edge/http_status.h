// The local HTTP endpoint's translation of absl::Status and of its query
// parameters, done once, at the edge (pure functions; no sockets).
//
// Error body, every non-2xx answer of server/edge/http_token_endpoint.h:
//   {"error": {"code": 404,                   HTTP status (HttpStatusFor)
//              "status": "NOT_FOUND",          canonical code name
//              "message": "...",               the Status message (never a secret)
//              "reason": "INTEGRATION_NOT_FOUND"}}   ErrorInfo.reason, when there is one
// The shape is Google's JSON error (google.rpc.Status as REST APIs send it)
// with ErrorInfo's reason lifted to the top, so shell callers can
// `jq -r .error.reason`.
#ifndef TOKENBROKER_SERVER_EDGE_HTTP_STATUS_H_
#define TOKENBROKER_SERVER_EDGE_HTTP_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokenbroker {

// Retry-After of a 503 whose status carries no RetryInfo (e.g. the drain).
inline constexpr absl::Duration kDefaultRetryAfter = absl::Seconds(1);

// The HTTP status of a canonical code, as google.rpc.Code documents it:
// OK 200, INVALID_ARGUMENT/FAILED_PRECONDITION/OUT_OF_RANGE 400,
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404,
// ALREADY_EXISTS/ABORTED 409, RESOURCE_EXHAUSTED 429, CANCELLED 499,
// UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, others 500.
// FAILED_PRECONDITION (IMS rejected the credential, integration disabled)
// is a 4xx on purpose: retrying the same call cannot help.
int HttpStatusFor(absl::StatusCode code);

// The error body above for a non-OK `status`.
std::string ErrorJson(const absl::Status& status);
// The same shape for answers that have no canonical code (the transport's
// own: 405 METHOD_NOT_ALLOWED, 413 PAYLOAD_TOO_LARGE, ...); no reason.
std::string HttpErrorJson(int http_status, absl::string_view status, absl::string_view message);

// Whole seconds for a Retry-After header: the RetryInfo delay rounded up
// (at least 1) for any code that carries one; kDefaultRetryAfter for an
// UNAVAILABLE without; nullopt otherwise.
std::optional<int64_t> RetryAfterSeconds(const absl::Status& status);

// The `min_validity` query parameter (absl duration syntax: "90s", "5m",
// "1h30m"): nullopt when absent; INVALID_ARGUMENT naming min_validity when
// it does not parse or lies outside [0, 12h] (the gRPC
// min_remaining_validity's rule, CheckMinValidity).
absl::StatusOr<std::optional<absl::Duration>> ParseMinValidityParam(
    std::optional<absl::string_view> value);

// RFC 3339 in UTC with a "Z" and the fractional seconds there are
// ("2026-12-04T20:35:55.25Z"), as google.protobuf.Timestamp's JSON form.
std::string Rfc3339(absl::Time time);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_EDGE_HTTP_STATUS_H_
