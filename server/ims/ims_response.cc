#include "server/ims/ims_response.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/common/log.h"

namespace tokenbroker {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxDescriptionChars = 200;
constexpr size_t kMaxErrorCodeChars = 64;
constexpr absl::Duration kMaxRetryAfter = absl::Hours(24);
// How far the token's own `created_at` may be from our clock to be trusted.
constexpr absl::Duration kCreatedAtTolerance = absl::Hours(1);
constexpr absl::Duration kDisagreementToLog = absl::Minutes(5);

bool IsPrintable(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// A string safe to put in a message: printable ASCII, at most `max` chars.
std::string Sanitize(absl::string_view s, size_t max) {
  if (!IsPrintable(s)) return "";
  if (s.size() <= max) return std::string(s);
  return absl::StrCat(s.substr(0, max), "...");
}

// Parses `body` as a JSON object; discarded (null) on any error. Never throws.
json ParseObject(absl::string_view body) {
  json j = json::parse(body.begin(), body.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return json();
  return j;
}

// A JSON number, or a string holding one. Never throws.
std::optional<double> JsonNumber(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    double d = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(s), &d)) return d;
  }
  return std::nullopt;
}

std::string DebugIdText(absl::string_view debug_id) {
  return debug_id.empty() ? std::string("no x-debug-id") : absl::StrCat("x-debug-id: ", debug_id);
}

std::map<std::string, std::string> Metadata(const HttpResponse& response,
                                            absl::string_view debug_id) {
  return {{"x_debug_id", std::string(debug_id)},
          {"http_status", absl::StrCat(response.status_code)}};
}

absl::Status BadResponse(const HttpResponse& response, absl::string_view integration_id,
                         absl::string_view debug_id, absl::string_view what) {
  return WithErrorInfo(absl::UnavailableError(absl::StrCat(
                           "IMS returned an unusable token response for "
                           "integration '",
                           integration_id, "': ", what, " (", DebugIdText(debug_id), ")")),
                       kReasonImsBadResponse, Metadata(response, debug_id));
}

// Expiry according to the access token's own payload (created_at +
// expires_in, both ms), when it is a JWT and the values are plausible.
std::optional<absl::Time> ExpiryFromTokenClaims(absl::string_view token, absl::Time now) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return std::nullopt;
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return std::nullopt;
  json claims = ParseObject(payload);
  if (claims.is_null()) return std::nullopt;
  // A missing or non-numeric claim is NaN, which every check below refuses.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double created_ms =
      (claims.contains("created_at") ? JsonNumber(claims["created_at"]) : std::nullopt)
          .value_or(nan);
  const double lifetime_ms =
      (claims.contains("expires_in") ? JsonNumber(claims["expires_in"]) : std::nullopt)
          .value_or(nan);
  if (!(lifetime_ms > 0)) return std::nullopt;
  // Checked as doubles before the cast: a created_at outside int64's range (or NaN) would make
  // the conversion undefined (found by tests/fuzz/ims_token_claims_fuzzer).
  const double now_ms = static_cast<double>(absl::ToUnixMillis(now));
  if (!(std::abs(created_ms - now_ms) <= absl::ToDoubleMilliseconds(kCreatedAtTolerance))) {
    return std::nullopt;
  }
  absl::Time created = absl::FromUnixMillis(static_cast<int64_t>(created_ms));
  return created + absl::Milliseconds(lifetime_ms);
}

