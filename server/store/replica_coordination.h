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

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokenbroker {

// What changed in the shared store.
struct StoreChange {
  enum class Kind {
    kToken,        // a new token of integration `id` was stored
    kIntegration,  // integration `id` was updated or deleted
    kResync,       // changes may have been missed (feed reconnected): re-read all
  };
  Kind kind = Kind::kToken;
  std::string id;  // empty for kResync
};

// Thread-safe. Implemented by stores shared between processes.
class ReplicaCoordination {
 public:
  virtual ~ReplicaCoordination() = default;

  // Takes the refresh lease of integration `id` for `holder` until the
  // store's clock reads now + `ttl`, if nobody holds it, its lease expired,
  // or `holder` holds it already (then it is extended). Returns whether
  // `holder` holds it now. Errors: UNAVAILABLE (store unreachable).
  virtual absl::StatusOr<bool> TryAcquireRefreshLease(absl::string_view id,
                                                      absl::string_view holder,
                                                      absl::Duration ttl) = 0;
  // Gives the lease back; a no-op when `holder` does not hold it.
  virtual absl::Status ReleaseRefreshLease(absl::string_view id, absl::string_view holder) = 0;

  // Calls `listener` with every change any replica (this one included)
  // commits, from a store thread; the listener must not block. Replaces a
  // listener set before; nullptr stops the calls (after it returns, the old
  // listener is not called again).
  virtual void SetChangeListener(std::function<void(const StoreChange&)> listener) = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_REPLICA_COORDINATION_H_
