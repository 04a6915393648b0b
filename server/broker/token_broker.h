// The broker: hands out a valid IMS token per integration, minting as few
// as it can. A facade over parts that each own one piece of state:
//
//   TokenCache        the newest token per integration; the whole cache-hit
//                     path (no I/O, no global lock)
//   flights (here)    single-flight: per integration one Phase and the
//                     callers waiting for it
//   MintPipeline      one synchronous mint: load, reuse/adopt, lease,
//                     exchange, persist
//   RefreshScheduler  all waiting: refresh ahead of expiry, retry backoff,
//                     another replica's lease
//   RetryBackoff      per integration, kept across exchanges
//   WatchHub          who watches which integration
//   BrokerObserver    what the metrics layer hears
//
// Design note. A cached token is served inline on the caller's thread.
// Anything that may block runs on the injected Executor, one run per
// integration at a time; callers arriving meanwhile wait for that run. No
// exchange thread ever sleeps: after an IMS failure the integration waits
// in the scheduler until its backoff (and IMS's Retry-After) allow the next
// exchange, and callers arriving meanwhile join that wait or get the
// still-valid token. The store's change feed is the only invalidation path:
// a change of an integration drops its cached token, and the next run keeps
// it when the settings digest (settings_digest.h) is unchanged.
#ifndef TOKENBROKER_SERVER_BROKER_TOKEN_BROKER_H_
#define TOKENBROKER_SERVER_BROKER_TOKEN_BROKER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/broker/broker_observer.h"
#include "server/broker/mint_pipeline.h"
#include "server/broker/refresh_policy.h"
#include "server/broker/refresh_scheduler.h"
#include "server/broker/retry_backoff.h"
#include "server/broker/token_cache.h"
#include "server/broker/token_snapshot.h"
#include "server/broker/watch_hub.h"
#include "server/common/clock.h"
#include "server/common/executor.h"
#include "server/common/random.h"
#include "server/ims/token_exchanger.h"
#include "server/store/credential_store.h"

namespace tokenbroker {

struct BrokerStats {
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t exchanges = 0;
  int64_t exchange_failures = 0;
};

struct BrokerOptions {
  RefreshPolicy refresh;
  // A caller waits through at most `max_attempts` failed exchanges (IMS
  // 429/5xx/timeouts) and `max_wait` of backoff before it gets the error.
  int max_attempts = 4;
  absl::Duration max_wait = absl::Seconds(30);
  // Callers waiting for one integration's run at once; one more is answered
  // RESOURCE_EXHAUSTED at once (--max-waiters-per-integration). 0: no bound.
  int max_waiters = 0;
  ReplicaOptions replica;              // coordination null: a single replica
  BrokerObserver* observer = nullptr;  // not owned; null: nobody listens
};

class TokenBroker {
 public:
  // None of the pointers is owned; all must outlive the broker. Subscribes
  // to the store's change feed (until Shutdown).
  TokenBroker(CredentialStore* store, TokenExchanger* exchanger, Executor* executor,
              const Clock* clock, RandomSource* random, BrokerOptions options);
  ~TokenBroker();
  TokenBroker(const TokenBroker&) = delete;
  TokenBroker& operator=(const TokenBroker&) = delete;

  // Calls `done` exactly once with a token of integration `id` that is valid
  // for at least `min_validity` (nullopt: the policy's default). Inline when
  // the cache has one; otherwise from the executor after one run shared by
  // all concurrent callers. Errors: NOT_FOUND, FAILED_PRECONDITION
  // (disabled; IMS rejected the credential; IMS tokens live shorter than
  // `min_validity`), UNAVAILABLE (IMS failing and no cached token is good
  // enough; with RetryInfo when IMS sent Retry-After), RESOURCE_EXHAUSTED
  // (options.max_waiters callers already wait for `id`), INVALID_ARGUMENT,
  // DATA_LOSS, store errors.
  void GetToken(const std::string& id, std::optional<absl::Duration> min_validity,
                TokenCallback done);

  // Mints a new token whatever the cache holds (after the current backoff,
  // if IMS is failing); joins a run already in flight. `done` as GetToken.
  void Refresh(const std::string& id, TokenCallback done);

  // Calls `on_token` with every token of `id` cached from now on, from the
  // executor, until Unwatch; with NOT_FOUND once if the integration is
  // deleted. Watched integrations are always refreshed ahead of expiry.
  // Returns the handle for Unwatch and the token cached now (or null),
  // atomically: none is missed and none is told twice.
  struct WatchStart {
    uint64_t handle = 0;
    SnapshotPtr current;
  };
  WatchStart Watch(const std::string& id, TokenCallback on_token);
  // After it returns, `on_token` is not called again (but a call already in
  // progress may still be running on another thread).
  void Unwatch(const std::string& id, uint64_t handle);

  // The store's change feed (the broker's listener; tests call it too).
  void OnStoreChange(const StoreChange& change);

  // Starts the runs that are due at clock->Now() (refreshes, retries, looks
  // at another replica's lease). Returns when the next is due.
  absl::Time RunDueRefreshes();
  // Starts/stops a thread that calls RunDueRefreshes when due; Shutdown
  // also unsubscribes from the change feed.
  void Start();
  void Shutdown();

  // Ends every watch with `status` (e.g. UNAVAILABLE on shutdown, so the
  // clients reconnect to another replica).
  void EndWatches(const absl::Status& status);
  // Completes every caller still waiting for a run with `status` (the end
  // of the shutdown grace); the runs themselves go on.
  void FailWaiters(const absl::Status& status);

