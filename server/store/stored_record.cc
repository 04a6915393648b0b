#include "server/store/stored_record.h"

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/store/page_token.h"

namespace tokenbroker::internal {
namespace {

constexpr unsigned char kRecordVersion = 0x01;

enum Tag : unsigned char {
  kClientSecret = 0x01,
  kPrivateKeyPem = 0x02,
  kAuthMethod = 0x10,
  kClientId = 0x11,
  kOrgId = 0x12,
  kTechnicalAccountId = 0x13,
  kImsUrl = 0x14,
};

constexpr size_t kHeaderSize = 1 + 4;  // tag + big-endian length

struct BoundField {
  Tag tag;
  const char* name;
  std::string value;
};

std::vector<BoundField> BoundFields(const Integration& in) {
  return {
      {kAuthMethod, "auth_method", absl::StrCat(static_cast<int>(in.auth_method))},
      {kClientId, "client_id", in.client_id},
      {kOrgId, "org_id", in.org_id},
      {kTechnicalAccountId, "technical_account_id", in.technical_account_id},
      {kImsUrl, "ims_url", in.ims_url},
  };
}

void Append(std::string* out, Tag tag, absl::string_view value) {
  const uint32_t n = static_cast<uint32_t>(value.size());
  out->push_back(static_cast<char>(tag));
  out->push_back(static_cast<char>((n >> 24) & 0xff));
  out->push_back(static_cast<char>((n >> 16) & 0xff));
  out->push_back(static_cast<char>((n >> 8) & 0xff));
  out->push_back(static_cast<char>(n & 0xff));
  out->append(value.data(), value.size());
}

absl::Status Malformed(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("credentials record: ", why));
}

absl::Status MalformedSecretInfo(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("column client_secret_info ", why));
}

// Whether `value` is an integer that fits an int64 (nlohmann reads a
// non-negative one as unsigned).
bool FitsInt64(const nlohmann::json& value) {
  return value.is_number_integer() &&
         (!value.is_number_unsigned() ||
          value.get<uint64_t>() <= uint64_t{std::numeric_limits<int64_t>::max()});
}

absl::StatusOr<ClientSecretInfo> SecretInfoFromJsonItem(const nlohmann::json& item) {
  if (!item.is_object()) return MalformedSecretInfo("holds a non-object");
  ClientSecretInfo info;
  auto time = item.find("create_time_ns");
  if (time != item.end() && !time->is_null()) {
    if (!FitsInt64(*time)) {
      return MalformedSecretInfo("holds a create_time_ns that is not a 64-bit integer");
    }
    info.create_time = TimeFromColumn(time->get<int64_t>());
  }
  auto uuid = item.find("console_uuid");
  if (uuid != item.end()) {
    if (!uuid->is_string()) return MalformedSecretInfo("holds a console_uuid that is not a string");
    info.console_uuid = uuid->get<std::string>();
  }
  auto rotation = item.find("rotation");
  if (rotation != item.end()) {
    if (*rotation == "pending") {
      info.rotation = SecretRotationRole::kPending;
    } else if (*rotation == "retiring") {
      info.rotation = SecretRotationRole::kRetiring;
    } else {
      return MalformedSecretInfo("holds a rotation that is neither pending nor retiring");
    }
  }
  auto retired = item.find("retire_time_ns");
  if (retired != item.end() && !retired->is_null()) {
    if (!FitsInt64(*retired)) {
      return MalformedSecretInfo("holds a retire_time_ns that is not a 64-bit integer");
    }
    info.retire_time = TimeFromColumn(retired->get<int64_t>());
  }
  return info;
}

}  // namespace

std::string CredentialsContext(absl::string_view integration_id) {
  return absl::StrCat("integrations/", integration_id, "/credentials");
}

std::string TokenContext(absl::string_view integration_id) {
  return absl::StrCat("integrations/", integration_id, "/token");
}

SecretString EncodeCredentialsRecord(const Integration& integration) {
  const Credentials& c = integration.credentials;
  std::vector<BoundField> bound = BoundFields(integration);
  // Size it exactly first: a reallocation would leave secret copies behind
  // in freed memory.
  size_t size = 1 + kHeaderSize + c.private_key_pem.size();
  for (const SecretString& s : c.client_secrets) size += kHeaderSize + s.size();
  for (const BoundField& f : bound) size += kHeaderSize + f.value.size();
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(kRecordVersion));
  for (const SecretString& s : c.client_secrets) Append(&out, kClientSecret, s.value());
  Append(&out, kPrivateKeyPem, c.private_key_pem.value());
  for (const BoundField& f : bound) Append(&out, f.tag, f.value);
  return SecretString(std::move(out));
}

