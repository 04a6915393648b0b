// TokenSource against the real tokenbroker binary and ims-emulator.
#include "tokenbroker/client/token_source.h"

#include <atomic>
#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sdk_stack.h"
#include "tokenbroker/client/error.h"

namespace tokenbroker::client::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

// Polls `condition` every 20 ms until it holds or `timeout` passes: for what
// the broker or the source's thread makes true in their own time.
template <typename Condition>
bool WaitFor(absl::Duration timeout, Condition condition) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

// A clock that moves only when the test moves it, for TokenSourceOptions::now:
// the source's freshness decisions happen at the instants the test chooses.
class FakeClock {
 public:
  FakeClock() : now_(absl::Now()) {}
  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }
  std::function<absl::Time()> AsFunction() {
    return [this] { return Now(); };
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

class TokenSourceTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& broker_flags = {}) {
    auto stack = SdkStack::Start(broker_flags);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    auto client = Client::New(stack_->PlaintextOptions());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::unique_ptr<TokenSource> NewSource(const std::string& id, TokenSourceOptions options = {}) {
    auto source = TokenSource::New(client_, id, options);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? *std::move(source) : nullptr;
  }

  std::unique_ptr<SdkStack> stack_;
  std::shared_ptr<Client> client_;
};

TEST_F(TokenSourceTest, TokenServesFromCacheWithoutFurtherCalls) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  std::unique_ptr<TokenSource> source = NewSource("billing");

  absl::StatusOr<AccessToken> first = source->Token();
  ASSERT_TRUE(first.ok()) << first.status();
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<AccessToken> again = source->Token();
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->token, first->token);
  }

  TokenSourceStats stats = source->stats();
  EXPECT_LE(stats.fallback_calls, 1u);  // 0 when the stream was first
  EXPECT_GE(stats.cache_hits, 1000u);
  EXPECT_EQ(stack_->ims().Exchanges(kLongClient), 1);
}

TEST_F(TokenSourceTest, TokenFollowsRotationOnStreamWhenLifetimeIsThreeSeconds) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  std::unique_ptr<TokenSource> source = NewSource("billing");
  absl::StatusOr<AccessToken> first = source->Token();
  ASSERT_TRUE(first.ok()) << first.status();

  // The broker refreshes at ~75 % of 3 s and pushes the new token.
  int expired = 0;
  absl::Status error;
  EXPECT_TRUE(WaitFor(absl::Seconds(5), [&] {
    absl::StatusOr<AccessToken> token = source->Token();
    if (!token.ok()) error = token.status();
    if (token.ok() && token->expire_time <= absl::Now()) ++expired;
    return token.ok() && token->token != first->token;
  })) << "no new token within 5 s";

  EXPECT_TRUE(error.ok()) << error;
  EXPECT_EQ(expired, 0) << "served an expired token";
  TokenSourceStats stats = source->stats();
  EXPECT_GE(stats.watch_tokens, 2u);
  // Rotations came on the stream: at most the very first Token() called.
  EXPECT_LE(stats.fallback_calls, 1u);
  EXPECT_EQ(stats.watch_restarts, 0u);
}

// The freshness decisions, at instants a fake clock sets: the token is served
// from memory while it has the minimum validity left, and GetAccessToken is
// called as soon as it has less. (The broker runs on the real time, so it may
// answer with the same token: these tests are about when the source asks.)

TEST_F(TokenSourceTest, TokenCallsGetAccessTokenWhenLessThanATenthOfLifetimeLeft) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  FakeClock clock;
  TokenSourceOptions options;
  options.watch = false;
  options.now = clock.AsFunction();
  std::unique_ptr<TokenSource> source = NewSource("billing", options);
  absl::StatusOr<AccessToken> first = source->Token();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(source->stats().fallback_calls, 1u);
  // Default min validity: 10 % of the 3 s lifetime.
  absl::Duration min_validity = (first->expire_time - first->issue_time) / 10;

  clock.Set(first->expire_time - min_validity - absl::Milliseconds(1));
  absl::StatusOr<AccessToken> cached = source->Token();
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->token, first->token);
  EXPECT_EQ(source->stats().fallback_calls, 1u);

  clock.Set(first->expire_time - min_validity + absl::Milliseconds(1));
  absl::StatusOr<AccessToken> fetched = source->Token();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(source->stats().fallback_calls, 2u);
}