  BrokerStats stats() const;
  int64_t cached_integrations() const { return cache_.size(); }
  // Counters and every cached token's expiry, for the metrics scrape.
  CacheSample SampleCache() const;

 private:
  // What one integration's flight is doing. Legal transitions:
  //   kIdle -> kRunning (a caller missed, a refresh is due, the feed spoke)
  //   kRunning -> kIdle (token cached or a final error)
  //            -> kBackingOff (IMS unavailable: wait until retry_at)
  //            -> kAwaitingReplica (another replica holds the lease)
  //            -> kRunning (the integration changed meanwhile: run again)
  //   kBackingOff, kAwaitingReplica -> kRunning (woken, or the feed spoke)
  enum class Phase { kIdle, kRunning, kBackingOff, kAwaitingReplica };

  struct Waiter {
    std::optional<absl::Duration> min_validity;
    TokenCallback done;
    bool force = false;  // Refresh: wants a newly minted token
    absl::Time arrived;
    int attempts = 0;  // failed exchanges it waited through
  };

  struct Flight {
    explicit Flight(std::string id) : id(std::move(id)) {}
    const std::string id;
    absl::Mutex mu;
    Phase phase ABSL_GUARDED_BY(mu) = Phase::kIdle;
    std::vector<Waiter> waiters ABSL_GUARDED_BY(mu);
    // The token this flight last cached (kept while the cache entry is
    // dropped after a change, to be reused if the settings are the same).
    SnapshotPtr held ABSL_GUARDED_BY(mu);
    // The integration as last loaded, and the digest `held` was minted
    // with; `integration` is cleared by every change the feed reports.
    std::optional<Integration> integration ABSL_GUARDED_BY(mu);
    uint64_t digest ABSL_GUARDED_BY(mu) = 0;
    // Bumped by every change of the integration: a run that started before
    // is discarded and run again.
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
    bool force_pending ABSL_GUARDED_BY(mu) = false;  // a Refresh() waits
    bool need_new ABSL_GUARDED_BY(mu) = false;       // waiters want more than stored tokens give
    bool refresh_due ABSL_GUARDED_BY(mu) = false;    // the scheduler found `held` due
    bool changed ABSL_GUARDED_BY(mu) = false;        // the integration changed since `held`
    bool adopt_pending ABSL_GUARDED_BY(mu) = false;  // the feed announced a newer token
    absl::Time announced_expire ABSL_GUARDED_BY(mu) = absl::InfinitePast();
    RetryBackoff backoff ABSL_GUARDED_BY(mu);
    absl::Status last_error ABSL_GUARDED_BY(mu);
    absl::Time wake_at ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  };
  using FlightPtr = std::shared_ptr<Flight>;
  // Callbacks collected under a flight's lock, run after it is released.
  class Deferred;

  FlightPtr FindFlight(const std::string& id) const;
  FlightPtr FindOrCreateFlight(const std::string& id);
  void EraseFlight(const FlightPtr& flight);
  std::vector<FlightPtr> AllFlights() const;

  void Join(const std::string& id, Waiter waiter);
  // Starts a run unless the phase says to wait.
  void KickLocked(const FlightPtr& flight, absl::Time now, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight->mu);
  void StartRunLocked(const FlightPtr& flight) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight->mu);
  void WakeLocked(Flight& flight, absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight.mu);
  MintRequest RequestLocked(const Flight& flight) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight.mu);

  // A run: the pipeline on an executor thread, then Complete.
  void Run(const FlightPtr& flight);
  void Complete(const FlightPtr& flight, uint64_t generation, MintOutcome outcome);
  void OnTokenLocked(const FlightPtr& flight, MintOutcome& outcome, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight->mu);
  void OnLoadFailedLocked(const FlightPtr& flight, const absl::Status& status, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight->mu);
  void OnExchangeFailedLocked(const FlightPtr& flight, const absl::Status& status,
                              Deferred& deferred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight->mu);
  void OnLeaseBusyLocked(Flight& flight) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight.mu);
  // Serves the waiters `snap` satisfies (all but force waiters unless
  // `minted`); returns whether some are left.
  bool ServeWaitersLocked(Flight& flight, const SnapshotPtr& snap, bool minted, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight.mu);

  void OnDue(const std::string& id, absl::Time now);
  void OnIntegrationChanged(const FlightPtr& flight, bool deleted);
  void OnTokenStored(const FlightPtr& flight, absl::Time expire);
  // The feed may have missed changes: revalidate what is cached, serving it
  // meanwhile.
  void OnResync(const FlightPtr& flight);
  // The integration is gone: callers and watchers get NOT_FOUND.
  void ForgetLocked(const FlightPtr& flight, const absl::Status& status, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight->mu);

  CredentialStore* const store_;
  Executor* const executor_;
  const Clock* const clock_;
  RandomSource* const random_;
  const BrokerOptions options_;
  BrokerObserver* const observer_;
  MintPipeline pipeline_;
  TokenCache cache_;
  WatchHub watches_;
  RefreshScheduler scheduler_;

  mutable absl::Mutex flights_mu_;
  absl::flat_hash_map<std::string, FlightPtr> flights_ ABSL_GUARDED_BY(flights_mu_);

  std::atomic<int64_t> hits_{0}, misses_{0}, exchanges_{0}, failures_{0};
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_TOKEN_BROKER_H_
