#include "server/auth/policy.h"

#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace tokenbroker {
namespace {

std::string Hmac(absl::string_view key, absl::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

absl::Status Bad(absl::string_view where, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("policy: ", where, ": ", problem));
}

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  return fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

std::string Policy::HashToken(absl::string_view token) {
  unsigned char salt[16];
  RAND_bytes(salt, sizeof(salt));
  std::string salt_bytes(reinterpret_cast<const char*>(salt), sizeof(salt));
  return absl::StrCat("hmac-sha256:", absl::BytesToHexString(salt_bytes), ":",
                      absl::BytesToHexString(Hmac(salt_bytes, token)));
}

absl::StatusOr<Policy> Policy::Parse(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Bad("file", "not a JSON object");
  // Types are checked before values are read: nlohmann's value()/get() throw
  // on a type mismatch, and an exception must not escape Parse (it would end
  // the policy reloader thread, and the server with it).
  if (!doc.contains("version") || !doc["version"].is_number_integer() ||
      doc["version"].get<int64_t>() != 1) {
    return Bad("version", "must be 1");
  }
  Policy policy;
  if (doc.contains("caller_tokens")) {
    if (!doc["caller_tokens"].is_array()) return Bad("caller_tokens", "must be an array");
    int i = 0;
    for (const auto& entry : doc["caller_tokens"]) {
      std::string where = absl::StrCat("caller_tokens[", i++, "]");
      if (!entry.is_object() || !entry.contains("identity") || !entry["identity"].is_string() ||
          entry["identity"].get<std::string>().empty()) {
        return Bad(where, "needs a non-empty \"identity\"");
      }
      if (!entry.contains("hash") || !entry["hash"].is_string()) {
        return Bad(where, "needs a \"hash\" (tokenbroker caller-token create prints one)");
      }
      std::vector<std::string> parts = absl::StrSplit(entry["hash"].get<std::string>(), ':');
      if (parts.size() != 3 || parts[0] != "hmac-sha256" || parts[1].size() != 32 ||
          parts[2].size() != 64 || !IsHex(parts[1]) || !IsHex(parts[2])) {
        return Bad(where, "hash must be hmac-sha256:<32 hex>:<64 hex>");
      }
      policy.tokens_.push_back(CallerToken{entry["identity"].get<std::string>(),
                                           absl::HexStringToBytes(parts[1]),
                                           absl::HexStringToBytes(parts[2])});
    }
  }
  if (doc.contains("bindings")) {
    if (!doc["bindings"].is_array()) return Bad("bindings", "must be an array");
    int i = 0;
    for (const auto& entry : doc["bindings"]) {
      std::string where = absl::StrCat("bindings[", i++, "]");
      if (!entry.is_object() || !entry.contains("identity") || !entry["identity"].is_string() ||
          entry["identity"].get<std::string>().empty()) {
        return Bad(where, "needs a non-empty \"identity\" (exact or glob)");
      }
      Binding binding;
      binding.identity = entry["identity"].get<std::string>();
      std::string role = entry.contains("role") && entry["role"].is_string()
                             ? entry["role"].get<std::string>()
                             : std::string();
      if (role == "admin") {
        binding.role = Role::kAdmin;
      } else if (role == "reader") {
        binding.role = Role::kReader;
      } else if (role == "auditor") {
        binding.role = Role::kAuditor;
      } else if (role == "proxy") {
        binding.role = Role::kProxy;
      } else {
        return Bad(where, "role must be admin, reader, auditor or proxy");
      }
      if (entry.contains("integrations")) {
        if (!entry["integrations"].is_array()) return Bad(where, "integrations must be an array");
        for (const auto& pattern : entry["integrations"]) {
          if (!pattern.is_string() || pattern.get<std::string>().empty()) {
            return Bad(where, "integrations must be non-empty strings");
          }
          binding.integrations.push_back(pattern.get<std::string>());
        }
      }
      if (binding.role == Role::kReader && binding.integrations.empty()) {
        return Bad(where, "a reader needs \"integrations\" (ids or globs, \"*\" for all)");
      }
      policy.bindings_.push_back(std::move(binding));
    }
  }
  return policy;
}

absl::StatusOr<Policy> Policy::LoadFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("policy file ", path, " cannot be read"));
  std::stringstream content;
  content << in.rdbuf();
  absl::StatusOr<Policy> policy = Parse(content.str());
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

std::optional<std::string> Policy::IdentityForToken(absl::string_view token) const {
  std::optional<std::string> found;
  for (const CallerToken& entry : tokens_) {
    std::string mac = Hmac(entry.salt, token);
    if (mac.size() == entry.hmac.size() &&
        CRYPTO_memcmp(mac.data(), entry.hmac.data(), mac.size()) == 0 && !found) {
      found = entry.identity;
    }
  }
  return found;
}

bool Policy::Allows(absl::string_view identity, Permission permission,
                    absl::string_view integration_id) const {
  for (const Binding& binding : bindings_) {
    if (!GlobMatch(binding.identity, identity)) continue;
    switch (permission) {
      case Permission::kManageIntegrations:
        if (binding.role == Role::kAdmin) return true;
        break;
      case Permission::kReadIntegrations:
        if (binding.role == Role::kAdmin || binding.role == Role::kAuditor) return true;
        break;
      case Permission::kActForWorkloads:
        if (binding.role == Role::kProxy) return true;
        break;
      case Permission::kReadTokens:
        if (binding.role == Role::kReader) {
          for (const std::string& pattern : binding.integrations) {
            if (GlobMatch(pattern, integration_id)) return true;
          }
        }
        break;
    }
  }
  return false;
}

}  // namespace tokenbroker