TEST_F(TokenSourceTest, TokenCallsGetAccessTokenWhenLessThanSixtySecondsLeftOfLongToken) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  FakeClock clock;
  TokenSourceOptions options;
  options.watch = false;
  options.now = clock.AsFunction();
  std::unique_ptr<TokenSource> source = NewSource("billing", options);
  absl::StatusOr<AccessToken> first = source->Token();
  ASSERT_TRUE(first.ok()) << first.status();

  // One hour: a tenth would be 6 min, the default caps it at 60 s.
  clock.Set(first->expire_time - absl::Seconds(61));
  ASSERT_TRUE(source->Token().ok());
  EXPECT_EQ(source->stats().fallback_calls, 1u);
  EXPECT_EQ(source->stats().cache_hits, 1u);

  clock.Set(first->expire_time - absl::Seconds(59));
  ASSERT_TRUE(source->Token().ok());
  EXPECT_EQ(source->stats().fallback_calls, 2u);
}

TEST_F(TokenSourceTest, TokenHonoursExplicitMinRemainingValidity) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  FakeClock clock;
  TokenSourceOptions options;
  options.watch = false;
  options.min_remaining_validity = absl::Seconds(2);
  options.now = clock.AsFunction();
  std::unique_ptr<TokenSource> source = NewSource("billing", options);
  absl::StatusOr<AccessToken> first = source->Token();
  ASSERT_TRUE(first.ok()) << first.status();

  clock.Set(first->expire_time - absl::Seconds(2) - absl::Milliseconds(1));
  ASSERT_TRUE(source->Token().ok());
  EXPECT_EQ(source->stats().fallback_calls, 1u);

  clock.Set(first->expire_time - absl::Seconds(2) + absl::Milliseconds(1));
  absl::StatusOr<AccessToken> second = source->Token();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(source->stats().fallback_calls, 2u);
  // The fallback asked the broker for 2 s of validity too (on its clock).
  EXPECT_GE(second->expire_time - absl::Now(), absl::Milliseconds(1900));
}

TEST_F(TokenSourceTest, ConcurrentCallersShareOneFallbackCall) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  TokenSourceOptions options;
  options.watch = false;
  std::unique_ptr<TokenSource> source = NewSource("billing", options);

  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 200; ++j) {
        if (source->Token().ok()) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(ok.load(), 16 * 200);
  EXPECT_EQ(source->stats().fallback_calls, 1u);
}

TEST_F(TokenSourceTest, ConcurrentCallersNeverSeeExpiredTokenAcrossRotations) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  std::unique_ptr<TokenSource> source = NewSource("billing");

  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  absl::Time end = absl::Now() + absl::Seconds(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (absl::Now() < end) {
        absl::StatusOr<AccessToken> token = source->Token();
        if (!token.ok() || token->expire_time <= absl::Now()) bad.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(source->stats().watch_tokens, 2u);
}

TEST_F(TokenSourceTest, TokenIsNotFoundWhenIntegrationUnknown) {
  Start();
  std::unique_ptr<TokenSource> source = NewSource("nobody");

  absl::StatusOr<AccessToken> token = source->Token();

  EXPECT_EQ(token.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(GetError(token.status()).reason, kReasonIntegrationNotFound);
}

TEST_F(TokenSourceTest, TokenIsFailedPreconditionWhenSecretWrong) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, "wrong").ok());
  std::unique_ptr<TokenSource> source = NewSource("billing");

  absl::StatusOr<AccessToken> token = source->Token();

  ASSERT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  TokenbrokerError error = GetError(token.status());
  EXPECT_EQ(error.ims_error, "invalid_client");
  EXPECT_FALSE(error.x_debug_id.empty());
}

TEST_F(TokenSourceTest, CachedTokenOutlivesImsOutageUntilMinValidity) {
  Start({"--ims-max-attempts=1"});
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  std::unique_ptr<TokenSource> source = NewSource("billing");
  ASSERT_TRUE(source->Token().ok());

  stack_->ims().SetFaults({{"down", true}});
  absl::StatusOr<AccessToken> during = source->Token();

  EXPECT_TRUE(during.ok()) << during.status();
}

TEST_F(TokenSourceTest, TokenIsUnavailableWhenImsDownAndNothingCached) {
  Start({"--ims-max-attempts=1"});
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  stack_->ims().SetFaults({{"down", true}});
  std::unique_ptr<TokenSource> source = NewSource("billing");

  absl::StatusOr<AccessToken> token = source->Token();

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
  stack_->ims().SetFaults(nlohmann::json::object());
  // The watch reconnects with backoff; Token() does not need it to.
  absl::StatusOr<AccessToken> later = source->Token();
  EXPECT_TRUE(later.ok()) << later.status();
}