absl::Status DecodeCredentialsRecord(absl::string_view record, Integration* integration) {
  if (record.empty()) return Malformed("empty");
  if (static_cast<unsigned char>(record[0]) != kRecordVersion) {
    return Malformed(absl::StrCat("unknown version ", static_cast<int>(record[0] & 0xff)));
  }
  std::vector<BoundField> bound = BoundFields(*integration);
  std::vector<bool> bound_seen(bound.size(), false);
  Credentials credentials;
  bool pem_seen = false;
  absl::string_view rest = record.substr(1);
  while (!rest.empty()) {
    if (rest.size() < kHeaderSize) return Malformed("truncated field header");
    const auto tag = static_cast<unsigned char>(rest[0]);
    uint32_t n = 0;
    for (int i = 1; i <= 4; ++i) n = (n << 8) | static_cast<unsigned char>(rest[i]);
    rest.remove_prefix(kHeaderSize);
    if (n > rest.size()) return Malformed("truncated field");
    absl::string_view value = rest.substr(0, n);
    rest.remove_prefix(n);
    if (tag == kClientSecret) {
      credentials.client_secrets.emplace_back(value);
      continue;
    }
    if (tag == kPrivateKeyPem) {
      if (pem_seen) return Malformed("private key repeated");
      pem_seen = true;
      credentials.private_key_pem = SecretString(value);
      continue;
    }
    bool known = false;
    for (size_t i = 0; i < bound.size(); ++i) {
      if (bound[i].tag != tag) continue;
      known = true;
      if (bound_seen[i]) return Malformed(absl::StrCat(bound[i].name, " repeated"));
      bound_seen[i] = true;
      if (value != bound[i].value) {
        return Malformed(absl::StrCat("sealed ", bound[i].name, " differs from the stored column"));
      }
    }
    if (!known) return Malformed(absl::StrCat("unknown field tag ", static_cast<int>(tag)));
  }
  if (!pem_seen) return Malformed("private key field missing");
  for (size_t i = 0; i < bound.size(); ++i) {
    if (!bound_seen[i]) return Malformed(absl::StrCat(bound[i].name, " field missing"));
  }
  integration->credentials = std::move(credentials);
  return absl::OkStatus();
}

absl::Status IntegrationNotFound(absl::string_view id) {
  return WithErrorInfo(absl::NotFoundError(absl::StrCat("integration '", id, "' not found")),
                       kReasonIntegrationNotFound, {{"integration", std::string(id)}});
}

absl::Status EtagMismatch(absl::string_view id) {
  return absl::AbortedError(
      absl::StrCat("integration '", id, "' was changed concurrently (etag mismatch): re-read it"));
}

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

std::optional<int64_t> TimeToColumn(absl::Time t) {
  if (t == absl::InfinitePast()) return std::nullopt;
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  return absl::ToUnixNanos(t);
}

absl::Time TimeFromColumn(std::optional<int64_t> ns) {
  if (!ns.has_value()) return absl::InfinitePast();
  if (*ns == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixNanos(*ns);
}

absl::StatusOr<std::string> ListToJson(const std::vector<std::string>& values,
                                       absl::string_view field) {
  try {
    return nlohmann::json(values).dump();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be valid UTF-8"));
  }
}

absl::Status ListFromJson(const std::string& text, absl::string_view field,
                          std::vector<std::string>* out) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) {
    return absl::DataLossError(absl::StrCat("column ", field, " is not a JSON array"));
  }
  out->clear();
  for (const auto& item : parsed) {
    if (!item.is_string()) {
      return absl::DataLossError(absl::StrCat("column ", field, " holds a non-string"));
    }
    out->push_back(item.get<std::string>());
  }
  return absl::OkStatus();
}

std::optional<int64_t> DurationToColumn(std::optional<absl::Duration> d) {
  if (!d.has_value()) return std::nullopt;
  return absl::ToInt64Nanoseconds(*d);
}

