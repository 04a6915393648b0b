// The backoff arithmetic of RetryPolicy (no sockets, no time).
#include "internal/retry.h"

#include "gtest/gtest.h"

namespace tokenbroker::client::internal {
namespace {

RetryPolicy Policy() {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.max_backoff = absl::Seconds(1);
  policy.multiplier = 2.0;
  return policy;
}

TEST(NominalBackoffTest, GrowsExponentiallyUpToMax) {
  RetryPolicy policy = Policy();
  EXPECT_EQ(NominalBackoff(policy, 1), absl::Milliseconds(100));
  EXPECT_EQ(NominalBackoff(policy, 2), absl::Milliseconds(200));
  EXPECT_EQ(NominalBackoff(policy, 3), absl::Milliseconds(400));
  EXPECT_EQ(NominalBackoff(policy, 4), absl::Milliseconds(800));
  EXPECT_EQ(NominalBackoff(policy, 5), absl::Seconds(1));
  EXPECT_EQ(NominalBackoff(policy, 1000), absl::Seconds(1));
}

TEST(NominalBackoffTest, StaysConstantWhenMultiplierIsOne) {
  RetryPolicy policy = Policy();
  policy.multiplier = 1.0;
  EXPECT_EQ(NominalBackoff(policy, 7), absl::Milliseconds(100));
}

TEST(JitteredBackoffTest, LiesBetweenHalfAndFullNominal) {
  RetryPolicy policy = Policy();
  EXPECT_EQ(JitteredBackoff(policy, 2, 0.0), absl::Milliseconds(100));
  EXPECT_EQ(JitteredBackoff(policy, 2, 1.0), absl::Milliseconds(200));
  EXPECT_EQ(JitteredBackoff(policy, 2, 0.5), absl::Milliseconds(150));
  EXPECT_EQ(JitteredBackoff(policy, 2, -3.0), absl::Milliseconds(100));  // clamped
  EXPECT_EQ(JitteredBackoff(policy, 2, 7.0), absl::Milliseconds(200));
}

TEST(UniformRandomTest, StaysInUnitInterval) {
  for (int i = 0; i < 1000; ++i) {
    double u = UniformRandom();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(ValidateRetryPolicyTest, RejectsEachBadField) {
  EXPECT_TRUE(ValidateRetryPolicy(Policy()).ok());
  RetryPolicy policy = Policy();
  policy.max_attempts = 0;
  EXPECT_EQ(ValidateRetryPolicy(policy).code(), absl::StatusCode::kInvalidArgument);
  policy = Policy();
  policy.initial_backoff = absl::ZeroDuration();
  EXPECT_EQ(ValidateRetryPolicy(policy).code(), absl::StatusCode::kInvalidArgument);
  policy = Policy();
  policy.max_backoff = absl::Milliseconds(50);
  EXPECT_EQ(ValidateRetryPolicy(policy).code(), absl::StatusCode::kInvalidArgument);
  policy = Policy();
  policy.multiplier = 0.5;
  EXPECT_EQ(ValidateRetryPolicy(policy).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokenbroker::client::internal
