#include "server/api/convert.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_details.h"
#include "server/common/quote.h"
#include "server/common/status_macros.h"
#include "server/ims/jwt_signer.h"

namespace tokenbroker {
namespace {

constexpr absl::string_view kNamePrefix = "integrations/";
constexpr size_t kMaxField = 1024;
// An RSA 8192 private key is about 6.4 KB of PEM.
constexpr size_t kMaxPrivateKeyBytes = 16 * 1024;
constexpr int kMaxMaskPaths = 32;

absl::Status CheckText(absl::string_view value, absl::string_view field, bool required,
                       size_t max = kMaxField) {
  if (required && value.empty()) return InvalidField(field, "required");
  if (value.size() > max) return InvalidField(field, absl::StrCat("longer than ", max, " bytes"));
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidField(field, "contains control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckList(const std::vector<std::string>& values, absl::string_view field,
                       bool required) {
  if (required && values.empty()) return InvalidField(field, "at least one value is required");
  if (values.size() > 100) return InvalidField(field, "more than 100 values");
  for (size_t i = 0; i < values.size(); ++i) {
    std::string path = absl::StrCat(field, "[", i, "]");
    TB_RETURN_IF_ERROR(CheckText(values[i], path, /*required=*/true, 256));
    if (absl::StrContains(values[i], ",") || absl::StrContains(values[i], " ")) {
      return InvalidField(path, "must not contain ',' or spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckImsUrl(absl::string_view url, absl::string_view field, bool allow_http) {
  if (url.empty()) return absl::OkStatus();
  TB_RETURN_IF_ERROR(CheckText(url, field, false, 512));
  if (absl::StartsWith(url, "https://")) return absl::OkStatus();
  if (absl::StartsWith(url, "http://")) {
    if (allow_http) return absl::OkStatus();
    return InvalidField(field,
                        "http:// is refused: IMS must be reached over TLS (the server's "
                        "--allow-insecure-ims-http exists for loopback tests only)");
  }
  return InvalidField(field, "must be an https:// URL");
}

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

v1::AuthMethod ToProto(AuthMethod method) {
  switch (method) {
    case AuthMethod::kOAuthServerToServer:
      return v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER;
    case AuthMethod::kJwt:
      return v1::AUTH_METHOD_JWT;
    default:
      return v1::AUTH_METHOD_UNSPECIFIED;
  }
}

AuthMethod FromProto(v1::AuthMethod method) {
  switch (method) {
    case v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER:
      return AuthMethod::kOAuthServerToServer;
    case v1::AUTH_METHOD_JWT:
      return AuthMethod::kJwt;
    default:
      return AuthMethod::kUnspecified;
  }
}

absl::Status CheckConsoleId(absl::string_view value, absl::string_view field) {
  if (value.empty()) return InvalidField(field, "required when console_credential is set");
  if (value.size() > 32) return InvalidField(field, "longer than 32 characters");
  for (char c : value) {
    if (!absl::ascii_isalnum(c) && c != '-') {
      return InvalidField(field, "only letters, digits and '-' are allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLifecycle(const Integration& in, absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, name); };
  if (!in.console.empty()) {
    TB_RETURN_IF_ERROR(CheckConsoleId(in.console.org_id, f("console_credential.org_id")));
    TB_RETURN_IF_ERROR(
        CheckConsoleId(in.console.credential_id, f("console_credential.credential_id")));
  }
  if (!in.secret_rotation_period.has_value() ||
      *in.secret_rotation_period == absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  const absl::Duration period = *in.secret_rotation_period;
  if (period < kMinSecretRotationPeriod || period > kMaxSecretRotationPeriod) {
    return InvalidField(f("secret_rotation_period"), "0s (never) or between 1h and 3650 days");
  }
  if (in.auth_method != AuthMethod::kOAuthServerToServer) {
    return InvalidField(f("secret_rotation_period"),
                        "only AUTH_METHOD_OAUTH_SERVER_TO_SERVER client secrets are rotated");
  }
  if (in.console.empty()) {
    return InvalidField(f("secret_rotation_period"),
                        "needs console_credential (the Developer Console's org and credential "
                        "ids, set by ImportIntegrations)");
  }
  return absl::OkStatus();
}

absl::Duration DurationFromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void DurationToProto(absl::Duration d, google::protobuf::Duration* out) {
  int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

Credentials CredentialsFromProto(const v1::Credentials& proto) {
  Credentials credentials;
  for (const auto& secret : proto.client_secrets()) credentials.client_secrets.emplace_back(secret);
  credentials.private_key_pem = SecretString(proto.private_key_pem());
  return credentials;
}

}  // namespace

std::string IntegrationName(absl::string_view id) { return absl::StrCat(kNamePrefix, id); }

absl::Status ValidateIntegrationId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return InvalidField(field, "required");
  if (id.size() > 63) return InvalidField(field, "longer than 63 characters");
  if (!absl::ascii_islower(id.front())) {
    return InvalidField(field, "must start with a lower-case letter");
  }
  if (id.back() == '-') return InvalidField(field, "must not end with '-'");
  for (char c : id) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) {
      return InvalidField(field, "only lower-case letters, digits and '-' are allowed");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ParseIntegrationName(absl::string_view name, absl::string_view field) {
  if (name.empty()) return InvalidField(field, "required (integrations/{integration_id})");
  if (!absl::StartsWith(name, kNamePrefix)) {
    return InvalidField(field, "must have the form integrations/{integration_id}");
  }
  absl::string_view id = name.substr(kNamePrefix.size());
  TB_RETURN_IF_ERROR(ValidateIntegrationId(id, field));
  return std::string(id);
}

absl::Status ValidateIntegration(const Integration& in, const ValidationOptions& options,
                                 absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, name); };
  TB_RETURN_IF_ERROR(CheckText(in.display_name, f("display_name"), false, 128));
  if (in.auth_method == AuthMethod::kUnspecified) {
    return InvalidField(f("auth_method"),
                        "required: AUTH_METHOD_OAUTH_SERVER_TO_SERVER or AUTH_METHOD_JWT");
  }
  bool jwt = in.auth_method == AuthMethod::kJwt;
  TB_RETURN_IF_ERROR(CheckText(in.client_id, f("client_id"), true, 256));
  TB_RETURN_IF_ERROR(CheckText(in.org_id, f("org_id"), true, 256));
  TB_RETURN_IF_ERROR(CheckText(in.technical_account_id, f("technical_account_id"), jwt, 256));
  TB_RETURN_IF_ERROR(CheckList(in.scopes, f("scopes"), !jwt));
  TB_RETURN_IF_ERROR(CheckList(in.metascopes, f("metascopes"), jwt));
  TB_RETURN_IF_ERROR(CheckImsUrl(in.ims_url, f("ims_url"), options.allow_insecure_ims_http));
  TB_RETURN_IF_ERROR(CheckText(in.sandbox_name, f("sandbox_name"), false, 128));
  const Credentials& c = in.credentials;
  if (c.client_secrets.empty() || c.client_secrets.size() > 2) {
    return InvalidField(f("credentials.client_secrets"), "one or two client secrets are required");
  }
  for (size_t i = 0; i < c.client_secrets.size(); ++i) {
    std::string path = absl::StrCat(f("credentials.client_secrets"), "[", i, "]");
    if (c.client_secrets[i].empty()) return InvalidField(path, "must not be empty");
    if (c.client_secrets[i].size() > 1024) return InvalidField(path, "longer than 1024 bytes");
  }
  if (jwt) {
    if (c.private_key_pem.empty()) {
      return InvalidField(f("credentials.private_key_pem"), "required for AUTH_METHOD_JWT");
    }
    if (c.private_key_pem.size() > kMaxPrivateKeyBytes) {
      return InvalidField(f("credentials.private_key_pem"),
                          absl::StrCat("longer than ", kMaxPrivateKeyBytes, " bytes"));
    }
    absl::Status key = CheckSigningKey(c.private_key_pem.value());
    if (!key.ok()) {
      // CheckSigningKey's messages never carry key bytes.
      return InvalidField(f("credentials.private_key_pem"),
                          absl::StrCat("not an unencrypted PEM RSA private key of at least ",
                                       kMinRsaKeyBits, " bits (", key.message(), ")"));
    }
  } else if (!c.private_key_pem.empty()) {
    return InvalidField(f("credentials.private_key_pem"),
                        "only AUTH_METHOD_JWT integrations take a private key");
  }
  return CheckLifecycle(in, prefix);
}

void StampClientSecretInfo(const Integration& before, absl::Time now, Integration* after) {
  std::vector<ClientSecretInfo> info;
  for (const SecretString& secret : after->credentials.client_secrets) {
    ClientSecretInfo stamped{now, ""};
    for (size_t i = 0; i < before.credentials.client_secrets.size(); ++i) {
      if (before.credentials.client_secrets[i] == secret && i < before.client_secret_info.size()) {
        stamped = before.client_secret_info[i];
      }
    }
    info.push_back(stamped);
  }
  after->client_secret_info = std::move(info);
}

Integration FromProto(const v1::Integration& proto) {
  Integration out;
  out.display_name = proto.display_name();
  out.auth_method = FromProto(proto.auth_method());
  out.client_id = proto.client_id();
  out.org_id = proto.org_id();
  out.technical_account_id = proto.technical_account_id();
  out.scopes = ToVector(proto.scopes());
  out.metascopes = ToVector(proto.metascopes());
  out.ims_url = proto.ims_url();
  out.sandbox_name = proto.sandbox_name();
  out.state = proto.state() == v1::Integration::STATE_DISABLED ? IntegrationState::kDisabled
                                                               : IntegrationState::kActive;
  out.include_org_header = proto.include_org_header();
  out.credentials = CredentialsFromProto(proto.credentials());
  if (proto.has_console_credential()) {
    out.console = {proto.console_credential().org_id(), proto.console_credential().credential_id()};
  }
  if (proto.has_secret_rotation_period()) {
    out.secret_rotation_period = DurationFromProto(proto.secret_rotation_period());
  }
  return out;
}

absl::Status ApplyUpdate(const v1::Integration& proto, const google::protobuf::FieldMask& mask,
                         Integration* target) {
  if (mask.paths().empty()) {
    return InvalidField("update_mask", "required: name the fields to change");
  }
  if (mask.paths_size() > kMaxMaskPaths) {
    return InvalidField("update_mask", absl::StrCat("more than ", kMaxMaskPaths, " paths"));
  }
  for (const std::string& path : mask.paths()) {
    if (path == "display_name") {
      target->display_name = proto.display_name();
    } else if (path == "client_id") {
      target->client_id = proto.client_id();
    } else if (path == "org_id") {
      target->org_id = proto.org_id();
    } else if (path == "technical_account_id") {
      target->technical_account_id = proto.technical_account_id();
    } else if (path == "scopes") {
      target->scopes = ToVector(proto.scopes());
    } else if (path == "metascopes") {
      target->metascopes = ToVector(proto.metascopes());
    } else if (path == "ims_url") {
      target->ims_url = proto.ims_url();
    } else if (path == "sandbox_name") {
      target->sandbox_name = proto.sandbox_name();
    } else if (path == "include_org_header") {
      target->include_org_header = proto.include_org_header();
    } else if (path == "state") {
      if (proto.state() == v1::Integration::STATE_UNSPECIFIED) {
        return InvalidField("integration.state", "STATE_ACTIVE or STATE_DISABLED");
      }
      target->state = proto.state() == v1::Integration::STATE_DISABLED ? IntegrationState::kDisabled
                                                                       : IntegrationState::kActive;
    } else if (path == "credentials") {
      target->credentials = CredentialsFromProto(proto.credentials());
    } else if (path == "credentials.client_secrets") {
      target->credentials.client_secrets = CredentialsFromProto(proto.credentials()).client_secrets;
    } else if (path == "credentials.private_key_pem") {
      target->credentials.private_key_pem = SecretString(proto.credentials().private_key_pem());
    } else if (path == "console_credential") {
      target->console = {proto.console_credential().org_id(),
                         proto.console_credential().credential_id()};
    } else if (path == "secret_rotation_period") {
      target->secret_rotation_period =
          proto.has_secret_rotation_period()
              ? std::optional<absl::Duration>(DurationFromProto(proto.secret_rotation_period()))
              : std::nullopt;
    } else if (path == "auth_method") {
      return InvalidField("update_mask", "auth_method is immutable");
    } else {
      return InvalidField("update_mask",
                          absl::StrCat("unknown or output-only path ", QuoteInput(path)));
    }
  }
  return absl::OkStatus();
}

void ToProto(absl::Time time, google::protobuf::Timestamp* out) {
  if (time == absl::InfinitePast() || time == absl::InfiniteFuture()) return;
  int64_t nanos = absl::ToUnixNanos(time);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

v1::Integration ToProto(const Integration& in) {
  v1::Integration out;
  out.set_name(IntegrationName(in.id));
  out.set_display_name(in.display_name);
  out.set_auth_method(ToProto(in.auth_method));
  out.set_client_id(in.client_id);
  out.set_org_id(in.org_id);
  out.set_technical_account_id(in.technical_account_id);
  for (const auto& s : in.scopes) out.add_scopes(s);
  for (const auto& s : in.metascopes) out.add_metascopes(s);
  out.set_ims_url(in.ims_url);
  out.set_sandbox_name(in.sandbox_name);
  out.set_state(in.state == IntegrationState::kDisabled ? v1::Integration::STATE_DISABLED
                                                        : v1::Integration::STATE_ACTIVE);
  out.set_include_org_header(in.include_org_header);
  ToProto(in.create_time, out.mutable_create_time());
  ToProto(in.update_time, out.mutable_update_time());
  out.set_etag(in.etag);
  for (size_t i = 0; i < in.credentials.client_secrets.size(); ++i) {
    std::string fingerprint = Fingerprint(in.credentials.client_secrets[i].value());
    out.mutable_credential_info()->add_client_secret_fingerprints(fingerprint);
    v1::ClientSecretInfo* info = out.mutable_credential_info()->add_client_secrets();
    info->set_fingerprint(fingerprint);
    if (i < in.client_secret_info.size()) {
      ToProto(in.client_secret_info[i].create_time, info->mutable_create_time());
      info->set_console_uuid(in.client_secret_info[i].console_uuid);
    }
  }
  if (!in.console.empty()) {
    out.mutable_console_credential()->set_org_id(in.console.org_id);
    out.mutable_console_credential()->set_credential_id(in.console.credential_id);
  }
  if (in.secret_rotation_period.has_value()) {
    DurationToProto(*in.secret_rotation_period, out.mutable_secret_rotation_period());
  }
  ToProto(in.last_secret_rotation_time, out.mutable_last_secret_rotation_time());
  if (!in.credentials.private_key_pem.empty()) {
    absl::StatusOr<std::string> fingerprint =
        PublicKeyFingerprint(in.credentials.private_key_pem.value());
    if (fingerprint.ok()) out.mutable_credential_info()->set_private_key_fingerprint(*fingerprint);
  }
  return out;
}

void ToProto(const TokenSnapshot& snapshot, v1::AccessToken* out) {
  out->set_access_token(std::string(snapshot.token.access_token.value()));
  out->set_token_type("bearer");
  ToProto(snapshot.token.issue_time, out->mutable_issue_time());
  ToProto(snapshot.token.expire_time, out->mutable_expire_time());
  out->set_integration(IntegrationName(snapshot.integration_id));
}

absl::StatusOr<std::optional<absl::Duration>> ParseMinValidity(
    const google::protobuf::Duration* duration, bool has) {
  if (!has) return std::optional<absl::Duration>();
  absl::Duration d = absl::Seconds(duration->seconds()) + absl::Nanoseconds(duration->nanos());
  TB_RETURN_IF_ERROR(CheckMinValidity(d, "min_remaining_validity"));
  return std::optional<absl::Duration>(d);
}

absl::Status CheckMinValidity(absl::Duration validity, absl::string_view field) {
  if (validity < absl::ZeroDuration()) return InvalidField(field, "must not be negative");
  if (validity > kMaxMinValidity) return InvalidField(field, "at most 12h");
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> AdobeHeaders(const TokenSnapshot& snapshot) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Authorization",
                       absl::StrCat("Bearer ", snapshot.token.access_token.value()));
  headers.emplace_back("x-api-key", snapshot.client_id);
  if (snapshot.include_org_header) headers.emplace_back("x-gw-ims-org-id", snapshot.org_id);
  if (!snapshot.sandbox_name.empty()) {
    headers.emplace_back("x-sandbox-name", snapshot.sandbox_name);
  }
  return headers;
}

}  // namespace tokenbroker
