// Who may call what: caller tokens (stored as salted hashes) and role
// bindings, from the file given by --policy-file.
//
// Format (JSON):
//   {
//     "version": 1,
//     "caller_tokens": [
//       {"identity": "svc-billing",
//        "hash": "hmac-sha256:<32 hex salt>:<64 hex HMAC-SHA256(key=salt, token)>"}
//     ],
//     "bindings": [
//       {"identity": "spiffe://example.org/ns/billing/*", "role": "reader",
//        "integrations": ["billing-*", "acme"]},
//       {"identity": "svc-audit", "role": "auditor"},
//       {"identity": "ops-*.example.org", "role": "admin"}
//     ]
//   }
//
// Identities: the caller's certificate identity (a spiffe:// URI SAN, else
// the first DNS SAN, else the CN) or the `identity` of the caller token it
// presented. Patterns are globs (fnmatch: `*`, `?`, `[...]`), exact text
// otherwise. Roles:
//   admin    create/update/delete integrations and change credentials;
//            get and list them.
//   reader   tokens and headers (GetAccessToken, GetRequestHeaders,
//            RefreshAccessToken, WatchAccessTokens) of the integrations
//            whose ids match one of `integrations`.
//   auditor  get and list integrations (never secrets); no tokens.
//   proxy    a proxy that calls for workloads (Envoy's ext_authz filter, an
//            Istio egress gateway): the workload identity it reports
//            (source.principal) is then the caller the policy decides on.
//            Grants nothing by itself.
// Anything not granted is denied. Tokens must be random (tokenbroker
// caller-token create makes 256-bit ones): the salted HMAC is a fast hash,
// fit for random tokens, not for passwords.
#ifndef TOKENBROKER_SERVER_AUTH_POLICY_H_
#define TOKENBROKER_SERVER_AUTH_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokenbroker {

enum class Role { kAdmin, kReader, kAuditor, kProxy };

// What an RPC needs.
enum class Permission {
  kReadTokens,          // TokenService.*, on one integration
  kReadIntegrations,    // IntegrationService.Get/List
  kManageIntegrations,  // IntegrationService.Create/Update/Delete/Import,
                        // MigrateIntegration, RotateClientSecret
  kActForWorkloads,     // ext_authz Check: the reported workload identity decides
};

class Policy {
 public:
  struct CallerToken {
    std::string identity;
    std::string salt;  // raw bytes
    std::string hmac;  // raw bytes
  };
  struct Binding {
    std::string identity;  // glob
    Role role;
    std::vector<std::string> integrations;  // globs (readers)
  };

  // Errors: INVALID_ARGUMENT naming the entry and the problem.
  static absl::StatusOr<Policy> Parse(absl::string_view json);
  // Errors: NOT_FOUND, INVALID_ARGUMENT (as Parse, with the path).
  static absl::StatusOr<Policy> LoadFromFile(const std::string& path);

  // The identity a caller token belongs to, or nullopt. Constant-time per
  // entry.
  std::optional<std::string> IdentityForToken(absl::string_view token) const;

  // Whether `identity` holds `permission` (on `integration_id` for
  // kReadTokens).
  bool Allows(absl::string_view identity, Permission permission,
              absl::string_view integration_id) const;

  // The policy line for a token: "hmac-sha256:<salt hex>:<hmac hex>".
  static std::string HashToken(absl::string_view token);

  size_t binding_count() const { return bindings_.size(); }
  size_t token_count() const { return tokens_.size(); }

 private:
  std::vector<CallerToken> tokens_;
  std::vector<Binding> bindings_;
};

// fnmatch(3) glob match.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_AUTH_POLICY_H_
