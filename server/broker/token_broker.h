// The broker core: one cache entry per integration, single-flight exchanges,
// background refresh ahead of expiry.
//
// Design note. A cached token is served by GetToken inline on the caller's
// thread (a gRPC callback thread): a lookup in one of kShards hash maps
// under that shard's mutex, then a copy of a shared_ptr under the entry's
// mutex. No I/O, no global lock. Anything that needs IMS or the store runs
// on the injected Executor; callers waiting for the same integration are
// queued on its entry and all completed by one exchange (single-flight).
// Background refreshes are driven by RunDueRefreshes(now-based), which a
// thread started by Start() calls; unit tests call it directly with a fake
// clock instead.
#ifndef TOKENBROKER_SERVER_BROKER_TOKEN_BROKER_H_
#define TOKENBROKER_SERVER_BROKER_TOKEN_BROKER_H_

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/broker/refresh_policy.h"
#include "server/common/clock.h"
#include "server/common/executor.h"
#include "server/common/random.h"
#include "server/ims/token_exchanger.h"
#include "server/metrics/metrics.h"
#include "server/store/credential_store.h"
#include "server/store/replica_coordination.h"

namespace tokenbroker {

// A minted token with what is needed to build request headers, immutable
// and shared between every caller it is handed to.
struct TokenSnapshot {
  std::string integration_id;
  AccessToken token;
  std::string client_id;
  std::string org_id;
  std::string sandbox_name;
  bool include_org_header = false;
};

using SnapshotPtr = std::shared_ptr<const TokenSnapshot>;
using TokenCallback = std::function<void(absl::StatusOr<SnapshotPtr>)>;

struct BrokerStats {
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t exchanges = 0;
  int64_t exchange_failures = 0;
};

// Several replicas on one shared store: who mints is decided by the store's
// refresh lease; tokens minted elsewhere arrive through its change feed.
struct ReplicaOptions {
  ReplicaCoordination* coordination = nullptr;  // not owned
  std::string replica_id;                       // the lease holder name
  // Longest a lease is held; shorter (a third of the time left) while a
  // still-valid token is being replaced, so a dead holder delays the next
  // replica by little.
  absl::Duration lease_ttl = absl::Seconds(30);
  // How soon a replica that found the lease taken looks again (the change
  // feed usually wakes it first).
  absl::Duration lease_retry = absl::Milliseconds(250);
};

class TokenBroker {
 public:
  // None of the pointers is owned; all must outlive the broker.
  TokenBroker(CredentialStore* store, TokenExchanger* exchanger, Executor* executor,
              const Clock* clock, RandomSource* random, RefreshPolicy policy);
  ~TokenBroker();
  TokenBroker(const TokenBroker&) = delete;
  TokenBroker& operator=(const TokenBroker&) = delete;

  // Calls `done` exactly once with a token of integration `id` that is valid
  // for at least `min_validity` (nullopt: the policy's default). Inline when
  // the cache has one; otherwise from the executor after one exchange shared
  // by all concurrent callers. Errors: NOT_FOUND, FAILED_PRECONDITION
  // (disabled; IMS rejected the credential; IMS tokens live shorter than
  // `min_validity`), UNAVAILABLE (IMS failing and no cached token is good
  // enough), INVALID_ARGUMENT, DATA_LOSS, store errors.
  void GetToken(const std::string& id, std::optional<absl::Duration> min_validity,
                TokenCallback done);

  // Mints a new token whatever the cache holds; joins an exchange already in
  // flight. `done` as in GetToken.
  void Refresh(const std::string& id, TokenCallback done);

  // Calls `on_token` with every token of `id` minted from now on, from the
  // executor, until Unwatch; with NOT_FOUND once if the integration is
  // deleted. Watched integrations are always refreshed ahead of expiry.
  // Returns a handle for Unwatch.
  uint64_t Watch(const std::string& id, TokenCallback on_token);
  // After it returns, `on_token` is not called again (but a call already in
  // progress may still be running on another thread).
  void Unwatch(const std::string& id, uint64_t handle);

  // Forgets the cached token of `id` (its credentials or settings changed);
  // watchers get a token minted with the new settings.
  void Invalidate(const std::string& id);
  // `id` was deleted: watchers get NOT_FOUND, the entry goes away.
  void Remove(const std::string& id);

  // Starts background refreshes that are due at clock->Now(). Returns the
  // time the next one is due (InfiniteFuture if none).
  absl::Time RunDueRefreshes();

  // Starts/stops a thread that calls RunDueRefreshes when due.
  void Start();
  void Shutdown();

