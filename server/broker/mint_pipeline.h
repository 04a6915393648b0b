// One mint of one integration, synchronously, on the calling thread:
//
//   load the integration (with its stored token, in one read)
//     -> reuse the token this replica holds, if the settings did not change
//     -> adopt a stored token that is newer and still good
//     -> take the replica lease (only when the store coordinates replicas;
//        the grant carries the token stored meanwhile: adopt it if newer)
//     -> exchange with IMS
//     -> persist the token (and give the lease back, in one write)
//
// No locks, no threads, no waiting: the broker decides when to run it and
// what to do with the outcome, so every step is testable with fakes.
// Store round trips: a cold mint is 1 (load) + 1 (PutToken) without
// replicas, 3 with them (load, lease, put-and-release); a scheduled refresh
// of a loaded integration skips the load (see server/store/SCHEMA.md).
//
// Thread-safe: Run keeps no state between calls.
#ifndef TOKENBROKER_SERVER_BROKER_MINT_PIPELINE_H_
#define TOKENBROKER_SERVER_BROKER_MINT_PIPELINE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/broker/broker_observer.h"
#include "server/broker/refresh_policy.h"
#include "server/common/clock.h"
#include "server/ims/token_exchanger.h"
#include "server/store/credential_store.h"
#include "server/store/replica_coordination.h"

namespace tokenbroker {

// Several replicas on one shared store: who mints is decided by the store's
// refresh lease; tokens minted elsewhere arrive through its change feed.
struct ReplicaOptions {
  ReplicaCoordination* coordination = nullptr;  // not owned; null: one replica
  std::string replica_id;                       // the lease holder name
  // Longest a lease is held; shorter (a third of the time left) while a
  // still-valid token is being replaced, so a dead holder delays the next
  // replica by little.
  absl::Duration lease_ttl = absl::Seconds(30);
  // How soon a replica that found the lease taken looks again (the change
  // feed usually wakes it first).
  absl::Duration lease_retry = absl::Milliseconds(250);
};

struct MintRequest {
  enum class Mode {
    kServe,      // callers wait: a good stored token, else a new one
    kRefresh,    // the held token is due: a newer stored token, else a new one
    kForce,      // a new token from IMS whatever is stored
    kAdoptOnly,  // the feed announced a newer token: read it; never exchange
  };
  std::string id;
  Mode mode = Mode::kServe;
  RefreshTrigger trigger = RefreshTrigger::kCold;
  // The integration as last loaded, when still current (the change feed
  // clears it); nullopt: load it.
  std::optional<Integration> known;
  // Expiry of the token this replica holds (InfinitePast if none): only a
  // stored token expiring later is adopted.
  absl::Time held_expire = absl::InfinitePast();
  // After a change of the integration: the held token and the settings
  // digest it was minted with; kept (kReused) when the digest is unchanged.
  std::optional<AccessToken> reusable;
  uint64_t reusable_digest = 0;
};

struct MintOutcome {
  enum class Kind {
    kReused,     // the held token stays (settings unchanged)
    kAdopted,    // a token another replica (or an earlier run) stored
    kMinted,     // a new token from IMS
    kLeaseBusy,  // another replica is minting: wait for its token
    kNothing,    // kAdoptOnly found nothing newer
    kFailed,     // `status` says why (load, disabled or exchange failure)
  };
  Kind kind = Kind::kFailed;
  absl::Status status;
  // Set with every kind but kFailed on load: the integration as loaded.
  std::optional<Integration> integration;
  std::optional<AccessToken> token;  // kReused, kAdopted, kMinted
  bool exchanged = false;            // whether IMS was asked (status is its answer)
};

class MintPipeline {
 public:
  // None of the pointers is owned; all must outlive the pipeline.
  MintPipeline(CredentialStore* store, TokenExchanger* exchanger, const Clock* clock,
               RefreshPolicy policy, ReplicaOptions replica, BrokerObserver* observer);

  MintOutcome Run(const MintRequest& request) const;

  bool coordinated() const { return replica_.coordination != nullptr; }
  const ReplicaOptions& replica() const { return replica_; }

 private:
  // Loads `request.known` or the stored integration with its token; a
  // known integration's token is read only to adopt it (kAdoptOnly).
  absl::Status Load(const MintRequest& request, Integration* integration,
                    std::optional<AccessToken>* stored) const;
  // Whether `stored` is worth adopting instead of minting.
  bool Adoptable(const MintRequest& request, const std::optional<AccessToken>& stored) const;
  // Takes the lease; *held false: another replica holds it.
  absl::Status AcquireLease(const MintRequest& request, bool* held,
                            std::optional<AccessToken>* stored) const;
  MintOutcome Exchange(const MintRequest& request, Integration integration, bool holds_lease) const;
  void ReleaseLease(const std::string& id) const;

  CredentialStore* const store_;
  TokenExchanger* const exchanger_;
  const Clock* const clock_;
  const RefreshPolicy policy_;
  const ReplicaOptions replica_;
  BrokerObserver* const observer_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_MINT_PIPELINE_H_
