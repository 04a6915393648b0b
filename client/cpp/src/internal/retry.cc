#include "internal/retry.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace tokenbroker::client::internal {

absl::Status ValidateRetryPolicy(const RetryPolicy& policy) {
  if (policy.max_attempts < 1) {
    return absl::InvalidArgumentError("retry.max_attempts must be at least 1");
  }
  if (policy.initial_backoff <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("retry.initial_backoff must be positive");
  }
  if (policy.max_backoff < policy.initial_backoff) {
    return absl::InvalidArgumentError("retry.max_backoff must be at least retry.initial_backoff");
  }
  if (!(policy.multiplier >= 1.0) || !std::isfinite(policy.multiplier)) {
    return absl::InvalidArgumentError("retry.multiplier must be a finite number of at least 1");
  }
  return absl::OkStatus();
}

absl::Duration NominalBackoff(const RetryPolicy& policy, int attempt) {
  // Cap the exponent: 2^60 of anything is past any max_backoff.
  int exponent = std::clamp(attempt - 1, 0, 60);
  double factor = std::pow(policy.multiplier, exponent);
  double max_factor = absl::FDivDuration(policy.max_backoff, policy.initial_backoff);
  if (!(factor < max_factor)) return policy.max_backoff;
  return std::min(policy.initial_backoff * factor, policy.max_backoff);
}

absl::Duration JitteredBackoff(const RetryPolicy& policy, int attempt, double u) {
  u = std::clamp(u, 0.0, 1.0);
  return NominalBackoff(policy, attempt) * (0.5 + 0.5 * u);
}

double UniformRandom() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace tokenbroker::client::internal
