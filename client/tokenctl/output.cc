#include "client/tokenctl/output.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tokenbroker/client/error.h"

namespace tokenbroker::tokenctl {
namespace {

bool IsSet(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() != 0 || timestamp.nanos() != 0;
}

// Quotes a logfmt value when it would otherwise be ambiguous.
std::string LogfmtValue(const std::string& value) {
  if (!value.empty() && value.find_first_of(" =\"\\\t\n") == std::string::npos) return value;
  return absl::StrCat("\"", absl::CEscape(value), "\"");
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// `2160h` for a set period, "never" for 0s, "" when unset (server default).
std::string RotationPeriod(const v1::Integration& integration) {
  if (!integration.has_secret_rotation_period()) return "";
  const google::protobuf::Duration& d = integration.secret_rotation_period();
  absl::Duration period = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  return period == absl::ZeroDuration() ? "never" : absl::FormatDuration(period);
}

std::string ConsoleCredential(const v1::Integration& integration) {
  if (!integration.has_console_credential()) return "";
  return absl::StrCat(integration.console_credential().org_id(), "/",
                      integration.console_credential().credential_id());
}

// "sha256:... stored 2026-12-01T10:00:00Z (3d ago)", one per secret.
std::string ClientSecrets(const v1::CredentialInfo& info, absl::Time now) {
  std::vector<std::string> secrets;
  for (const v1::ClientSecretInfo& secret : info.client_secrets()) {
    std::string line = secret.fingerprint();
    if (IsSet(secret.create_time())) {
      absl::StrAppend(&line, " stored ", Rfc3339Seconds(secret.create_time()), " (",
                      FormatAge(now - TimeOf(secret.create_time())), " ago)");
    } else {
      absl::StrAppend(&line, " stored at an unknown time");
    }
    if (!secret.console_uuid().empty()) absl::StrAppend(&line, " uuid ", secret.console_uuid());
    secrets.push_back(std::move(line));
  }
  return absl::StrJoin(secrets, "; ");
}

}  // namespace

std::string FormatAge(absl::Duration age) {
  if (age < absl::ZeroDuration()) age = absl::ZeroDuration();
  if (age >= absl::Hours(48)) return absl::StrCat(age / absl::Hours(24), "d");
  if (age >= absl::Hours(2)) return absl::StrCat(age / absl::Hours(1), "h");
  if (age >= absl::Minutes(2)) return absl::StrCat(age / absl::Minutes(1), "m");
  return absl::StrCat(age / absl::Seconds(1), "s");
}

std::string Rfc3339(absl::Time time) {
  // absl::RFC3339_full writes "+00:00"; RFC 3339 UTC reads better as "Z".
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

std::string Rfc3339(const google::protobuf::Timestamp& timestamp) {
  if (!IsSet(timestamp)) return "";
  return Rfc3339(absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos()));
}

std::string Rfc3339Seconds(const google::protobuf::Timestamp& timestamp) {
  if (!IsSet(timestamp)) return "";
  return Rfc3339(absl::FromUnixSeconds(timestamp.seconds()));
}

std::string IntegrationId(const std::string& name) {
  return std::string(absl::StripPrefix(name, "integrations/"));
}

std::string AuthMethodName(v1::AuthMethod method) {
  switch (method) {
    case v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER:
      return "oauth-s2s";
    case v1::AUTH_METHOD_JWT:
      return "jwt";
    default:
      return "unspecified";
  }
}

std::string StateName(v1::Integration::State state) {
  switch (state) {
    case v1::Integration::STATE_ACTIVE:
      return "active";
    case v1::Integration::STATE_DISABLED:
      return "disabled";
    default:
      return "unspecified";
  }
}

nlohmann::ordered_json IntegrationToJson(const v1::Integration& integration) {
  nlohmann::ordered_json json = {
      {"name", integration.name()},
      {"id", IntegrationId(integration.name())},
      {"display_name", integration.display_name()},
      {"auth", AuthMethodName(integration.auth_method())},
      {"client_id", integration.client_id()},
      {"org_id", integration.org_id()},
      {"technical_account_id", integration.technical_account_id()},
      {"scopes",
       std::vector<std::string>(integration.scopes().begin(), integration.scopes().end())},
      {"metascopes",
       std::vector<std::string>(integration.metascopes().begin(), integration.metascopes().end())},
      {"ims_url", integration.ims_url()},
      {"sandbox", integration.sandbox_name()},
      {"org_header", integration.include_org_header()},
      {"state", StateName(integration.state())},
      {"create_time", Rfc3339(integration.create_time())},
      {"update_time", Rfc3339(integration.update_time())},
      {"etag", integration.etag()},
      {"client_secret_fingerprints",
       std::vector<std::string>(integration.credential_info().client_secret_fingerprints().begin(),
                                integration.credential_info().client_secret_fingerprints().end())},
      {"private_key_fingerprint", integration.credential_info().private_key_fingerprint()},
  };
  nlohmann::ordered_json secrets = nlohmann::ordered_json::array();
  for (const v1::ClientSecretInfo& secret : integration.credential_info().client_secrets()) {
    secrets.push_back({{"fingerprint", secret.fingerprint()},
                       {"create_time", Rfc3339(secret.create_time())},
                       {"console_uuid", secret.console_uuid()}});
  }
  json["client_secrets"] = secrets;
  json["console_credential"] = nullptr;
  if (integration.has_console_credential()) {
    json["console_credential"] = {
        {"org_id", integration.console_credential().org_id()},
        {"credential_id", integration.console_credential().credential_id()}};
  }
  json["secret_rotation_period"] = nullptr;
  if (integration.has_secret_rotation_period()) {
    json["secret_rotation_period"] =
        absl::StrCat(integration.secret_rotation_period().seconds(), "s");
  }
  json["last_secret_rotation_time"] = Rfc3339(integration.last_secret_rotation_time());
  return json;
}

std::string FormatIntegration(const v1::Integration& integration) {
  return FormatIntegration(integration, absl::Now());
}

std::string FormatIntegration(const v1::Integration& integration, absl::Time now) {
  const v1::CredentialInfo& info = integration.credential_info();
  // Empty optional fields are left out; the identifying ones always show.
  std::vector<std::pair<std::string, std::string>> fields = {
      {"name", integration.name()},
      {"display_name", integration.display_name()},
      {"auth", AuthMethodName(integration.auth_method())},
      {"client_id", integration.client_id()},
      {"org_id", integration.org_id()},
      {"technical_account_id", integration.technical_account_id()},
      {"scopes", absl::StrJoin(integration.scopes(), ",")},
      {"metascopes", absl::StrJoin(integration.metascopes(), ",")},
      {"ims_url", integration.ims_url()},
      {"sandbox", integration.sandbox_name()},
      {"org_header", integration.include_org_header() ? "true" : "false"},
      {"state", StateName(integration.state())},
      {"create_time", Rfc3339Seconds(integration.create_time())},
      {"update_time", Rfc3339Seconds(integration.update_time())},
      {"etag", integration.etag()},
      {"client_secrets", ClientSecrets(info, now)},
      {"private_key_fingerprint", info.private_key_fingerprint()},
      {"console_credential", ConsoleCredential(integration)},
      {"secret_rotation_period", RotationPeriod(integration)},
      {"last_secret_rotation", Rfc3339Seconds(integration.last_secret_rotation_time())},
  };
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());
  std::string out;
  for (const auto& [key, value] : fields) {
    bool always = key == "name" || key == "auth" || key == "client_id" || key == "state";
    if (value.empty() && !always) continue;
    absl::StrAppend(&out, key, ":", std::string(width - key.size() + 1, ' '), value, "\n");
  }
  return out;
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatRpcError(const absl::Status& status) {
  std::string out = absl::StrCat("tokenctl: ", absl::StatusCodeToString(status.code()), ": ",
                                 status.message(), "\n");
  auto parse = [&status](const char* type_url, google::protobuf::Message* message) {
    auto payload = status.GetPayload(type_url);
    return payload.has_value() && message->ParseFromString(std::string(*payload));
  };
  if (google::rpc::ErrorInfo info; parse(client::kErrorInfoTypeUrl, &info)) {
    // Sorted, so the output is stable.
    std::map<std::string, std::string> metadata(info.metadata().begin(), info.metadata().end());
    std::string line = absl::StrCat("  reason=", LogfmtValue(info.reason()));
    for (const auto& [key, value] : metadata) {
      absl::StrAppend(&line, " ", key, "=", LogfmtValue(value));
    }
    absl::StrAppend(&out, line, "\n");
  }
  if (google::rpc::BadRequest bad; parse(client::kBadRequestTypeUrl, &bad)) {
    for (const auto& violation : bad.field_violations()) {
      absl::StrAppend(&out, "  field ", violation.field(), ": ", violation.description(), "\n");
    }
  }
  if (google::rpc::RetryInfo retry; parse(client::kRetryInfoTypeUrl, &retry)) {
    absl::Duration delay = absl::Seconds(retry.retry_delay().seconds()) +
                           absl::Nanoseconds(retry.retry_delay().nanos());
    absl::StrAppend(&out, "  retry_after=", absl::FormatDuration(delay), "\n");
  }
  return out;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return result;
  }
  for (const google::protobuf::Any& any : details.details()) {
    result.SetPayload(any.type_url(), absl::Cord(any.value()));
  }
  return result;
}

}  // namespace tokenbroker::tokenctl