absl::StatusOr<AccessToken> ParseSuccess(const HttpResponse& response, ExpiresInUnit unit,
                                         absl::string_view integration_id, absl::Time now,
                                         const std::string& debug_id) {
  json body = ParseObject(response.body.value());
  if (body.is_null()) {
    return BadResponse(response, integration_id, debug_id, "body is not a JSON object");
  }
  auto token_it = body.find("access_token");
  if (token_it == body.end() || !token_it->is_string() ||
      token_it->get_ref<const std::string&>().empty()) {
    return BadResponse(response, integration_id, debug_id, "no access_token");
  }
  auto expires_it = body.find("expires_in");
  std::optional<double> expires_in =
      expires_it == body.end() ? std::nullopt : JsonNumber(*expires_it);
  if (!expires_in) {
    return BadResponse(response, integration_id, debug_id, "no numeric expires_in");
  }
  if (!(*expires_in > 0)) {
    return BadResponse(response, integration_id, debug_id, "expires_in is not positive");
  }
  absl::Duration lifetime = unit == ExpiresInUnit::kSeconds ? absl::Seconds(*expires_in)
                                                            : absl::Milliseconds(*expires_in);
  // Below a nanosecond the token is expired when issued; past absl's range it would never be
  // refreshed (found by tests/fuzz/ims_response_fuzzer).
  if (lifetime <= absl::ZeroDuration() || lifetime == absl::InfiniteDuration()) {
    return BadResponse(response, integration_id, debug_id, "expires_in is out of range");
  }
  AccessToken token;
  // Moved, not copied: no unwiped copy is left in the parsed JSON.
  token.access_token = SecretString(std::move(token_it->get_ref<std::string&>()));
  token.issue_time = now;
  token.expire_time = now + lifetime;
  token.debug_id = debug_id;
  if (auto claimed = ExpiryFromTokenClaims(token.access_token.value(), now)) {
    if (absl::AbsDuration(*claimed - token.expire_time) > kDisagreementToLog) {
      Log(LogLevel::kWarning, "IMS expires_in disagrees with the token's own claims",
          {{"integration", std::string(integration_id)},
           {"x_debug_id", debug_id},
           {"expires_in_expiry", absl::FormatTime(token.expire_time)},
           {"claims_expiry", absl::FormatTime(*claimed)}});
    }
    token.expire_time = std::min(token.expire_time, *claimed);
  }
  // Scrub the parsed copy of the token.
  std::string& parsed = token_it->get_ref<std::string&>();
  std::fill(parsed.begin(), parsed.end(), '\0');
  if (token.expire_time <= now) {
    // Its own claims say it has expired (found by tests/fuzz/ims_token_claims_fuzzer): useless
    // to every caller, so retried like any garbled answer instead of being cached.
    return BadResponse(response, integration_id, debug_id,
                       "access token already expired according to its claims");
  }
  return token;
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return std::min(absl::Seconds(seconds), kMaxRetryAfter);
  }
  absl::Time when;
  std::string err;
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), absl::UTCTimeZone(), &when,
                       &err)) {
    return std::nullopt;
  }
  absl::Duration delay = when - now;
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  return std::min(delay, kMaxRetryAfter);
}

absl::StatusOr<AccessToken> ParseImsTokenResponse(const HttpResponse& response, ExpiresInUnit unit,
                                                  absl::string_view integration_id,
                                                  absl::Time now) {
  const std::string debug_id = Sanitize(response.Header("x-debug-id"), kMaxErrorCodeChars);
  const int code = response.status_code;
  if (code == 200) return ParseSuccess(response, unit, integration_id, now, debug_id);

  json body = ParseObject(response.body.value());
  std::string ims_error;
  std::string description;
  if (!body.is_null()) {
    auto e = body.find("error");
    if (e != body.end() && e->is_string()) {
      ims_error = Sanitize(e->get_ref<const std::string&>(), kMaxErrorCodeChars);
    }
    auto d = body.find("error_description");
    if (d != body.end() && d->is_string()) {
      description = Sanitize(d->get_ref<const std::string&>(), kMaxDescriptionChars);
    }
  }
  std::map<std::string, std::string> metadata = Metadata(response, debug_id);
  if (!ims_error.empty()) metadata["ims_error"] = ims_error;

  if (code == 408 || code == 429 || (code >= 500 && code <= 599)) {
    std::string message =
        absl::StrCat("IMS unavailable for integration '", integration_id, "': HTTP ", code);
    if (!ims_error.empty()) absl::StrAppend(&message, " ", ims_error);
    absl::StrAppend(&message, " (", DebugIdText(debug_id), ")");
    absl::Status status =
        WithErrorInfo(absl::UnavailableError(message), kReasonImsUnavailable, metadata);
    if (auto delay = ParseRetryAfter(response.Header("retry-after"), now)) {
      status = WithRetryDelay(std::move(status), *delay);
    }
    return status;
  }
  if (code >= 400 && code <= 499) {
    if (ims_error.empty()) ims_error = absl::StrCat("http_", code);
    metadata["ims_error"] = ims_error;
    std::string message = absl::StrCat("IMS rejected integration '", integration_id,
                                       "': ", ims_error, " (", DebugIdText(debug_id), ")");
    if (!description.empty()) absl::StrAppend(&message, ": ", description);
    return WithErrorInfo(absl::FailedPreconditionError(message), kReasonImsRejected, metadata);
  }
  if (code >= 300 && code <= 399) {
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat(
            "IMS answered integration '", integration_id, "' with a redirect (HTTP ", code,
            "); check the IMS base URL and paths (", DebugIdText(debug_id), ")")),
        kReasonImsBadResponse, metadata);
  }
  return BadResponse(response, integration_id, debug_id, absl::StrCat("unexpected HTTP ", code));
}

absl::Status ImsTransportError(const absl::Status& transport_status,
                               absl::string_view integration_id) {
  absl::Status status(transport_status.code(),
                      absl::StrCat("IMS request for integration '", integration_id,
                                   "' failed: ", transport_status.message()));
  if (status.code() == absl::StatusCode::kUnavailable) {
    return WithErrorInfo(std::move(status), kReasonImsUnavailable);
  }
  return status;
}

bool IsInvalidClient(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) return false;
  auto info = GetErrorInfo(status);
  if (!info || info->reason() != kReasonImsRejected) return false;
  auto it = info->metadata().find("ims_error");
  return it != info->metadata().end() && it->second == "invalid_client";
}

}  // namespace tokenbroker
