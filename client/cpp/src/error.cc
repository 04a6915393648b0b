#include "tokenbroker/client/error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "internal/grpc_status.h"

namespace tokenbroker::client {
namespace {

template <typename Message>
bool ParsePayload(const absl::Status& status, const char* type_url, Message* out) {
  auto payload = status.GetPayload(type_url);
  return payload.has_value() && out->ParseFromString(std::string(*payload));
}

std::string Lookup(const std::map<std::string, std::string>& metadata, const char* key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}

}  // namespace

TokenbrokerError GetError(const absl::Status& status) {
  TokenbrokerError error;
  error.code = status.code();
  error.message = std::string(status.message());
  if (status.ok()) return error;
  google::rpc::ErrorInfo info;
  if (ParsePayload(status, kErrorInfoTypeUrl, &info)) {
    error.reason = info.reason();
    error.domain = info.domain();
    error.metadata.insert(info.metadata().begin(), info.metadata().end());
    error.ims_error = Lookup(error.metadata, "ims_error");
    error.x_debug_id = Lookup(error.metadata, "x_debug_id");
    error.http_status = Lookup(error.metadata, "http_status");
    error.field = Lookup(error.metadata, "field");
  }
  error.retry_delay = internal::RetryDelay(status);
  google::rpc::BadRequest bad_request;
  if (ParsePayload(status, kBadRequestTypeUrl, &bad_request)) {
    for (const auto& violation : bad_request.field_violations()) {
      error.field_violations.push_back(FieldViolation{violation.field(), violation.description()});
    }
  }
  return error;
}

std::string TokenbrokerError::ToString() const {
  std::string out = absl::StatusCodeToString(code);
  if (!message.empty()) absl::StrAppend(&out, ": ", message);
  std::string details;
  auto add = [&details](absl::string_view key, absl::string_view value) {
    if (value.empty()) return;
    absl::StrAppend(&details, details.empty() ? "" : " ", key, "=", value);
  };
  add("reason", reason);
  add("ims_error", ims_error);
  add("x_debug_id", x_debug_id);
  add("http_status", http_status);
  add("field", field);
  if (retry_delay.has_value()) add("retry_delay", absl::FormatDuration(*retry_delay));
  if (!details.empty()) absl::StrAppend(&out, " [", details, "]");
  return out;
}

}  // namespace tokenbroker::client
