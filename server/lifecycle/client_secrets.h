// The client secrets of an OAuth Server-to-Server integration as Adobe's
// Developer Console holds them, matched against the ones tokenbroker stores:
// what `tokenctl secrets list` shows, and (next) what the rotation drives.
//
// Every Console call carries a token minted by the integration's own
// credential with the scopes the secrets API needs (kConsoleSecretsScopes),
// exchanged for the call and never cached or stored.
#ifndef TOKENBROKER_SERVER_LIFECYCLE_CLIENT_SECRETS_H_
#define TOKENBROKER_SERVER_LIFECYCLE_CLIENT_SECRETS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/console/console_secrets.h"
#include "server/ims/token_exchanger.h"
#include "server/store/credential_store.h"

namespace tokenbroker {

// One secret of the credential at Adobe, and what tokenbroker knows of it.
struct ListedSecret {
  std::string uuid;
  absl::Time create_time = absl::InfinitePast();
  std::optional<absl::Time> last_use_time;  // nullopt: never used
  // tokenbroker stores this secret (matched by its Console uuid, or as the
  // one secret on both sides when its uuid was never recorded).
  bool held = false;
  // It is the secret tokenbroker mints with (the first stored).
  bool in_use = false;
  // When held: its fingerprint (`sha256:...`) and when tokenbroker stored it.
  std::string fingerprint;
  absl::Time stored_time = absl::InfinitePast();
};

struct SecretListing {
  std::vector<ListedSecret> secrets;  // in Adobe's order
  // Secrets tokenbroker stores that match none of Adobe's (deleted in the
  // Console, or stored without a uuid while Adobe lists several).
  int held_unmatched = 0;
};

// Thread-safe; calls block on the network (run them on an executor).
class ClientSecretManager {
 public:
  // None is owned; all must outlive the manager. `exchanger` mints the
  // Console tokens (OAuth Server-to-Server).
  ClientSecretManager(CredentialStore* store, ConsoleSecrets* console, TokenExchanger* exchanger,
                      const Clock* clock)
      : store_(store), console_(console), exchanger_(exchanger), clock_(clock) {}

  // The credential's secrets at Adobe, matched with the stored ones.
  // Errors: NOT_FOUND (no such integration; or the Console does not know
  // the credential), FAILED_PRECONDITION (not OAuth S2S, no Console ids, IMS
  // refused the credential, or the Console refused the token: the message
  // says what to do), UNAVAILABLE (IMS or the Console unreachable).
  absl::StatusOr<SecretListing> List(absl::string_view id);

 private:
  // The integration, checked to have Console secrets at all.
  absl::StatusOr<Integration> Rotatable(absl::string_view id);
  // A token of `integration`'s credential for the Console's secrets API.
  absl::StatusOr<SecretString> ConsoleToken(const Integration& integration);

  CredentialStore* const store_;
  ConsoleSecrets* const console_;
  TokenExchanger* const exchanger_;
  const Clock* const clock_;
};

// `listed` matched with `integration`'s stored secrets (pure).
SecretListing MatchSecrets(const Integration& integration,
                           const std::vector<ConsoleSecret>& listed);

// Where the Console API addresses `integration`.
ConsoleTarget TargetOf(const Integration& integration);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_LIFECYCLE_CLIENT_SECRETS_H_
