// The Developer Console's client-secrets API of ImsEmulator (ims_emulator.h,
// ConsoleRequest): what Adobe documents in "Rotating client secrets
// programmatically" (../shared/IMS.md, "Credential lifecycle").
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/ims_emulator/ims_emulator.h"

namespace tokenbroker::emulator {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr size_t kMaxSecrets = 2;  // Adobe's limit per credential

Reply ConsoleError(int status, absl::string_view code, absl::string_view message) {
  return Reply{status, ordered_json{{"error_code", code}, {"message", message}}.dump()};
}

// The claims of an access token this emulator minted, if `authorization`
// holds one ("Bearer <token>") whose signature `key` verifies.
struct Bearer {
  std::string client_id;
  std::vector<std::string> scopes;
  absl::Time expires;
};

std::optional<Bearer> ParseBearer(EVP_PKEY* key, absl::string_view authorization) {
  absl::string_view token = authorization;
  if (!absl::ConsumePrefix(&token, "Bearer ")) return std::nullopt;
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return std::nullopt;
  auto signature = Base64UrlDecode(parts[2]);
  auto payload = Base64UrlDecode(parts[1]);
  if (!signature || !payload) return std::nullopt;
  if (!VerifyRs256(key, absl::StrCat(parts[0], ".", parts[1]), *signature)) return std::nullopt;
  json claims = json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  int64_t created_ms = 0, lifetime_ms = 0;
  if (!claims.is_object() || !claims.value("client_id", json()).is_string() ||
      !absl::SimpleAtoi(claims.value("created_at", ""), &created_ms) ||
      !absl::SimpleAtoi(claims.value("expires_in", ""), &lifetime_ms)) {
    return std::nullopt;
  }
  Bearer bearer;
  bearer.client_id = claims["client_id"].get<std::string>();
  bearer.scopes = absl::StrSplit(claims.value("scope", ""), ',', absl::SkipEmpty());
  bearer.expires = absl::FromUnixMillis(created_ms) + absl::Milliseconds(lifetime_ms);
  return bearer;
}

// 8-4-4-4-12 hex digits, as the Console's secret uuids.
std::string RandomUuid() {
  std::string hex = RandomHex(16);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

bool HasScope(const Bearer& bearer, absl::string_view scope) {
  for (const std::string& s : bearer.scopes) {
    if (s == scope) return true;
  }
  return false;
}

}  // namespace

const ClientConfig* ImsEmulator::ConsoleClientLocked(absl::string_view org_id,
                                                     absl::string_view credential_id) const {
  for (const auto& [id, candidate] : clients_) {
    if (!candidate.console_org_id.empty() && candidate.console_org_id == org_id &&
        candidate.console_credential_id == credential_id) {
      return &candidate;
    }
  }
  return nullptr;
}

std::string ImsEmulator::ConsoleClientId(absl::string_view org_id,
                                         absl::string_view credential_id) const {
  absl::MutexLock lock(&mu_);
  const ClientConfig* client = ConsoleClientLocked(org_id, credential_id);
  return client == nullptr ? "" : client->client_id;
}

bool ImsEmulator::AuthorizeConsole(const ConsoleRequest& request, absl::string_view scope,
                                   bool rotates, absl::Time now, std::string* client_id,
                                   Reply* reply) {
  ClientConfig client;
  {
    absl::MutexLock lock(&mu_);
    const ClientConfig* found = ConsoleClientLocked(request.org_id, request.credential_id);
    if (found != nullptr) client = *found;
  }
  if (client.client_id.empty()) {
    *reply = ConsoleError(404, "404001", "credential not found in this organization");
    return false;
  }
  std::optional<Bearer> bearer = ParseBearer(signing_key_.get(), request.authorization);
  if (!bearer || bearer->expires <= now || bearer->client_id != client.client_id) {
    *reply = ConsoleError(401, "401013", "Oauth token is not valid");
    return false;
  }
  if (request.api_key != client.client_id) {
    *reply = ConsoleError(403, "403003", "Api Key is invalid");
    return false;
  }
  for (absl::string_view needed : {absl::string_view("adobeio_api"), scope}) {
    if (!HasScope(*bearer, needed)) {
      *reply = ConsoleError(
          403, "403025",
          absl::StrCat("the token lacks the scope ", needed,
                       ": add the I/O Management API to the project and request its scopes"));
      return false;
    }
  }
  if (rotates && client.migration_in_progress) {
    *reply = ConsoleError(409, "409001",
                          "client secrets cannot be rotated while the credential is being "
                          "migrated from JWT to OAuth Server-to-Server");
    return false;
  }
  *client_id = client.client_id;
  return true;
}

std::map<std::string, ImsEmulator::SecretMeta>& ImsEmulator::MetaOf(const std::string& client_id,
                                                                    absl::Time now) {
  std::map<std::string, SecretMeta>& metas = secret_meta_[client_id];
  auto client = clients_.find(client_id);
  std::vector<std::string> held;
  if (client != clients_.end()) held = client->second.client_secrets;
  for (auto it = metas.begin(); it != metas.end();) {
    bool kept = std::find(held.begin(), held.end(), it->first) != held.end();
    it = kept ? std::next(it) : metas.erase(it);
  }
  for (const std::string& value : held) {
    if (!metas.contains(value)) metas[value] = SecretMeta{RandomUuid(), now, {}, {}};
  }
  return metas;
}

Reply ImsEmulator::ListSecrets(const ConsoleRequest& request, absl::Time now) {
  std::string client_id;
  Reply reply;
  if (!AuthorizeConsole(request, "read_client_secret", false, now, &client_id, &reply)) {
    return reply;
  }
  absl::MutexLock lock(&mu_);
  ordered_json secrets = ordered_json::array();
  for (const auto& [value, meta] : MetaOf(client_id, now)) {
    ordered_json usages = ordered_json::array();
    if (meta.last_used != absl::InfinitePast()) {
      usages.push_back(
          {{"last_used_at", absl::ToUnixMillis(meta.last_used)}, {"grant_type", meta.grant_type}});
    }
    secrets.push_back({{"uuid", meta.uuid},
                       {"created_at", absl::ToUnixMillis(meta.created)},
                       {"created_at_str", absl::FormatTime(meta.created, absl::UTCTimeZone())},
                       {"expires_at", "PERMANENT"},
                       {"secret_usages", usages}});
  }
  return Reply{200, ordered_json{{"client_id", client_id}, {"client_secrets", secrets}}.dump()};
}

Reply ImsEmulator::AddSecret(const ConsoleRequest& request, absl::Time now) {
  std::string client_id;
  Reply reply;
  if (!AuthorizeConsole(request, "manage_client_secrets", true, now, &client_id, &reply)) {
    return reply;
  }
  absl::MutexLock lock(&mu_);
  std::vector<std::string>& held = clients_[client_id].client_secrets;
  if (held.size() >= kMaxSecrets) {
    return ConsoleError(400, "400070",
                        "the credential already holds 2 client secrets: delete one first");
  }
  std::string value = absl::StrCat("p8e-", RandomHex(16));
  held.push_back(value);
  const SecretMeta& meta = MetaOf(client_id, now)[value];
  return Reply{200, ordered_json{{"client_id", client_id},
                                 {"client_secret", value},
                                 {"uuid", meta.uuid},
                                 {"created_at", absl::ToUnixMillis(meta.created)}}
                        .dump()};
}

Reply ImsEmulator::DeleteSecret(const ConsoleRequest& request, absl::Time now) {
  std::string client_id;
  Reply reply;
  if (!AuthorizeConsole(request, "manage_client_secrets", true, now, &client_id, &reply)) {
    return reply;
  }
  absl::MutexLock lock(&mu_);
  std::vector<std::string>& held = clients_[client_id].client_secrets;
  std::optional<std::string> victim;
  for (const auto& [value, meta] : MetaOf(client_id, now)) {
    if (meta.uuid == request.secret_uuid) victim = value;
  }
  if (!victim) return ConsoleError(404, "404002", "no client secret with this uuid");
  if (held.size() <= 1) {
    return ConsoleError(400, "400071", "a credential keeps at least one client secret");
  }
  held.erase(std::find(held.begin(), held.end(), *victim));
  MetaOf(client_id, now);  // drops the deleted secret's metadata
  return Reply{204, ""};
}

Reply ImsEmulator::AdminSecrets(absl::string_view client_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  const std::string id(client_id);
  if (!clients_.contains(id)) {
    return Reply{404, ordered_json{{"error", "not_found"},
                                   {"error_description", "no client with this client_id"}}
                          .dump()};
  }
  ordered_json secrets = ordered_json::array();
  for (const auto& [value, meta] : MetaOf(id, now)) {
    ordered_json last_used = nullptr;
    if (meta.last_used != absl::InfinitePast()) last_used = absl::ToUnixMillis(meta.last_used);
    secrets.push_back({{"uuid", meta.uuid},
                       {"value", value},
                       {"created_at", absl::ToUnixMillis(meta.created)},
                       {"last_used_at", last_used}});
  }
  return Reply{200, ordered_json{{"client_id", id}, {"secrets", secrets}}.dump()};
}

}  // namespace tokenbroker::emulator
