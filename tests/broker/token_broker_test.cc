#include "server/broker/token_broker.h"

#include <atomic>
#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_credential_store.h"
#include "tests/broker/broker_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_exchanger.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::tokenbroker::testing::FakeClock;
using ::tokenbroker::testing::FakeTokenExchanger;
using ::tokenbroker::testing::FixedRandomSource;
using ::tokenbroker::testing::MakeIntegration;
using ::tokenbroker::testing::ManualExecutor;
using ::tokenbroker::testing::Result;

class TokenBrokerTest : public ::testing::Test {
 protected:
  TokenBrokerTest() : store_(&clock_), exchanger_(&clock_, absl::Seconds(100)) {
    policy_.refresh_fraction = 0.75;
    policy_.jitter_fraction = 0.1;
    policy_.default_min_validity = absl::Seconds(5);
    broker_ =
        std::make_unique<TokenBroker>(&store_, &exchanger_, &executor_, &clock_, &random_, policy_);
    EXPECT_TRUE(store_.Create(MakeIntegration("acme")).ok());
  }

  Result Get(const std::string& id, std::optional<absl::Duration> min = std::nullopt) {
    Result r;
    broker_->GetToken(id, min, r.Callback());
    executor_.RunAll();
    return r;
  }

  FakeClock clock_;
  InMemoryCredentialStore store_;
  FakeTokenExchanger exchanger_;
  ManualExecutor executor_;
  FixedRandomSource random_{0.0};  // refresh exactly at 75% of the lifetime
  RefreshPolicy policy_;
  std::unique_ptr<TokenBroker> broker_;
};

TEST_F(TokenBrokerTest, GetTokenColdMintsOnceThenServesFromCacheInline) {
  Result first = Get("acme");
  ASSERT_TRUE(first.value.has_value());
  ASSERT_TRUE(first.value->ok()) << first.value->status();
  EXPECT_EQ(first.token(), "token-1");
  EXPECT_EQ((**first.value)->client_id, "client-acme");

  Result second;
  broker_->GetToken("acme", std::nullopt, second.Callback());
  // Served inline: nothing was queued on the executor.
  EXPECT_EQ(executor_.pending(), 0u);
  ASSERT_TRUE(second.value.has_value());
  EXPECT_EQ(second.token(), "token-1");
  EXPECT_EQ(exchanger_.calls(), 1);
  EXPECT_EQ(broker_->stats().cache_hits, 1);
}

TEST_F(TokenBrokerTest, ConcurrentColdCallersShareOneExchange) {
  testing::MockTokenExchanger mock;
  TokenBroker broker(&store_, &mock, &executor_, &clock_, &random_, policy_);
  AccessToken token;
  token.access_token = SecretString(std::string("shared"));
  token.issue_time = clock_.Now();
  token.expire_time = clock_.Now() + absl::Hours(1);
  EXPECT_CALL(mock, Exchange(::testing::_)).Times(1).WillOnce(::testing::Return(token));

  std::vector<Result> results(1000);
  for (auto& r : results) broker.GetToken("acme", std::nullopt, r.Callback());
  executor_.RunAll();
  for (const auto& r : results) {
    ASSERT_TRUE(r.value.has_value());
    ASSERT_TRUE(r.value->ok());
    EXPECT_EQ(r.token(), "shared");
  }
}

TEST_F(TokenBrokerTest, RefreshesInBackgroundAheadOfExpiry) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  clock_.Advance(absl::Seconds(74));
  EXPECT_EQ(Get("acme").token(), "token-1");  // accessed: worth refreshing
  broker_->RunDueRefreshes();
  EXPECT_EQ(executor_.RunAll(), 0);  // not due yet
  clock_.Advance(absl::Seconds(1));
  broker_->RunDueRefreshes();
  EXPECT_EQ(executor_.RunAll(), 1);
  EXPECT_EQ(exchanger_.calls(), 2);
  EXPECT_EQ(Get("acme").token(), "token-2");
}

TEST_F(TokenBrokerTest, IdleIntegrationIsNotRefreshed) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  clock_.Advance(absl::Seconds(80));
  broker_->RunDueRefreshes();
  executor_.RunAll();
  EXPECT_EQ(exchanger_.calls(), 1);
}

TEST_F(TokenBrokerTest, ServesCachedTokenWhileImsFailsThenUnavailableAfterExpiry) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  exchanger_.FailWith(absl::UnavailableError("IMS down"));
  clock_.Advance(absl::Seconds(80));
  EXPECT_EQ(Get("acme").token(), "token-1");
  broker_->RunDueRefreshes();
  executor_.RunAll();                         // the refresh fails
  EXPECT_EQ(Get("acme").token(), "token-1");  // still valid for 20 s

  clock_.Advance(absl::Seconds(20));  // now exactly at expiry
  Result expired = Get("acme");
  ASSERT_TRUE(expired.value.has_value());
  EXPECT_EQ(expired.value->status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(TokenBrokerTest, NeverReturnsATokenShorterThanTheMinimumValidity) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  clock_.Advance(absl::Seconds(60));  // 40 s left
  EXPECT_EQ(Get("acme", absl::Seconds(30)).token(), "token-1");
  EXPECT_EQ(Get("acme", absl::Seconds(50)).token(), "token-2");
  Result too_long = Get("acme", absl::Seconds(200));
  ASSERT_TRUE(too_long.value.has_value());
  EXPECT_EQ(too_long.value->status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(too_long.value->status().message()), HasSubstr("minimum validity"));
}

