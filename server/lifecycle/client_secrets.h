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
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/console/console_secrets.h"
#include "server/ims/token_exchanger.h"
#include "server/store/credential_store.h"
#include "server/store/replica_coordination.h"

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

struct ClientSecretOptions {
  // How long Adobe must report a replaced secret unused (and it must have
  // been replaced that long) before a rotation deletes it: every replica
  // has switched (--secret-rotation-grace).
  absl::Duration grace = absl::Minutes(15);
  // Replicas sharing the store (PostgreSQL) take the lease
  // "secret-rotation/ID" for the length of a Rotate call, so that one
  // rotates at a time; null for a store only this process uses. Not owned.
  ReplicaCoordination* coordination = nullptr;
  std::string replica_id = "tokenbroker";
  // Longer than any Rotate call (a few IMS and Console requests, each
  // bounded by --ims-timeout): a replica that dies holding it loses it then.
  absl::Duration lease_ttl = absl::Minutes(5);
};

struct RotationResult {
  enum class Phase {
    // One secret left at Adobe: the new one, stored and in use.
    kDone,
    // Switched to the new secret; the old one waits for the grace period.
    kWaiting,
    // RotateIfDue only: not due, nothing done.
    kNotDue,
  };
  Phase phase = Phase::kDone;
  // What the call did or waits for, for humans.
  std::string detail;
  // The secret in use now.
  std::string fingerprint;
  std::string console_uuid;
  // Deleted at Adobe by this call: the old secret, and secrets tokenbroker
  // never stored (left by an interrupted rotation).
  std::vector<std::string> deleted_uuids;
  // Minted with the new secret by this call (also stored for the broker).
  std::optional<AccessToken> token;
};

// Thread-safe; calls block on the network (run them on an executor).
class ClientSecretManager {
 public:
  // None is owned; all must outlive the manager. `exchanger` mints the
  // Console tokens (OAuth Server-to-Server).
  ClientSecretManager(CredentialStore* store, ConsoleSecrets* console, TokenExchanger* exchanger,
                      const Clock* clock, ClientSecretOptions options = {})
      : store_(store),
        console_(console),
        exchanger_(exchanger),
        clock_(clock),
        options_(std::move(options)) {}

  // The credential's secrets at Adobe, matched with the stored ones.
  // Errors: NOT_FOUND (no such integration; or the Console does not know
  // the credential), FAILED_PRECONDITION (not OAuth S2S, no Console ids, IMS
  // refused the credential, or the Console refused the token: the message
  // says what to do), UNAVAILABLE (IMS or the Console unreachable).
  absl::StatusOr<SecretListing> List(absl::string_view id);

  // Rotates the client secret of integration `id`, resuming from the state
  // its stored secrets record (secret_rotation.cc), as far as it can go now:
  //   1. reconcile with Adobe's listing (record the uuid of the secret in use;
  //      delete secrets tokenbroker never stored);
  //   2. add a secret at Adobe and store it, encrypted, before anything else
  //      (its value is shown once), as `pending`;
  //   3. mint a token with it at IMS; make it the secret in use, the old one
  //      `retiring`; store the token for the broker;
  //   4. once Adobe reports the old secret unused for the grace period (at
  //      once with `now`: a leaked secret), delete it at Adobe and from the
  //      store.
  // Every step is stored before the next one starts, with the etag read, so
  // a crash at any point is resumed by the next call, and a concurrent
  // rotation of the same integration is ABORTED rather than doubled.
  // One rotation of an integration runs at a time, in this process and (with
  // options.coordination) across replicas: another one is ABORTED.
  // Errors: as List; FAILED_PRECONDITION (2 secrets at Adobe that
  // tokenbroker cannot tell apart, 2 stored secrets outside a rotation, a
  // migration in progress, missing API permissions, the secret in use
  // deleted in the Console); UNAVAILABLE (the new secret does not work at
  // IMS yet: call again); ABORTED (changed concurrently, or a rotation of
  // it is under way here or on another replica).
  absl::StatusOr<RotationResult> Rotate(absl::string_view id, bool now);

  // The scheduler's Rotate: decides under the rotation lease, on the
  // integration as stored then, whether it is due (NextRotationTime under
  // `default_period`), so that a replica that read it before another one
  // rotated it does not rotate it twice. kNotDue when it is not.
  absl::StatusOr<RotationResult> RotateIfDue(absl::string_view id, absl::Duration default_period);

 private:
  struct RotationRun;
  absl::Status Reconcile(RotationRun& run);
  absl::Status DeleteOrphans(RotationRun& run, const std::vector<ConsoleSecret>& listed);
  absl::Status AddPending(RotationRun& run);
  absl::Status Switch(RotationRun& run);
  absl::Status Retire(RotationRun& run, bool now);
  absl::Status Finish(RotationRun& run);
  void StoreToken(RotationRun& run);
  // Stores `in` with the etag it was read with; `in` becomes the stored one.
  absl::Status Save(Integration& in);
  // Rotate under the rotation lease; `due_under`: RotateIfDue's period.
  absl::StatusOr<RotationResult> RotateLeased(absl::string_view id, bool now,
                                              std::optional<absl::Duration> due_under);
  absl::StatusOr<RotationResult> RotateUnleased(absl::string_view id, bool now,
                                                std::optional<absl::Duration> due_under);

  // The integration, checked to have Console secrets at all.
  absl::StatusOr<Integration> Rotatable(absl::string_view id);
  // A token of `integration`'s credential for the Console's secrets API.
  absl::StatusOr<SecretString> ConsoleToken(const Integration& integration);

  CredentialStore* const store_;
  ConsoleSecrets* const console_;
  TokenExchanger* const exchanger_;
  const Clock* const clock_;
  const ClientSecretOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> rotating_ ABSL_GUARDED_BY(mu_);  // ids, in this process
};

// `listed` matched with `integration`'s stored secrets (pure).
SecretListing MatchSecrets(const Integration& integration,
                           const std::vector<ConsoleSecret>& listed);

// When `integration`'s client secret is next due for rotation: its own
// rotation period, else `default_period` (zero: never), after the later of
// its last rotation and when its secret in use was stored (its creation
// when neither is known). InfinitePast while a rotation is under way (resume
// it now); InfiniteFuture when it is never rotated (not OAuth
// Server-to-Server, no Console ids, no period, or disabled).
absl::Time NextRotationTime(const Integration& integration, absl::Duration default_period);

// Where the Console API addresses `integration`.
ConsoleTarget TargetOf(const Integration& integration);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_LIFECYCLE_CLIENT_SECRETS_H_
