// The domain model, independent of protobuf and of any store.
#ifndef TOKENBROKER_SERVER_MODEL_INTEGRATION_H_
#define TOKENBROKER_SERVER_MODEL_INTEGRATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/common/secret.h"

namespace tokenbroker {

enum class AuthMethod { kUnspecified = 0, kOAuthServerToServer = 1, kJwt = 2 };
enum class IntegrationState { kActive = 1, kDisabled = 2 };

// Secret material of an integration.
struct Credentials {
  // One or two client secrets (IMS rotates secrets by holding two).
  std::vector<SecretString> client_secrets;
  // PEM private key, JWT integrations only.
  SecretString private_key_pem;
};

// Where a credential lives in the Adobe Developer Console: the numeric ids
// its client-secrets API is addressed by (`project.org.id` and
// `credentials[].id` of the Console's download). Both empty when unknown.
struct ConsoleCredential {
  std::string org_id;
  std::string credential_id;
  bool empty() const { return org_id.empty() && credential_id.empty(); }
  friend bool operator==(const ConsoleCredential& a, const ConsoleCredential& b) {
    return a.org_id == b.org_id && a.credential_id == b.credential_id;
  }
};

// What tokenbroker knows of one stored client secret besides its value (not
// secret): when it was stored, and its uuid at the Developer Console when
// known (set by a rotation, or by listing the Console's secrets).
// A secret's part in a client-secret rotation under way (lifecycle/).
enum class SecretRotationRole {
  kNone = 0,
  // Added at Adobe by a rotation and stored, not yet proven at IMS nor used.
  kPending = 1,
  // Replaced by a newer secret at `retire_time`; deleted at Adobe once
  // Adobe reports it unused for the grace period.
  kRetiring = 2,
};

struct ClientSecretInfo {
  absl::Time create_time = absl::InfinitePast();
  std::string console_uuid;
  SecretRotationRole rotation = SecretRotationRole::kNone;
  absl::Time retire_time = absl::InfinitePast();
  friend bool operator==(const ClientSecretInfo& a, const ClientSecretInfo& b) {
    return a.create_time == b.create_time && a.console_uuid == b.console_uuid &&
           a.rotation == b.rotation && a.retire_time == b.retire_time;
  }
};

// An Adobe credential registered with the broker.
struct Integration {
  std::string id;  // the `{integration_id}` of `integrations/{integration_id}`
  std::string display_name;
  AuthMethod auth_method = AuthMethod::kUnspecified;
  std::string client_id;
  std::string org_id;
  std::string technical_account_id;
  std::vector<std::string> scopes;
  std::vector<std::string> metascopes;
  std::string ims_url;  // empty: the server-wide default
  std::string sandbox_name;
  IntegrationState state = IntegrationState::kActive;
  bool include_org_header = false;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  std::string etag;  // set by the store
  Credentials credentials;
  ConsoleCredential console;
  // How often the client secret is rotated: nullopt follows the server-wide
  // default (--secret-rotation-period), ZeroDuration() never.
  std::optional<absl::Duration> secret_rotation_period;
  // One per credentials.client_secrets, in the same order. The store keeps
  // them as given; the API layer sets them when secrets change.
  std::vector<ClientSecretInfo> client_secret_info;
  // When a rotation last finished; InfinitePast when never.
  absl::Time last_secret_rotation_time = absl::InfinitePast();
};

// An IMS access token as the broker caches it.
struct AccessToken {
  SecretString access_token;
  absl::Time issue_time = absl::InfinitePast();
  absl::Time expire_time = absl::InfinitePast();
  // IMS's x-debug-id of the exchange that minted it (not a secret).
  std::string debug_id;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_MODEL_INTEGRATION_H_
