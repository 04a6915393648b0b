// The conversion of a JWT integration to OAuth Server-to-Server, as Adobe
// converts the remaining JWT credentials (its S2S twin keeps the client id,
// technical account, APIs and product profiles; scopes replace metascopes;
// the key and certificate are no longer used).
//
// Design note: prove, then write. A token is minted with the S2S flow from
// the converted integration before the store is touched, so a credential
// that IMS refuses (not converted yet in the Console, wrong scopes or
// secret) leaves the integration exactly as it was: still JWT, same etag,
// its key still stored. The write uses the etag read, so a concurrent change
// is ABORTED rather than overwritten. The private key is then dropped, and
// the store asked to scrub freed data (StoreMaintenance::ScrubFreedData),
// so its ciphertext does not linger in SQLite's free pages or WAL.
#ifndef TOKENBROKER_SERVER_LIFECYCLE_JWT_MIGRATION_H_
#define TOKENBROKER_SERVER_LIFECYCLE_JWT_MIGRATION_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/common/secret.h"
#include "server/ims/token_exchanger.h"
#include "server/store/credential_store.h"
#include "server/store/store_maintenance.h"

namespace tokenbroker {

// What one migration asks for.
struct JwtMigrationRequest {
  std::string id;
  // The OAuth scopes of the S2S credential; they replace the metascopes.
  std::vector<std::string> scopes;
  // The S2S credential's client secret; nullopt: keep the JWT integration's.
  std::optional<SecretString> client_secret;
  // Migrate only if the stored etag is this one; empty: whatever is stored.
  std::string etag;
  // Checks the converted integration before anything is minted (the API
  // layer's field validation: INVALID_ARGUMENT naming the field). May be
  // empty.
  std::function<absl::Status(const Integration&)> validate;
};

// `jwt` as its OAuth Server-to-Server twin (pure): auth method, `scopes`,
// no metascopes, no private key; the client secret `client_secret` when
// given, else the stored ones; client secret info kept for secrets kept.
Integration ConvertToServerToServer(const Integration& jwt, const std::vector<std::string>& scopes,
                                    const std::optional<SecretString>& client_secret,
                                    absl::Time now);

// Thread-safe; Migrate blocks on IMS and the store (run it on an executor).
class JwtMigrator {
 public:
  // None is owned; all must outlive the migrator. `exchanger` mints OAuth
  // S2S tokens (a dispatcher by auth method will do). `maintenance` may be
  // null (the in-memory store keeps nothing on disk).
  JwtMigrator(CredentialStore* store, StoreMaintenance* maintenance, TokenExchanger* exchanger,
              const Clock* clock)
      : store_(store), maintenance_(maintenance), exchanger_(exchanger), clock_(clock) {}

  // Converts integration `request.id` from JWT to OAuth S2S: checks, mints
  // with the converted credential, stores it with the etag read, stores the
  // token for the broker, scrubs the freed data. Returns the stored
  // integration.
  // Errors: NOT_FOUND; INVALID_ARGUMENT (from `validate`); ABORTED (etag
  // mismatch, or changed between the read and the write); FAILED_PRECONDITION
  // (not a JWT integration; IMS refused the S2S credential: the message has
  // IMS's error and what to check); UNAVAILABLE (IMS unreachable). On any
  // error the stored integration is unchanged.
  absl::StatusOr<Integration> Migrate(const JwtMigrationRequest& request);

 private:
  // The integration, checked to be JWT and at `etag` (when given).
  absl::StatusOr<Integration> Migratable(const JwtMigrationRequest& request);
  // A token of `converted` at IMS, its errors explained.
  absl::StatusOr<AccessToken> Prove(const Integration& converted);
  // Hands `token` to the broker and scrubs the old key: both best effort
  // (the migration is committed), logged when they fail.
  void AfterCommit(const std::string& id, const AccessToken& token);

  CredentialStore* const store_;
  StoreMaintenance* const maintenance_;
  TokenExchanger* const exchanger_;
  const Clock* const clock_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_LIFECYCLE_JWT_MIGRATION_H_
