// What the broker tells whoever watches it (the metrics layer), and the
// vocabulary it uses: why a token was minted, what the cache holds.
#ifndef TOKENBROKER_SERVER_BROKER_BROKER_OBSERVER_H_
#define TOKENBROKER_SERVER_BROKER_BROKER_OBSERVER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokenbroker {

// Why a token was minted (the `trigger` label of the refresh metrics).
enum class RefreshTrigger { kCold, kScheduled, kForced, kInvalidated };
absl::string_view RefreshTriggerName(RefreshTrigger trigger);

// What the broker's cache looks like at one moment (a metrics scrape).
struct CacheSample {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t entries = 0;
  // Every cached token: integration id and expiry.
  std::vector<std::pair<std::string, absl::Time>> tokens;
};

// Told of every IMS exchange, mint attempt and replica event. Calls come
// from the broker's exchange threads, never under a broker lock; they must
// be thread-safe and must not block. The default methods do nothing.
class BrokerObserver {
 public:
  virtual ~BrokerObserver() = default;
  // One IMS exchange of `flow` ("oauth_s2s" or "jwt") and what it returned.
  virtual void OnImsExchange(absl::string_view flow, absl::Duration latency,
                             const absl::Status& result) {}
  // A mint attempt by trigger: ok, or why it failed.
  virtual void OnRefresh(RefreshTrigger trigger, const absl::Status& result) {}
  // Replica cooperation: "adopted" (a token another replica minted),
  // "lease_busy" (another replica is minting), "lease_error".
  virtual void OnReplicaEvent(absl::string_view event) {}

  // An observer that ignores everything (the default; never null).
  static BrokerObserver* Null();
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_BROKER_OBSERVER_H_
