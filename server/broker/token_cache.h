// The cache-hit path: the newest token of each integration, looked up by id
// and checked against the caller's minimum validity. No I/O, no global
// lock: one of kShards hash maps under its own mutex, then a copy of a
// shared_ptr. Everything that may block lives elsewhere in the broker.
// Thread-safe.
#ifndef TOKENBROKER_SERVER_BROKER_TOKEN_CACHE_H_
#define TOKENBROKER_SERVER_BROKER_TOKEN_CACHE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/broker/refresh_policy.h"
#include "server/broker/token_snapshot.h"

namespace tokenbroker {

class TokenCache {
 public:
  explicit TokenCache(RefreshPolicy policy) : policy_(policy) {}
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // The cached token of `id` when it is valid at `now` for at least
  // `min_validity` (nullopt: the policy's default for its lifetime), else
  // null. A hit records `now` as the integration's last access.
  SnapshotPtr Find(const std::string& id, std::optional<absl::Duration> min_validity,
                   absl::Time now);
  // Whether `snap` may be handed to a caller wanting `min_validity` at `now`.
  bool Satisfies(const TokenSnapshot& snap, std::optional<absl::Duration> min_validity,
                 absl::Time now) const;

  // The cached token of `id` whatever its validity, or null.
  SnapshotPtr Current(const std::string& id) const;
  // Caches `snap` as the token of `id` (replacing any).
  void Put(const std::string& id, SnapshotPtr snap);
  // Forgets the token of `id`.
  void Drop(const std::string& id);
  // Records a caller's interest in `id` at `now` (a hit does it too).
  void Touch(const std::string& id, absl::Time now);
  // The last time a caller asked for `id` (InfinitePast if never).
  absl::Time LastAccess(const std::string& id) const;

  int64_t size() const;
  // Every cached token's integration id and expiry.
  std::vector<std::pair<std::string, absl::Time>> Expiries() const;

 private:
  struct Slot {
    SnapshotPtr current;
    absl::Time last_access = absl::InfinitePast();
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, Slot> slots ABSL_GUARDED_BY(mu);
  };
  static constexpr int kShards = 64;
  Shard& ShardFor(const std::string& id) const;

  const RefreshPolicy policy_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_TOKEN_CACHE_H_
