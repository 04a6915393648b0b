#include "server/edge/http_status.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/api/convert.h"
#include "server/common/error_details.h"

namespace tokenbroker {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

namespace {

// Messages quote caller input (QuoteInput): bad UTF-8 is replaced, never thrown on.
std::string Dump(const nlohmann::ordered_json& error) {
  return nlohmann::ordered_json{{"error", error}}.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace);
}

nlohmann::ordered_json ErrorObject(int http_status, absl::string_view status,
                                   absl::string_view message) {
  return {
      {"code", http_status}, {"status", std::string(status)}, {"message", std::string(message)}};
}

}  // namespace

std::string ErrorJson(const absl::Status& status) {
  nlohmann::ordered_json error = ErrorObject(
      HttpStatusFor(status.code()), absl::StatusCodeToString(status.code()), status.message());
  if (std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status)) {
    error["reason"] = info->reason();
  }
  return Dump(error);
}

std::string HttpErrorJson(int http_status, absl::string_view status, absl::string_view message) {
  return Dump(ErrorObject(http_status, status, message));
}

std::optional<int64_t> RetryAfterSeconds(const absl::Status& status) {
  std::optional<absl::Duration> delay = GetRetryDelay(status);
  if (!delay.has_value()) {
    if (status.code() != absl::StatusCode::kUnavailable) return std::nullopt;
    delay = kDefaultRetryAfter;
  }
  return std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(*delay, absl::Seconds(1))));
}

absl::StatusOr<std::optional<absl::Duration>> ParseMinValidityParam(
    std::optional<absl::string_view> value) {
  if (!value.has_value()) return std::optional<absl::Duration>();
  absl::Duration validity;
  if (!absl::ParseDuration(*value, &validity) || validity == absl::InfiniteDuration() ||
      validity == -absl::InfiniteDuration()) {
    return InvalidField("min_validity", "a duration such as 90s, 5m or 1h30m");
  }
  absl::Status in_range = CheckMinValidity(validity, "min_validity");
  if (!in_range.ok()) return in_range;
  return std::optional<absl::Duration>(validity);
}

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

}  // namespace tokenbroker
