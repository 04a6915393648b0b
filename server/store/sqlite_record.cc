#include "server/store/sqlite_record.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

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

}  // namespace tokenbroker::internal
