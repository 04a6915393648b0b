#include "server/ims/retrying_exchanger.h"

#include <deque>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ims/dispatching_exchanger.h"
#include "tests/ims/test_util.h"
#include "tests/testing/fake_clock.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using testing::ErrorReason;
using testing::FakeClock;
using testing::FakeSleeper;
using ::testing::HasSubstr;

// Answers from a script; counts calls. Not thread-safe (single-threaded tests).
class ScriptedExchanger final : public TokenExchanger {
 public:
  explicit ScriptedExchanger(std::deque<absl::StatusOr<AccessToken>> script, int* calls)
      : script_(std::move(script)), calls_(calls) {}
  absl::StatusOr<AccessToken> Exchange(const Integration&) override {
    ++*calls_;
    if (script_.empty()) return absl::UnavailableError("script exhausted");
    auto r = std::move(script_.front());
    script_.pop_front();
    return r;
  }

 private:
  std::deque<absl::StatusOr<AccessToken>> script_;
  int* calls_;
};

class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(double v) : v_(v) {}
  double Uniform01() override { return v_; }

 private:
  double v_;
};

absl::Status Unavailable() {
  return WithErrorInfo(absl::UnavailableError("IMS unavailable: HTTP 503"), kReasonImsUnavailable);
}

AccessToken Token() {
  AccessToken t;
  t.access_token = SecretString(std::string("t"));
  return t;
}

class RetryingExchangerTest : public ::testing::Test {
 protected:
  std::unique_ptr<RetryingExchanger> Make(std::deque<absl::StatusOr<AccessToken>> script,
                                          RetryPolicy policy = RetryPolicy(), double random = 0.5) {
    random_ = std::make_unique<FixedRandom>(random);
    return std::make_unique<RetryingExchanger>(
        std::make_unique<ScriptedExchanger>(std::move(script), &calls_), policy, &sleeper_,
        random_.get(), &clock_);
  }

  int calls_ = 0;
  FakeClock clock_;
  FakeSleeper sleeper_{&clock_};
  std::unique_ptr<FixedRandom> random_;
  Integration integration_ = testing::S2SIntegration();
};

TEST_F(RetryingExchangerTest, SuccessAfterTransientFailuresSleepsWithJitteredBackoff) {
  auto exchanger = Make({Unavailable(), Unavailable(), Token()});
  auto token = exchanger->Exchange(integration_);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(calls_, 3);
  // Full jitter with u = 0.5: half of 200 ms, then half of 400 ms.
  EXPECT_THAT(sleeper_.sleeps(), ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200)));
}

TEST_F(RetryingExchangerTest, GivesUpAfterMaxAttemptsWithLastStatus) {
  auto exchanger = Make({Unavailable(), Unavailable(), Unavailable(), Unavailable(), Token()});
  auto token = exchanger->Exchange(integration_);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(token.status()), kReasonImsUnavailable);
  EXPECT_THAT(token.status().message(), HasSubstr("after 4 attempts"));
  EXPECT_EQ(calls_, 4);
  EXPECT_EQ(sleeper_.sleeps().size(), 3u);
}

TEST_F(RetryingExchangerTest, BackoffIsBoundedByMaxBackoff) {
  RetryPolicy policy;
  policy.max_attempts = 10;
  policy.max_backoff = absl::Seconds(1);
  policy.max_total = absl::Hours(1);
  auto exchanger = Make({}, policy, /*random=*/0.999999);
  EXPECT_FALSE(exchanger->Exchange(integration_).ok());
  EXPECT_EQ(calls_, 10);
  ASSERT_EQ(sleeper_.sleeps().size(), 9u);
  for (absl::Duration d : sleeper_.sleeps()) {
    EXPECT_GE(d, absl::ZeroDuration());
    EXPECT_LE(d, absl::Seconds(1));
  }
  EXPECT_GT(sleeper_.sleeps().back(), absl::Milliseconds(999));
}

