// The backoff of one integration after failed IMS exchanges, kept across
// exchanges whoever triggers them: a caller that arrives during a backoff
// waits for the retry (or gets a still-valid token); it never starts an
// exchange of its own. Pure: every decision takes `now`.
//
// Design note. Retries used to sleep inside the exchange threads and
// started over with each exchange a caller triggered, so an outage cost IMS
// a request per caller and parked the pool. Here a failure only moves
// `retry_at`; the refresh scheduler wakes the integration then, and the
// exchange threads stay free for integrations that can be served.
#ifndef TOKENBROKER_SERVER_BROKER_RETRY_BACKOFF_H_
#define TOKENBROKER_SERVER_BROKER_RETRY_BACKOFF_H_

#include <optional>

#include "absl/time/time.h"
#include "server/broker/refresh_policy.h"

namespace tokenbroker {

// Not thread-safe: owned by one integration's flight, under its lock.
class RetryBackoff {
 public:
  // A failed exchange at `now`. `expire` is the expiry of the token still
  // held (InfinitePast if none); `retry_after` is IMS's Retry-After, if it
  // sent one; `u` is uniform in [0, 1). Returns the earliest time the next
  // exchange may start: the policy's exponential backoff with jitter, and
  // never before Retry-After allows.
  absl::Time OnFailure(absl::Time now, absl::Time expire, std::optional<absl::Duration> retry_after,
                       const RefreshPolicy& policy, double u);
  // A successful exchange (or changed settings): no backoff.
  void Reset() {
    failures_ = 0;
    retry_at_ = absl::InfinitePast();
  }

  bool BackingOff(absl::Time now) const { return now < retry_at_; }
  absl::Time retry_at() const { return retry_at_; }
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
  absl::Time retry_at_ = absl::InfinitePast();
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_RETRY_BACKOFF_H_
