// Typed access to the details of a failed call.
//
// Every Client / TokenSource method returns absl::Status (or StatusOr): the
// code is the gRPC code (absl and gRPC codes are numerically identical) and
// the message is the server's. The server's google.rpc.Status details ride
// along as Status payloads keyed by their type URL (ErrorInfo, RetryInfo,
// BadRequest); GetError() decodes them into a plain struct:
//
//   absl::StatusOr<AccessToken> token = client->GetAccessToken("billing");
//   if (!token.ok()) {
//     TokenbrokerError e = GetError(token.status());
//     if (e.reason == kReasonImsRejected) alert(e.ims_error, e.x_debug_id);
//   }
#ifndef TOKENBROKER_CLIENT_ERROR_H_
#define TOKENBROKER_CLIENT_ERROR_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokenbroker::client {

// ErrorInfo.domain of errors the server raises itself.
inline constexpr char kErrorDomain[] = "tokenbroker.dev";

// Stable ErrorInfo.reason values.
inline constexpr char kReasonImsRejected[] = "IMS_REJECTED";        // FAILED_PRECONDITION
inline constexpr char kReasonImsUnavailable[] = "IMS_UNAVAILABLE";  // UNAVAILABLE
inline constexpr char kReasonImsBadResponse[] = "IMS_BAD_RESPONSE";
inline constexpr char kReasonIntegrationNotFound[] = "INTEGRATION_NOT_FOUND";  // NOT_FOUND
inline constexpr char kReasonIntegrationDisabled[] = "INTEGRATION_DISABLED";
inline constexpr char kReasonInvalidField[] = "INVALID_FIELD";  // INVALID_ARGUMENT

// Type URLs of the payloads GetError() reads.
inline constexpr char kErrorInfoTypeUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kRetryInfoTypeUrl[] = "type.googleapis.com/google.rpc.RetryInfo";
inline constexpr char kBadRequestTypeUrl[] = "type.googleapis.com/google.rpc.BadRequest";

// One google.rpc.BadRequest.FieldViolation.
struct FieldViolation {
  std::string field;  // e.g. `name`
  std::string description;
};

// A failed call, decoded. Fields the server did not send are empty. Never
// holds a secret or a token: the server never puts one in an error.
struct TokenbrokerError {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;
  // google.rpc.ErrorInfo: a stable UPPER_SNAKE_CASE reason (kReason*), its
  // domain, and all its metadata.
  std::string reason;
  std::string domain;
  std::map<std::string, std::string> metadata;
  // Shortcuts into `metadata`.
  std::string ims_error;    // IMS's `error`, e.g. `invalid_client`
  std::string x_debug_id;   // IMS's `x-debug-id`: what Adobe support asks for
  std::string http_status;  // IMS's HTTP status, e.g. `401`
  std::string field;        // the offending request field
  // google.rpc.RetryInfo: how long the server asks callers to wait.
  std::optional<absl::Duration> retry_delay;
  // google.rpc.BadRequest.
  std::vector<FieldViolation> field_violations;

  // "FAILED_PRECONDITION: <message> [reason=IMS_REJECTED ims_error=invalid_client
  // x_debug_id=...]": for logs.
  std::string ToString() const;
};

// Decodes `status`. OK gives code kOk and nothing else; a status without
// payloads (e.g. a transport failure) gives code and message only.
// Malformed payloads are ignored.
TokenbrokerError GetError(const absl::Status& status);

}  // namespace tokenbroker::client

#endif  // TOKENBROKER_CLIENT_ERROR_H_
