#include "server/broker/token_broker.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
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
    broker_ = std::make_unique<TokenBroker>(&store_, &exchanger_, &executor_, &clock_, &random_,
                                            BrokerOptions{.refresh = policy_});
    EXPECT_TRUE(store_.Create(MakeIntegration("acme")).ok());
  }

  Result Get(const std::string& id, std::optional<absl::Duration> min = std::nullopt) {
    Result r;
    broker_->GetToken(id, min, r.Callback());
    executor_.RunAll();
    return r;
  }

  // Runs queued work, then moves the fake clock to each wake-up the broker
  // asked for (retries after failures), until `r` has its answer.
  void Settle(const Result& r, int max_wakeups = 20) {
    executor_.RunAll();
    for (int i = 0; i < max_wakeups && !r.value.has_value(); ++i) {
      broker_->RunDueRefreshes();
      executor_.RunAll();
      absl::Time next = broker_->RunDueRefreshes();  // including what the runs asked for
      if (r.value.has_value() || next == absl::InfiniteFuture()) return;
      clock_.Set(std::max(next, clock_.Now()));
    }
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
  TokenBroker broker(&store_, &mock, &executor_, &clock_, &random_,
                     BrokerOptions{.refresh = policy_});
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

TEST_F(TokenBrokerTest, CallersPastMaxWaitersAreResourceExhaustedTheOthersShareTheExchange) {
  TokenBroker broker(&store_, &exchanger_, &executor_, &clock_, &random_,
                     BrokerOptions{.refresh = policy_, .max_waiters = 3});
  std::vector<Result> results(5);
  for (auto& r : results) broker.GetToken("acme", std::nullopt, r.Callback());
  // The two past the bound are answered at once, before any exchange runs.
  for (int i = 3; i < 5; ++i) {
    ASSERT_TRUE(results[i].value.has_value()) << i;
    EXPECT_EQ(results[i].value->status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(std::string(results[i].value->status().message()),
                ::testing::HasSubstr("--max-waiters-per-integration"));
  }
  executor_.RunAll();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(results[i].token(), "token-1") << i;
  EXPECT_EQ(exchanger_.calls(), 1);
  // Once served, callers are answered from the cache whatever the bound.
  Result later;
  broker.GetToken("acme", std::nullopt, later.Callback());
  EXPECT_EQ(later.token(), "token-1");
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
  EXPECT_FALSE(expired.value.has_value());  // waits for the retries
  Settle(expired);
  ASSERT_TRUE(expired.value.has_value());
  EXPECT_EQ(expired.value->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(expired.value->status().message()), HasSubstr("after 4 attempts"));
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

TEST_F(TokenBrokerTest, NewSecretInTheStoreMintsANewTokenAtTheNextCall) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  Integration changed = store_.Get("acme").value();
  changed.credentials.client_secrets[0] = SecretString(std::string("rotated"));
  ASSERT_TRUE(store_.Update(changed, changed.etag).ok());  // the feed tells the broker
  EXPECT_EQ(Get("acme").token(), "token-2");
  EXPECT_EQ(exchanger_.calls(), 2);
}

TEST_F(TokenBrokerTest, RenameInTheStoreKeepsTheCachedToken) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  Integration renamed = store_.Get("acme").value();
  renamed.display_name = "ACME, renamed";
  ASSERT_TRUE(store_.Update(renamed, renamed.etag).ok());
  EXPECT_EQ(Get("acme").token(), "token-1");  // same settings digest: reused
  EXPECT_EQ(exchanger_.calls(), 1);
}

TEST_F(TokenBrokerTest, DisablingInTheStoreStopsServingTheCachedToken) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  Integration disabled = store_.Get("acme").value();
  disabled.state = IntegrationState::kDisabled;
  ASSERT_TRUE(store_.Update(disabled, disabled.etag).ok());
  Result r = Get("acme");
  EXPECT_EQ(r.value->status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(broker_->cached_integrations(), 0);
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
  Settle(r);
  ASSERT_TRUE(r.value.has_value());
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
  ASSERT_TRUE(store_.Delete("acme", "").ok());  // the feed tells the broker
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
  TokenBroker restarted(&store_, &exchanger_, &executor_, &clock_, &random_,
                        BrokerOptions{.refresh = policy_});
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
  TokenBroker broker(&store_, &exchanger, &executor_, &clock_, &random,
                     BrokerOptions{.refresh = policy});
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

TEST_F(TokenBrokerTest, ResyncKeepsServingTheCachedTokenWhileItLooksAgain) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  broker_->OnStoreChange({StoreChange::Kind::kResync, ""});
  Result during;
  broker_->GetToken("acme", std::nullopt, during.Callback());
  ASSERT_TRUE(during.value.has_value()) << "served inline from the cache";
  EXPECT_EQ(during.token(), "token-1");
  executor_.RunAll();  // the look again: same settings, token kept
  EXPECT_EQ(Get("acme").token(), "token-1");
  EXPECT_EQ(exchanger_.calls(), 1);
}

TEST_F(TokenBrokerTest, OwnTokenAnnouncedByTheFeedCostsNoStoreRead) {
  ASSERT_EQ(Get("acme").token(), "token-1");
  StoreChange change{StoreChange::Kind::kToken, "acme"};
  change.token_expire_time = store_.GetToken("acme").value()->expire_time;
  broker_->OnStoreChange(change);
  EXPECT_EQ(executor_.pending(), 0u) << "already held: nothing to read";
}

// ---- Backoff: kept per integration, owned by the scheduler ----------------

TEST_F(TokenBrokerTest, CallersArrivingDuringABackoffWaitForTheRetryAndStartNoExchange) {
  exchanger_.FailWith(absl::UnavailableError("IMS 503"));
  Result first;
  broker_->GetToken("acme", std::nullopt, first.Callback());
  executor_.RunAll();
  ASSERT_EQ(exchanger_.calls(), 1);
  EXPECT_FALSE(first.value.has_value()) << "waits for the retry";
  std::vector<Result> later(100);
  for (Result& r : later) broker_->GetToken("acme", std::nullopt, r.Callback());
  executor_.RunAll();
  EXPECT_EQ(exchanger_.calls(), 1) << "callers during a backoff start no exchange";
  EXPECT_EQ(executor_.pending(), 0u) << "no thread waits: the scheduler holds the retry";

  exchanger_.FailWith(absl::OkStatus());
  Settle(first);
  ASSERT_TRUE(first.value.has_value());
  EXPECT_EQ(first.token(), "token-1");
  for (const Result& r : later) EXPECT_EQ(r.token(), "token-1");
  EXPECT_EQ(exchanger_.calls(), 2);
}

TEST_F(TokenBrokerTest, RetryAfterHoldsBackEveryExchangeUntilItPasses) {
  exchanger_.FailWith(WithRetryDelay(absl::UnavailableError("IMS 429"), absl::Seconds(5)));
  Result first;
  broker_->GetToken("acme", std::nullopt, first.Callback());
  executor_.RunAll();
  ASSERT_EQ(exchanger_.calls(), 1);
  exchanger_.FailWith(absl::OkStatus());
  clock_.Advance(absl::Milliseconds(4999));
  Result eager;
  broker_->GetToken("acme", std::nullopt, eager.Callback());
  broker_->Refresh("acme", [](absl::StatusOr<SnapshotPtr>) {});
  broker_->RunDueRefreshes();
  executor_.RunAll();
  EXPECT_EQ(exchanger_.calls(), 1) << "nothing goes to IMS before Retry-After allows";
  clock_.Advance(absl::Milliseconds(1));
  broker_->RunDueRefreshes();
  executor_.RunAll();
  EXPECT_EQ(exchanger_.calls(), 2);
  EXPECT_EQ(first.token(), "token-1");
  EXPECT_EQ(eager.token(), "token-1");
}

TEST_F(TokenBrokerTest, RetryAfterLongerThanACallerWaitsFailsItAtOnceWithRetryInfo) {
  exchanger_.FailWith(WithRetryDelay(absl::UnavailableError("IMS 429"), absl::Minutes(5)));
  Result r = Get("acme");
  ASSERT_TRUE(r.value.has_value());
  EXPECT_EQ(r.value->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetRetryDelay(r.value->status()), absl::Minutes(5));
  Result again = Get("acme");
  ASSERT_TRUE(again.value.has_value());
  EXPECT_EQ(again.value->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(exchanger_.calls(), 1) << "the second caller did not reach IMS";
}

// Records when each exchange happened, by the fake clock.
class RecordingExchanger final : public TokenExchanger {
 public:
  RecordingExchanger(TokenExchanger* inner, const Clock* clock) : inner_(inner), clock_(clock) {}
  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override {
    times.push_back(clock_->Now());
    return inner_->Exchange(integration);
  }
  std::vector<absl::Time> times;

 private:
  TokenExchanger* const inner_;
  const Clock* const clock_;
};

TEST_F(TokenBrokerTest, DuringAnOutageImsSeesOneRequestPerBackoffIntervalWhateverCallersDo) {
  RecordingExchanger recording(&exchanger_, &clock_);
  BitGenRandomSource random;
  TokenBroker broker(&store_, &recording, &executor_, &clock_, &random,
                     BrokerOptions{.refresh = policy_});
  exchanger_.FailWith(absl::UnavailableError("IMS 503"));
  const absl::Time start = clock_.Now();
  // A minute of outage, a caller every 50 ms (each waits through at most 4
  // attempts, then the next one comes).
  while (clock_.Now() < start + absl::Minutes(1)) {
    broker.GetToken("acme", std::nullopt, [](absl::StatusOr<SnapshotPtr>) {});
    broker.RunDueRefreshes();
    executor_.RunAll();
    clock_.Advance(absl::Milliseconds(50));
  }
  ASSERT_GE(recording.times.size(), 5u);
  EXPECT_LE(recording.times.size(), 20u) << "1,200 callers, a handful of IMS requests";
  // Each gap is at least half the backoff cap of that failure count.
  for (size_t i = 1; i < recording.times.size(); ++i) {
    absl::Duration cap =
        std::min(policy_.failure_backoff_initial * (1 << std::min<size_t>(i - 1, 20)),
                 policy_.failure_backoff_max);
    EXPECT_GE(recording.times[i] - recording.times[i - 1], cap / 2 - absl::Milliseconds(50))
        << "request " << i;
  }
}

TEST_F(TokenBrokerTest, AWatchedIntegrationKeepsRetryingInTheBackgroundUntilImsIsBack) {
  broker_->Watch("acme", [](absl::StatusOr<SnapshotPtr>) {});
  exchanger_.FailWith(absl::UnavailableError("IMS 503"));
  Result r;
  broker_->GetToken("acme", std::nullopt, r.Callback());
  Settle(r);
  EXPECT_EQ(r.value->status().code(), absl::StatusCode::kUnavailable);
  const int failed = exchanger_.calls();
  exchanger_.FailWith(absl::OkStatus());
  for (int i = 0; i < 10 && broker_->cached_integrations() == 0; ++i) {
    absl::Time next = broker_->RunDueRefreshes();
    executor_.RunAll();
    next = broker_->RunDueRefreshes();
    executor_.RunAll();
    if (next != absl::InfiniteFuture()) clock_.Set(std::max(next, clock_.Now()));
  }
  EXPECT_EQ(broker_->cached_integrations(), 1);
  EXPECT_EQ(exchanger_.calls(), failed + 1);
}

}  // namespace
}  // namespace tokenbroker
