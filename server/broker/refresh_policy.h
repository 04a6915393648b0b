// When to refresh a token and whether a token may be handed out: pure
// functions of `now`, so the rules are tested without a clock.
#ifndef TOKENBROKER_SERVER_BROKER_REFRESH_POLICY_H_
#define TOKENBROKER_SERVER_BROKER_REFRESH_POLICY_H_

#include "absl/time/time.h"

namespace tokenbroker {

struct RefreshPolicy {
  // Refresh once this fraction of a token's lifetime has passed (0 < f < 1).
  double refresh_fraction = 0.75;
  // Up to this fraction of the lifetime earlier, uniformly at random, so that
  // integrations minted together do not refresh together (0 <= j < f).
  double jitter_fraction = 0.1;
  // A caller that sets no minimum validity gets a token valid at least
  // min(default_min_validity, lifetime * default_min_validity_fraction).
  absl::Duration default_min_validity = absl::Seconds(60);
  double default_min_validity_fraction = 0.1;
  // Backoff after failed exchanges (per integration, whoever asked):
  // initial * 2^(n-1), capped, times a jitter in [0.5, 1), and while a
  // token is still valid never later than a quarter of the time it has left.
  absl::Duration failure_backoff_initial = absl::Milliseconds(250);
  absl::Duration failure_backoff_max = absl::Seconds(60);
};

// The moment to start refreshing a token issued at `issue` and expiring at
// `expire`. `u` is uniform in [0, 1) (the jitter draw).
absl::Time NextRefreshTime(absl::Time issue, absl::Time expire, const RefreshPolicy& policy,
                           double u);

// The minimum validity applied when the caller gave none.
absl::Duration DefaultMinValidity(absl::Time issue, absl::Time expire, const RefreshPolicy& policy);

// True when a token expiring at `expire` may be returned at `now` to a
// caller wanting `min_validity` more: it must be strictly unexpired.
inline bool Satisfies(absl::Time expire, absl::Time now, absl::Duration min_validity) {
  return expire > now && expire - now >= min_validity;
}

// When to retry after the `failures`-th consecutive failed exchange of an
// integration whose token expires at `expire` (InfinitePast if none is
// valid): initial * 2^(failures-1), capped at max, times (0.5 + 0.5u); while
// a token is valid, no later than a quarter of its time left; never sooner
// than initial / 2. `u` in [0, 1).
absl::Time NextRetryTime(absl::Time now, absl::Time expire, int failures,
                         const RefreshPolicy& policy, double u);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_REFRESH_POLICY_H_
