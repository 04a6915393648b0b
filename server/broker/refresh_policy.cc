#include "server/broker/refresh_policy.h"

#include <algorithm>
#include <cmath>

namespace tokenbroker {

absl::Time NextRefreshTime(absl::Time issue, absl::Time expire, const RefreshPolicy& policy,
                           double u) {
  absl::Duration lifetime = expire - issue;
  if (lifetime <= absl::ZeroDuration()) return issue;
  double fraction = policy.refresh_fraction - policy.jitter_fraction * u;
  fraction = std::clamp(fraction, 0.0, 1.0);
  return issue + lifetime * fraction;
}

absl::Duration DefaultMinValidity(absl::Time issue, absl::Time expire,
                                  const RefreshPolicy& policy) {
  absl::Duration lifetime = std::max(expire - issue, absl::ZeroDuration());
  return std::min(policy.default_min_validity, lifetime * policy.default_min_validity_fraction);
}

absl::Time NextRetryTime(absl::Time now, absl::Time expire, int failures,
                         const RefreshPolicy& policy, double u) {
  double factor = std::pow(2.0, std::clamp(failures - 1, 0, 30));
  absl::Duration backoff =
      std::min(policy.failure_backoff_initial * factor, policy.failure_backoff_max);
  backoff = backoff * (0.5 + 0.5 * u);
  if (expire > now) {
    // Keep several attempts inside the remaining validity...
    backoff = std::min(backoff, (expire - now) / 4);
  }
  // ...but never closer together than the first backoff allows: a token
  // about to expire is no reason to flood IMS.
  return now + std::max(backoff, policy.failure_backoff_initial / 2);
}

}  // namespace tokenbroker