TEST_F(RetryingExchangerTest, NeverRetriesFailedPreconditionOrInvalidArgument) {
  for (absl::Status s :
       {WithErrorInfo(absl::FailedPreconditionError("rejected"), kReasonImsRejected),
        absl::InvalidArgumentError("bad key"), absl::InternalError("bug")}) {
    calls_ = 0;
    auto exchanger = Make({s, Token()});
    auto token = exchanger->Exchange(integration_);
    EXPECT_EQ(token.status().code(), s.code());
    EXPECT_EQ(calls_, 1);
  }
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(RetryingExchangerTest, HonoursRetryAfterWhenLongerThanBackoff) {
  auto exchanger = Make({WithRetryDelay(Unavailable(), absl::Seconds(5)), Token()});
  ASSERT_TRUE(exchanger->Exchange(integration_).ok());
  EXPECT_THAT(sleeper_.sleeps(), ElementsAre(absl::Seconds(5)));
}

TEST_F(RetryingExchangerTest, RetryAfterBeyondBudgetReturnsAtOnceKeepingRetryInfo) {
  auto exchanger = Make({WithRetryDelay(Unavailable(), absl::Seconds(60)), Token()});
  auto token = exchanger->Exchange(integration_);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetRetryDelay(token.status()), absl::Seconds(60));
  EXPECT_EQ(ErrorReason(token.status()), kReasonImsUnavailable);
  EXPECT_EQ(calls_, 1);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(RetryingExchangerTest, StopsWhenTotalBudgetWouldBeExceeded) {
  RetryPolicy policy;
  policy.max_attempts = 100;
  policy.max_total = absl::Seconds(12);
  auto exchanger = Make({WithRetryDelay(Unavailable(), absl::Seconds(5)),
                         WithRetryDelay(Unavailable(), absl::Seconds(5)),
                         WithRetryDelay(Unavailable(), absl::Seconds(5)), Token()},
                        policy);
  auto token = exchanger->Exchange(integration_);
  EXPECT_FALSE(token.ok());
  EXPECT_EQ(calls_, 3);  // 5 s + 5 s slept; a third sleep would pass 12 s
  EXPECT_THAT(sleeper_.sleeps(), ElementsAre(absl::Seconds(5), absl::Seconds(5)));
}

TEST_F(RetryingExchangerTest, MaxAttemptsOneMeansNoRetry) {
  RetryPolicy policy;
  policy.max_attempts = 1;
  auto exchanger = Make({Unavailable(), Token()}, policy);
  EXPECT_EQ(exchanger->Exchange(integration_).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls_, 1);
}

TEST(DispatchingExchangerTest, RoutesByAuthMethod) {
  int s2s_calls = 0, jwt_calls = 0;
  DispatchingExchanger exchanger(std::make_unique<ScriptedExchanger>(
                                     std::deque<absl::StatusOr<AccessToken>>{Token()}, &s2s_calls),
                                 std::make_unique<ScriptedExchanger>(
                                     std::deque<absl::StatusOr<AccessToken>>{Token()}, &jwt_calls));
  EXPECT_TRUE(exchanger.Exchange(testing::S2SIntegration()).ok());
  EXPECT_EQ(s2s_calls, 1);
  EXPECT_EQ(jwt_calls, 0);
  Integration jwt = testing::S2SIntegration();
  jwt.auth_method = AuthMethod::kJwt;
  EXPECT_TRUE(exchanger.Exchange(jwt).ok());
  EXPECT_EQ(jwt_calls, 1);
}

TEST(DispatchingExchangerTest, UnspecifiedIsInvalidArgumentAndMissingIsFailedPrecondition) {
  int calls = 0;
  DispatchingExchanger exchanger(
      std::make_unique<ScriptedExchanger>(std::deque<absl::StatusOr<AccessToken>>{}, &calls),
      nullptr);
  Integration integration = testing::S2SIntegration();
  integration.auth_method = AuthMethod::kUnspecified;
  EXPECT_EQ(exchanger.Exchange(integration).status().code(), absl::StatusCode::kInvalidArgument);
  integration.auth_method = AuthMethod::kJwt;
  EXPECT_EQ(exchanger.Exchange(integration).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace tokenbroker