TEST_F(TokenSourceTest, TokenIsNotFoundAfterDeleteAndRecoversWhenIntegrationRecreated) {
  // The stream ends with NOT_FOUND on delete: the cached token is dropped,
  // the watch reconnects with backoff and picks up the new integration.
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  TokenSourceOptions options;
  options.watch_initial_backoff = absl::Milliseconds(50);
  options.watch_max_backoff = absl::Milliseconds(100);
  std::unique_ptr<TokenSource> source = NewSource("billing", options);
  ASSERT_TRUE(source->Token().ok());
  ASSERT_TRUE(WaitFor(absl::Seconds(2), [&] { return source->stats().watch_tokens >= 1; }));

  ASSERT_TRUE(stack_->DeleteIntegration(*client_, "billing").ok());
  ASSERT_TRUE(WaitFor(absl::Seconds(2), [&] { return source->stats().watch_restarts >= 1; }));
  EXPECT_EQ(source->Token().status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  uint64_t before = source->stats().watch_tokens;
  EXPECT_TRUE(WaitFor(absl::Seconds(3), [&] { return source->stats().watch_tokens > before; }));
  EXPECT_TRUE(source->Token().ok());
}

TEST_F(TokenSourceTest, HeadersCarryCurrentTokenAndAdobeHeaders) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  std::unique_ptr<TokenSource> source = NewSource("billing");

  absl::StatusOr<RequestHeaders> headers = source->Headers();
  ASSERT_TRUE(headers.ok()) << headers.status();
  ASSERT_THAT(headers->headers, SizeIs(3));
  absl::StatusOr<AccessToken> token = source->Token();
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(headers->headers[0].name, "Authorization");
  EXPECT_EQ(headers->headers[0].value, "Bearer " + token->token);
  EXPECT_EQ(headers->headers[1].name, "x-api-key");
  EXPECT_EQ(headers->headers[1].value, kShortClient);
  EXPECT_EQ(headers->headers[2].name, "x-gw-ims-org-id");
  EXPECT_EQ(headers->headers[2].value, kOrgId);

  // After a rotation, Authorization follows the new token.
  ASSERT_TRUE(WaitFor(absl::Seconds(4), [&] {
    absl::StatusOr<AccessToken> now = source->Token();
    return now.ok() && now->token != token->token;
  }));
  absl::StatusOr<RequestHeaders> rotated = source->Headers();
  ASSERT_TRUE(rotated.ok());
  EXPECT_NE(rotated->headers[0].value, headers->headers[0].value);
  EXPECT_THAT(rotated->headers, SizeIs(3));
}

TEST_F(TokenSourceTest, DestructorReturnsPromptlyWhileWatching) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  std::unique_ptr<TokenSource> source = NewSource("billing");
  ASSERT_TRUE(source->Token().ok());
  ASSERT_TRUE(WaitFor(absl::Seconds(2), [&] { return source->stats().watch_tokens >= 1; }));

  absl::Time start = absl::Now();
  source.reset();

  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

TEST_F(TokenSourceTest, DestructorReturnsPromptlyDuringReconnectBackoff) {
  Start();
  TokenSourceOptions options;
  options.watch_initial_backoff = absl::Seconds(30);
  options.watch_max_backoff = absl::Seconds(30);
  std::unique_ptr<TokenSource> source = NewSource("nobody", options);
  ASSERT_TRUE(WaitFor(absl::Seconds(2), [&] { return source->stats().watch_restarts >= 1; }));

  absl::Time start = absl::Now();
  source.reset();

  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

TEST(TokenSourceNewTest, RejectsBadArguments) {
  ClientOptions client_options;
  client_options.plaintext = true;
  auto client = Client::New(client_options);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(TokenSource::New(nullptr, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenSource::New(*client, "").status().code(), absl::StatusCode::kInvalidArgument);
  TokenSourceOptions negative;
  negative.min_remaining_validity = absl::Seconds(-1);
  EXPECT_THAT(std::string(TokenSource::New(*client, "x", negative).status().message()),
              HasSubstr("min_remaining_validity"));
}

}  // namespace
}  // namespace tokenbroker::client::testing
