// How replicas sharing one store (PostgreSQL) cooperate, so that IMS sees
// one exchange per integration per rotation however many replicas run.
//
// A refresh lease per integration decides who mints: a replica that finds a
// token due takes the lease, exchanges, stores the new (encrypted) token and
// releases it; the others are told of the new token through the change feed
// and read it from the store instead of minting their own. A lease is timed
// with the store's clock (not the replicas'), so a holder that dies loses it
// after `ttl` and another replica takes over.
#ifndef TOKENBROKER_SERVER_STORE_REPLICA_COORDINATION_H_
#define TOKENBROKER_SERVER_STORE_REPLICA_COORDINATION_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/model/integration.h"

namespace tokenbroker {

// A refresh lease taken, with the token stored at that moment (read in the
// same round trip: the previous holder may have stored one since we last
// looked).
struct LeaseGrant {
  bool held = false;
  std::optional<AccessToken> stored_token;
};

// Thread-safe. Implemented by stores shared between processes.
class ReplicaCoordination {
 public:
  virtual ~ReplicaCoordination() = default;

  // Takes the refresh lease of integration `id` for `holder` until the
  // store's clock reads now + `ttl`, if nobody holds it, its lease expired,
  // or `holder` holds it already (then it is extended). Returns whether
  // `holder` holds it now and, when it does, the token stored for `id` at
  // that moment (nullopt if none, or if it cannot be opened: logged, a
  // cache). One round trip on PostgreSQL. Errors: INVALID_ARGUMENT (empty
  // holder), UNAVAILABLE (store unreachable).
  virtual absl::StatusOr<LeaseGrant> TryAcquireRefreshLease(absl::string_view id,
                                                            absl::string_view holder,
                                                            absl::Duration ttl) = 0;
  // CredentialStore::PutToken and ReleaseRefreshLease in one transaction
  // (one statement on PostgreSQL): the next holder always finds the token.
  // The token is stored even when `holder` no longer holds the lease.
  // Errors as PutToken, and INVALID_ARGUMENT for an empty holder.
  virtual absl::Status PutTokenAndReleaseLease(absl::string_view id, const AccessToken& token,
                                               absl::string_view holder) = 0;
  // Gives the lease back; a no-op when `holder` does not hold it.
  virtual absl::Status ReleaseRefreshLease(absl::string_view id, absl::string_view holder) = 0;

  // A named lease for work that one replica at a time must do, e.g.
  // "secret-rotation/ID" (a client-secret rotation: two replicas adding a
  // secret at Adobe at once would leave one behind). Taken, extended and
  // timed like the refresh lease (the same table on PostgreSQL: a name with
  // a '/' never collides with an integration id). Returns whether `holder`
  // holds it now. Errors: INVALID_ARGUMENT (empty holder or name),
  // UNAVAILABLE (store unreachable).
  virtual absl::StatusOr<bool> TryAcquireLease(absl::string_view name, absl::string_view holder,
                                               absl::Duration ttl) = 0;
  // Gives a named lease back; a no-op when `holder` does not hold it.
  virtual absl::Status ReleaseLease(absl::string_view name, absl::string_view holder) = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_REPLICA_COORDINATION_H_