std::optional<absl::Duration> DurationFromColumn(std::optional<int64_t> ns) {
  if (!ns.has_value()) return std::nullopt;
  if (*ns == std::numeric_limits<int64_t>::max()) return absl::InfiniteDuration();
  if (*ns == std::numeric_limits<int64_t>::min()) return -absl::InfiniteDuration();
  return absl::Nanoseconds(*ns);
}

absl::StatusOr<std::string> SecretInfoToJson(const std::vector<ClientSecretInfo>& infos) {
  nlohmann::json out = nlohmann::json::array();
  for (const ClientSecretInfo& info : infos) {
    std::optional<int64_t> ns = TimeToColumn(info.create_time);
    nlohmann::json item = {
        {"console_uuid", info.console_uuid},
        {"create_time_ns", ns.has_value() ? nlohmann::json(*ns) : nlohmann::json()}};
    if (info.rotation != SecretRotationRole::kNone) {
      item["rotation"] = info.rotation == SecretRotationRole::kPending ? "pending" : "retiring";
    }
    if (std::optional<int64_t> retired = TimeToColumn(info.retire_time)) {
      item["retire_time_ns"] = *retired;
    }
    out.push_back(std::move(item));
  }
  try {
    return out.dump();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError("client_secret_info console_uuid must be valid UTF-8");
  }
}

absl::Status SecretInfoFromJson(const std::string& text, std::vector<ClientSecretInfo>* out) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return MalformedSecretInfo("is not a JSON array");
  out->clear();
  for (const auto& item : parsed) {
    TB_ASSIGN_OR_RETURN(ClientSecretInfo info, SecretInfoFromJsonItem(item));
    out->push_back(std::move(info));
  }
  return absl::OkStatus();
}

void FitSecretInfoToSecrets(Integration* integration) {
  integration->client_secret_info.resize(integration->credentials.client_secrets.size());
}

StoredRow ReadIntegrationRow(const std::function<std::string(int)>& text,
                             const std::function<int64_t(int)>& integer,
                             const std::function<std::optional<int64_t>(int)>& optional_integer) {
  StoredRow row;
  Integration& in = row.integration;
  in.id = text(0);
  in.display_name = text(1);
  in.auth_method = static_cast<AuthMethod>(integer(2));
  in.client_id = text(3);
  in.org_id = text(4);
  in.technical_account_id = text(5);
  row.column_error.Update(ListFromJson(text(6), "scopes", &in.scopes));
  row.column_error.Update(ListFromJson(text(7), "metascopes", &in.metascopes));
  in.ims_url = text(8);
  in.sandbox_name = text(9);
  in.state = static_cast<IntegrationState>(integer(10));
  in.include_org_header = integer(11) != 0;
  in.create_time = absl::FromUnixNanos(integer(12));
  in.update_time = absl::FromUnixNanos(integer(13));
  in.etag = text(14);
  row.credentials = text(15);
  // 16: kek_id, not needed to open the credentials (the envelope names it).
  in.console.org_id = text(17);
  in.console.credential_id = text(18);
  in.secret_rotation_period = DurationFromColumn(optional_integer(19));
  row.column_error.Update(SecretInfoFromJson(text(20), &in.client_secret_info));
  in.last_secret_rotation_time = TimeFromColumn(optional_integer(21));
  return row;
}

absl::StatusOr<Integration> DecodeRow(EnvelopeCipher* cipher, StoredRow row) {
  const std::string& id = row.integration.id;
  const std::string prefix = absl::StrCat("integration '", id, "': ");
  auto integrity_failure = [&](const absl::Status& detail) {
    Log(LogLevel::kError, "stored credentials failed their integrity check",
        {{"integration", id}, {"error", std::string(detail.message())}});
    return absl::DataLossError(
        absl::StrCat(prefix, "stored credentials failed their integrity check"));
  };
  if (!row.column_error.ok()) return integrity_failure(row.column_error);
  absl::StatusOr<SecretString> record = cipher->Open(row.credentials, CredentialsContext(id));
  if (!record.ok()) {
    if (absl::IsDataLoss(record.status())) return integrity_failure(record.status());
    Log(LogLevel::kError, "stored credentials cannot be opened",
        {{"integration", id}, {"error", std::string(record.status().message())}});
    return WithPrefix(record.status(), prefix);
  }
  absl::Status decoded = DecodeCredentialsRecord(record->value(), &row.integration);
  if (!decoded.ok()) return integrity_failure(decoded);
  FitSecretInfoToSecrets(&row.integration);
  return std::move(row.integration);
}

