// Backoff arithmetic of RetryPolicy, pure so that tests pin it down.
#ifndef TOKENBROKER_CLIENT_INTERNAL_RETRY_H_
#define TOKENBROKER_CLIENT_INTERNAL_RETRY_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tokenbroker/client/options.h"

namespace tokenbroker::client::internal {

// INVALID_ARGUMENT naming the first bad field of `policy`.
absl::Status ValidateRetryPolicy(const RetryPolicy& policy);

// The nominal wait after failed attempt `attempt` (1-based):
// min(initial * multiplier^(attempt-1), max).
absl::Duration NominalBackoff(const RetryPolicy& policy, int attempt);

// The jittered wait: NominalBackoff scaled by 0.5 + 0.5 * u, for `u` in
// [0, 1] (clamped); so within [nominal/2, nominal].
absl::Duration JitteredBackoff(const RetryPolicy& policy, int attempt, double u);

// A uniform draw in [0, 1) from a per-thread generator seeded from
// std::random_device.
double UniformRandom();

}  // namespace tokenbroker::client::internal

#endif  // TOKENBROKER_CLIENT_INTERNAL_RETRY_H_
