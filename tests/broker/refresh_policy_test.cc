#include "server/broker/refresh_policy.h"

#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

const absl::Time kIssue = absl::FromUnixSeconds(1'000'000);

TEST(NextRefreshTimeTest, RefreshesAtFractionMinusJitter) {
  RefreshPolicy policy;
  policy.refresh_fraction = 0.75;
  policy.jitter_fraction = 0.1;
  absl::Time expire = kIssue + absl::Hours(24);
  EXPECT_EQ(NextRefreshTime(kIssue, expire, policy, 0.0), kIssue + absl::Hours(18));
  EXPECT_EQ(NextRefreshTime(kIssue, expire, policy, 0.5), kIssue + absl::Hours(24) * 0.70);
  // Always before expiry, whatever the draw.
  for (double u : {0.0, 0.3, 0.999}) {
    absl::Time t = NextRefreshTime(kIssue, expire, policy, u);
    EXPECT_LT(t, expire);
    EXPECT_GE(t, kIssue + absl::Hours(24) * 0.65);
  }
}

TEST(NextRefreshTimeTest, JitterSpreadsIntegrationsMintedTogether) {
  RefreshPolicy policy;
  absl::Time expire = kIssue + absl::Hours(24);
  EXPECT_NE(NextRefreshTime(kIssue, expire, policy, 0.1),
            NextRefreshTime(kIssue, expire, policy, 0.9));
}

TEST(DefaultMinValidityTest, CappedAtTenPercentOfLifetime) {
  RefreshPolicy policy;
  EXPECT_EQ(DefaultMinValidity(kIssue, kIssue + absl::Hours(24), policy), absl::Seconds(60));
  EXPECT_EQ(DefaultMinValidity(kIssue, kIssue + absl::Seconds(10), policy), absl::Seconds(1));
}

TEST(SatisfiesTest, ExpiredTokenNeverSatisfies) {
  absl::Time now = kIssue;
  EXPECT_FALSE(Satisfies(now, now, absl::ZeroDuration()));
  EXPECT_FALSE(Satisfies(now - absl::Seconds(1), now, absl::ZeroDuration()));
  EXPECT_TRUE(Satisfies(now + absl::Seconds(1), now, absl::ZeroDuration()));
  EXPECT_FALSE(Satisfies(now + absl::Seconds(59), now, absl::Seconds(60)));
  EXPECT_TRUE(Satisfies(now + absl::Seconds(60), now, absl::Seconds(60)));
}

TEST(NextRetryTimeTest, BacksOffExponentiallyWithinRemainingValidity) {
  RefreshPolicy policy;
  policy.failure_backoff_initial = absl::Seconds(1);
  policy.failure_backoff_max = absl::Seconds(60);
  absl::Time now = kIssue;
  absl::Time far = now + absl::Hours(1);
  absl::Duration d1 = NextRetryTime(now, far, 1, policy, 0.99) - now;
  EXPECT_GE(d1, absl::Milliseconds(500));
  EXPECT_LE(d1, absl::Seconds(1));
  absl::Duration d3 = NextRetryTime(now, far, 3, policy, 0.0) - now;
  EXPECT_EQ(d3, absl::Seconds(2));  // 4 s * 0.5
  absl::Duration capped = NextRetryTime(now, far, 20, policy, 0.0) - now;
  EXPECT_EQ(capped, absl::Seconds(30));
  // With 8 s of validity left, retries come within a quarter of it.
  EXPECT_LE(NextRetryTime(now, now + absl::Seconds(8), 20, policy, 0.99) - now, absl::Seconds(2));
  // Close to expiry, never closer together than half the first backoff.
  EXPECT_EQ(NextRetryTime(now, now + absl::Milliseconds(100), 20, policy, 0.99) - now,
            absl::Milliseconds(500));
}

}  // namespace
}  // namespace tokenbroker