  // Both before Start. `metrics` (not owned) may be null.
  void SetMetrics(Metrics* metrics) { metrics_ = metrics; }
  // Cooperates with other replicas through `options.coordination`, and
  // subscribes to its change feed (unsubscribed by Shutdown).
  void EnableReplicaCoordination(ReplicaOptions options);
  // A change another replica (or this one) committed to the shared store:
  // newer tokens are adopted, changed credentials invalidate the cache.
  void OnStoreChange(const StoreChange& change);

  // Ends every watch with `status` (e.g. UNAVAILABLE on shutdown, so the
  // clients reconnect to another replica).
  void EndWatches(const absl::Status& status);
  // Completes every caller still waiting for an exchange with `status` (the
  // end of the shutdown grace); the exchanges themselves run on.
  void FailWaiters(const absl::Status& status);

  BrokerStats stats() const;
  int64_t cached_integrations() const;
  // Counters and every cached token's expiry, for the metrics scrape.
  CacheSample SampleCache() const;

 private:
  struct Waiter {
    std::optional<absl::Duration> min_validity;
    TokenCallback done;
    bool force = false;  // a forced refresh: wants a newly minted token
  };
  struct Entry {
    explicit Entry(std::string id) : id(std::move(id)) {}
    const std::string id;
    absl::Mutex mu;
    SnapshotPtr current ABSL_GUARDED_BY(mu);
    bool loaded_from_store ABSL_GUARDED_BY(mu) = false;
    bool in_flight ABSL_GUARDED_BY(mu) = false;
    bool force_pending ABSL_GUARDED_BY(mu) = false;
    bool refresh_due ABSL_GUARDED_BY(mu) = false;  // set by the scheduler
    bool invalidated ABSL_GUARDED_BY(mu) = false;  // credentials changed since the last mint
    bool reconcile_queued ABSL_GUARDED_BY(mu) = false;
    // Digest of the settings the current token was minted with.
    uint64_t settings_digest ABSL_GUARDED_BY(mu) = 0;
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
    std::vector<Waiter> waiters ABSL_GUARDED_BY(mu);
    std::map<uint64_t, TokenCallback> watchers ABSL_GUARDED_BY(mu);
    absl::Time next_refresh ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
    int consecutive_failures ABSL_GUARDED_BY(mu) = 0;
    std::atomic<int64_t> last_access_nanos{0};
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<Entry>> entries ABSL_GUARDED_BY(mu);
  };
  static constexpr int kShards = 64;

  std::shared_ptr<Entry> FindOrCreate(const std::string& id);
  std::shared_ptr<Entry> Find(const std::string& id);
  void Erase(const std::string& id, const Entry* entry);
  Shard& ShardFor(const std::string& id);

  // Starts an exchange for `entry` on the executor unless one is running.
  void StartExchangeLocked(const std::shared_ptr<Entry>& entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry->mu);
  void RunExchange(std::shared_ptr<Entry> entry);
  void ScheduleRefreshLocked(Entry& entry, absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu);
  absl::Duration MinValidityFor(const std::optional<absl::Duration>& requested,
                                const AccessToken& token) const;
  // Makes `token` (read from the store) current when it is valid and newer
  // than the current one; returns the watchers to tell, or nullopt.
  std::optional<std::vector<TokenCallback>> AdoptLocked(Entry& entry,
                                                        const Integration& integration,
                                                        AccessToken token)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu);
  // Brings a cached entry up to date with the shared store (change feed).
  void Reconcile(std::shared_ptr<Entry> entry);
  // Takes the refresh lease of `entry`; false when another replica holds it.
  bool AcquireLease(const Entry& entry, absl::Time current_expire);
  void ReleaseLease(const std::string& id);

  CredentialStore* const store_;
  TokenExchanger* const exchanger_;
  Executor* const executor_;
  const Clock* const clock_;
  RandomSource* const random_;
  const RefreshPolicy policy_;

  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> next_watch_handle_{1};

  // Due refreshes: time -> integration ids. Stale rows are skipped when the
  // entry's next_refresh no longer matches.
  mutable absl::Mutex schedule_mu_;
  std::multimap<absl::Time, std::string> schedule_ ABSL_GUARDED_BY(schedule_mu_);
  bool stopping_ ABSL_GUARDED_BY(schedule_mu_) = false;
  absl::Time wake_at_ ABSL_GUARDED_BY(schedule_mu_) = absl::InfiniteFuture();
  std::thread refresher_;

  std::atomic<int64_t> hits_{0}, misses_{0}, exchanges_{0}, failures_{0};
  Metrics* metrics_ = nullptr;
  ReplicaOptions replica_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_TOKEN_BROKER_H_