absl::StatusOr<IntegrationPage> DecodePage(EnvelopeCipher* cipher, std::vector<StoredRow> rows,
                                           bool more) {
  IntegrationPage page;
  for (StoredRow& row : rows) {
    Integration fallback = row.integration;  // non-secret fields only
    absl::StatusOr<Integration> decoded = DecodeRow(cipher, std::move(row));
    if (decoded.ok()) {
      page.integrations.push_back(*std::move(decoded));
    } else if (absl::IsDataLoss(decoded.status()) || absl::IsFailedPrecondition(decoded.status())) {
      FitSecretInfoToSecrets(&fallback);  // no secrets, so no info
      page.integrations.push_back(std::move(fallback));
    } else {
      return decoded.status();
    }
  }
  if (more && !page.integrations.empty()) {
    page.next_page_token = EncodePageToken(page.integrations.back().id);
  }
  return page;
}

absl::Status OpenToken(EnvelopeCipher* cipher, absl::string_view id, const std::string& ciphertext,
                       AccessToken* token) {
  absl::StatusOr<SecretString> opened = cipher->Open(ciphertext, TokenContext(id));
  if (!opened.ok()) {
    Log(LogLevel::kError, "stored token cannot be opened",
        {{"integration", std::string(id)}, {"error", std::string(opened.status().message())}});
    if (absl::IsDataLoss(opened.status())) {
      return absl::DataLossError(
          absl::StrCat("integration '", id, "': stored token failed its integrity check"));
    }
    return WithPrefix(opened.status(), absl::StrCat("integration '", id, "': "));
  }
  token->access_token = *std::move(opened);
  return absl::OkStatus();
}

std::optional<AccessToken> OpenCachedToken(EnvelopeCipher* cipher, absl::string_view id,
                                           const std::string& ciphertext, AccessToken token) {
  if (!OpenToken(cipher, id, ciphertext, &token).ok()) return std::nullopt;
  return token;
}

absl::StatusOr<Sealed> SealWith(EnvelopeCipher* cipher, absl::string_view plaintext,
                                const std::string& context) {
  Sealed sealed;
  TB_ASSIGN_OR_RETURN(sealed.ciphertext, cipher->Seal(plaintext, context));
  TB_ASSIGN_OR_RETURN(sealed.kek_id, cipher->KeyIdOf(sealed.ciphertext));
  return sealed;
}

absl::StatusOr<ColumnValues> PrepareColumns(EnvelopeCipher* cipher, const Integration& in) {
  ColumnValues v;
  TB_ASSIGN_OR_RETURN(v.scopes, ListToJson(in.scopes, "scopes"));
  TB_ASSIGN_OR_RETURN(v.metascopes, ListToJson(in.metascopes, "metascopes"));
  TB_ASSIGN_OR_RETURN(v.client_secret_info, SecretInfoToJson(in.client_secret_info));
  SecretString record = EncodeCredentialsRecord(in);
  TB_ASSIGN_OR_RETURN(v.credentials, SealWith(cipher, record.value(), CredentialsContext(in.id)));
  return v;
}

absl::StatusOr<std::optional<Sealed>> RewrapStored(EnvelopeCipher* cipher, bool token,
                                                   const std::string& id,
                                                   const std::string& old_ciphertext) {
  const std::string context = token ? TokenContext(id) : CredentialsContext(id);
  absl::StatusOr<std::string> rewrapped = cipher->Rewrap(old_ciphertext, context);
  absl::StatusOr<std::string> kek_id =
      rewrapped.ok() ? cipher->KeyIdOf(*rewrapped) : rewrapped.status();
  if (kek_id.ok()) return Sealed{*std::move(rewrapped), *std::move(kek_id)};
  if (token) {
    Log(LogLevel::kWarning, "rekey: dropping a cached token that cannot be re-wrapped",
        {{"integration", id}, {"error", std::string(kek_id.status().message())}});
    return std::nullopt;
  }
  Log(LogLevel::kError, "rekey: stored credentials cannot be re-wrapped",
      {{"integration", id}, {"error", std::string(kek_id.status().message())}});
  return WithPrefix(kek_id.status(),
                    absl::StrCat("integration '", id, "': re-wrapping credentials: "));
}

}  // namespace tokenbroker::internal
