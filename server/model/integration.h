// The domain model, independent of protobuf and of any store.
#ifndef TOKENBROKER_SERVER_MODEL_INTEGRATION_H_
#define TOKENBROKER_SERVER_MODEL_INTEGRATION_H_

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
