// Structured error details carried on absl::Status as payloads, so that the
// gRPC edge can send them as google.rpc.ErrorInfo / RetryInfo.
#ifndef TOKENBROKER_SERVER_COMMON_ERROR_DETAILS_H_
#define TOKENBROKER_SERVER_COMMON_ERROR_DETAILS_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"

namespace tokenbroker {

inline constexpr char kErrorDomain[] = "tokenbroker.dev";
inline constexpr char kErrorInfoTypeUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kRetryInfoTypeUrl[] = "type.googleapis.com/google.rpc.RetryInfo";
inline constexpr char kBadRequestTypeUrl[] = "type.googleapis.com/google.rpc.BadRequest";

// Stable reasons (ErrorInfo.reason).
inline constexpr char kReasonImsRejected[] = "IMS_REJECTED";
inline constexpr char kReasonImsUnavailable[] = "IMS_UNAVAILABLE";
inline constexpr char kReasonImsBadResponse[] = "IMS_BAD_RESPONSE";
inline constexpr char kReasonIntegrationNotFound[] = "INTEGRATION_NOT_FOUND";
inline constexpr char kReasonIntegrationDisabled[] = "INTEGRATION_DISABLED";
inline constexpr char kReasonInvalidField[] = "INVALID_FIELD";

// Returns `status` with an ErrorInfo payload (domain kErrorDomain).
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata = {});
std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status);

// Returns `status` with a RetryInfo payload.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);
std::optional<absl::Duration> GetRetryDelay(const absl::Status& status);

// `status` with `context` before its message (e.g. "minting a token for
// the Console: "), its code and payloads (ErrorInfo, RetryInfo) kept.
absl::Status WithContext(const absl::Status& status, absl::string_view context);

// An INVALID_ARGUMENT naming `field`, with BadRequest and ErrorInfo details.
absl::Status InvalidField(absl::string_view field, absl::string_view description);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_ERROR_DETAILS_H_