TEST_F(TokenBrokerTest, RejectionIsReportedAndNotRetriedInBackground) {
  exchanger_.FailWith(absl::FailedPreconditionError("IMS rejected: invalid_client"));
  Result r = Get("acme");
  EXPECT_EQ(r.value->status().code(), absl::StatusCode::kFailedPrecondition);
  clock_.Advance(absl::Hours(1));
  broker_->RunDueRefreshes();
  executor_.RunAll();
  EXPECT_EQ(exchanger_.calls(), 1);
}

TEST_F(TokenBrokerTest, UnknownIntegrationIsNotFoundAndNotCached) {
  Result r = Get("nope");
  EXPECT_EQ(r.value->status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(exchanger_.calls(), 0);
  EXPECT_EQ(broker_->cached_integrations(), 0);
}

TEST_F(TokenBrokerTest, DisabledIntegrationIsFailedPrecondition) {
  Integration disabled = MakeIntegration("off");
  disabled.state = IntegrationState::kDisabled;
  ASSERT_TRUE(store_.Create(disabled).ok());
  Result r = Get("off");
  EXPECT_EQ(r.value->status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.value->status().message()), HasSubstr("disabled"));
}

TEST_F(TokenBrokerTest, InvalidateDropsTheCachedToken) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  broker_->Invalidate("acme");
  EXPECT_EQ(Get("acme").token(), "token-2");
}

TEST_F(TokenBrokerTest, ForcedRefreshMintsEvenWhenCached) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  Result r;
  broker_->Refresh("acme", r.Callback());
  executor_.RunAll();
  EXPECT_EQ(r.token(), "token-2");
  EXPECT_EQ(Get("acme").token(), "token-2");
}

TEST_F(TokenBrokerTest, ForcedRefreshReportsFailureEvenWithValidToken) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  exchanger_.FailWith(absl::UnavailableError("IMS down"));
  Result r;
  broker_->Refresh("acme", r.Callback());
  executor_.RunAll();
  EXPECT_EQ(r.value->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Get("acme").token(), "token-1");
}

TEST_F(TokenBrokerTest, WatchersGetEveryNewTokenAndNotFoundOnDelete) {
  std::vector<std::string> seen;
  absl::StatusCode last_code = absl::StatusCode::kOk;
  broker_->Watch("acme", [&](absl::StatusOr<SnapshotPtr> r) {
    if (r.ok()) {
      seen.emplace_back((*r)->token.access_token.value());
    } else {
      last_code = r.status().code();
    }
  });
  Get("acme");
  clock_.Advance(absl::Seconds(75));
  broker_->RunDueRefreshes();  // watched: refreshed even without callers
  executor_.RunAll();
  EXPECT_THAT(seen, ::testing::ElementsAre("token-1", "token-2"));
  ASSERT_TRUE(store_.Delete("acme", "").ok());
  broker_->Remove("acme");
  EXPECT_EQ(last_code, absl::StatusCode::kNotFound);
}

TEST_F(TokenBrokerTest, WatchAfterALapsedRefreshReArmsIt) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  clock_.Advance(absl::Seconds(80));  // past the refresh point, nobody asked: lapses
  broker_->RunDueRefreshes();
  EXPECT_EQ(executor_.RunAll(), 0);
  std::vector<std::string> seen;
  broker_->Watch("acme", [&](absl::StatusOr<SnapshotPtr> r) {
    if (r.ok()) seen.emplace_back((*r)->token.access_token.value());
  });
  executor_.RunAll();
  EXPECT_THAT(seen, ::testing::ElementsAre("token-2"));
}

TEST_F(TokenBrokerTest, RestartServesThePersistedTokenWithoutExchange) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  TokenBroker restarted(&store_, &exchanger_, &executor_, &clock_, &random_, policy_);
  Result r;
  restarted.GetToken("acme", std::nullopt, r.Callback());
  executor_.RunAll();
  EXPECT_EQ(r.token(), "token-1");
  EXPECT_EQ(exchanger_.calls(), 1);
}

TEST_F(TokenBrokerTest, JitterSpreadsRefreshesOfIntegrationsMintedTogether) {
  FakeTokenExchanger exchanger(&clock_, absl::Seconds(1000));
  BitGenRandomSource random;
  RefreshPolicy policy = policy_;
  policy.jitter_fraction = 0.5;
  TokenBroker broker(&store_, &exchanger, &executor_, &clock_, &random, policy);
  for (int i = 0; i < 20; ++i) {
    std::string id = "int-" + std::to_string(i);
    ASSERT_TRUE(store_.Create(MakeIntegration(id)).ok());
    broker.GetToken(id, std::nullopt, [](absl::StatusOr<SnapshotPtr>) {});
  }
  executor_.RunAll();
  // Keep them all in use while stepping through the refresh window.
  int distinct_steps = 0;
  for (int step = 0; step < 76; ++step) {  // to 760 s: past every first refresh
    clock_.Advance(absl::Seconds(10));
    for (int i = 0; i < 20; ++i) {
      broker.GetToken("int-" + std::to_string(i), std::nullopt, [](absl::StatusOr<SnapshotPtr>) {});
    }
    int before = exchanger.calls();
    broker.RunDueRefreshes();
    executor_.RunAll();
    if (exchanger.calls() > before) ++distinct_steps;
  }
  EXPECT_GE(exchanger.calls(), 40);  // every integration refreshed at least once
  EXPECT_GE(distinct_steps, 5);
}

}  // namespace
}  // namespace tokenbroker
