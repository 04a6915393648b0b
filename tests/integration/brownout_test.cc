// IMS failing for some integrations, or for all of them, as an operator
// would see it: the real tokenbroker binary and the emulator on loopback.
//
// - A brownout: integrations whose IMS hangs must not hold up a healthy
//   integration's first token (no exchange thread waits behind them).
// - An outage: whatever the callers do, each integration asks IMS no more
//   than once per backoff interval, and never before Retry-After allows.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

constexpr char kSecret[] = "brownout-secret-5c1e";

nlohmann::json Client(const std::string& client_id) {
  return {{"client_id", client_id},
          {"client_secrets", {kSecret}},
          {"org_id", "ORG1@AdobeOrg"},
          {"technical_account_id", "TECH1@techacct.adobe.com"},
          {"scopes", {"openid", "AdobeID"}}};
}

class BrownoutTest : public ::testing::Test {
 protected:
  void StartStack(const std::vector<std::string>& client_ids,
                  std::vector<std::string> broker_flags) {
    std::vector<nlohmann::json> clients;
    for (const std::string& id : client_ids) clients.push_back(Client(id));
    // Enough emulator threads to hold every hanging request at once.
    auto ims = ImsEmulatorProcess::Start(clients, {"--threads=96"});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    broker_flags.push_back("--ims-url=" + ims_->url());
    broker_flags.push_back("--ims-ca-file=" + ims_->ca_file());
    auto broker = BrokerProcess::Start(broker_flags);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    for (const std::string& id : client_ids) {
      grpc::ClientContext ctx;
      v1::CreateIntegrationResponse response;
      grpc::Status created = broker_->integrations()->CreateIntegration(
          &ctx, OAuthIntegration(id, id, kSecret, ""), &response);
      ASSERT_TRUE(created.ok()) << created.error_message();
    }
  }

  grpc::Status GetToken(const std::string& id, absl::Duration deadline = absl::Seconds(60)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + id);
    v1::GetAccessTokenResponse response;
    return broker_->tokens()->GetAccessToken(&ctx, request, &response);
  }

  void TearDown() override {
    if (broker_ == nullptr) return;
    std::string log = broker_->log();
    EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr(kSecret)));
    EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("eyJ")));  // no access token (JWT)
  }

  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(BrownoutTest, HealthyColdIntegrationIsNotQueuedBehindThirtyHangingOnes) {
  std::vector<std::string> ids = {"baseline", "healthy"};
  std::vector<std::string> hanging;
  for (int i = 0; i < 30; ++i) hanging.push_back(absl::StrCat("hanging-", i));
  ids.insert(ids.end(), hanging.begin(), hanging.end());
  // The default 8 exchange threads: the pool grows past them.
  StartStack(ids, {"--ims-timeout=2s"});

  // The healthy integration's own IMS latency, measured on a twin.
  absl::Time start = absl::Now();
  ASSERT_TRUE(GetToken("baseline").ok());
  const absl::Duration ims_latency = absl::Now() - start;

  // IMS hangs (10 s, past --ims-timeout) for the 30: all asked at once.
  ims_->SetFaults({{"latency_ms", 10000}, {"clients", hanging}});
  std::vector<std::thread> callers;
  std::atomic<int> failed{0};
  for (const std::string& id : hanging) {
    callers.emplace_back([&, id] { failed += GetToken(id, absl::Seconds(20)).ok() ? 0 : 1; });
  }
  // Every exchange thread is blocked in a hanging request by now.
  WaitUntil([&] { return ims_->TokenRequests() >= 1 + 8; }, absl::Seconds(10),
            "8 hanging requests in flight at the emulator");

  start = absl::Now();
  grpc::Status healthy = GetToken("healthy");
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(healthy.ok()) << healthy.error_message();
  std::printf("brownout: healthy cold call %s (IMS latency %s), %d hanging requests in flight\n",
              absl::FormatDuration(elapsed).c_str(), absl::FormatDuration(ims_latency).c_str(),
              ims_->TokenRequests() - 2);
  // Queued behind the hanging ones it would wait for --ims-timeout (2 s); the bound is 100 ms
  // (400 ms under a sanitizer, still far from 2 s).
  EXPECT_LE(elapsed, ims_latency + absl::Milliseconds(100) * kSanitizerSlowdown);
  for (auto& t : callers) t.join();
  EXPECT_EQ(failed.load(), 30) << "the hanging integrations time out (UNAVAILABLE)";
}

// Gaps between consecutive IMS requests of one integration.
std::vector<absl::Duration> Gaps(const std::vector<absl::Time>& arrivals) {
  std::vector<absl::Duration> gaps;
  for (size_t i = 1; i < arrivals.size(); ++i) gaps.push_back(arrivals[i] - arrivals[i - 1]);
  return gaps;
}

TEST_F(BrownoutTest, DuringAMinuteOfOutageEachIntegrationFollowsItsBackoff) {
  StartStack({"busy", "asked-once"}, {});
  ims_->SetFaults({{"down", true}});
  // 8 callers hammer "busy", which has no token yet (each waits through a
  // few retries, then calls again); "asked-once" is asked once and left.
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::vector<std::thread> callers;
  const absl::Time end = absl::Now() + absl::Minutes(1);
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      while (!stop && absl::Now() < end) {
        GetToken("busy", absl::Seconds(5)).ok();  // min validity unmet: fails or waits
        ++calls;
      }
    });
  }
  GetToken("asked-once", absl::Seconds(5)).ok();
  for (auto& t : callers) t.join();
  std::vector<absl::Time> busy = ims_->Arrivals("busy");
  std::vector<absl::Time> once = ims_->Arrivals("asked-once");
  std::printf("outage: %d calls in 60 s; IMS requests: busy %zu, asked-once %zu\n", calls.load(),
              busy.size(), once.size());
  EXPECT_LE(once.size(), 4u) << "--ims-max-attempts, then nobody asks: no more requests";
  ASSERT_GE(busy.size(), 5u);
  // Backoff: 250 ms doubling to 60 s, times a jitter in [0.5, 1): gap n is
  // at least half of min(250 ms * 2^(n-1), 60 s), whatever the callers do.
  std::vector<absl::Duration> gaps = Gaps(busy);
  for (size_t n = 0; n < gaps.size(); ++n) {
    absl::Duration floor =
        std::min(absl::Milliseconds(250) * (1 << std::min<size_t>(n, 20)), absl::Seconds(60)) / 2;
    EXPECT_GE(gaps[n], floor - absl::Milliseconds(20)) << "gap " << n;
  }
  EXPECT_LE(busy.size(), 16u) << "about log2(60 s / 250 ms) + a few";
  stop = true;
}

TEST_F(BrownoutTest, NoRequestComesSoonerThanRetryAfterAllows) {
  StartStack({"limited"}, {});
  ims_->SetFaults({{"rate_429", 1.0}, {"retry_after_seconds", 2}});
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  const absl::Time end = absl::Now() + absl::Seconds(12);
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!stop && absl::Now() < end) GetToken("limited", absl::Seconds(3)).ok();
    });
  }
  for (auto& t : callers) t.join();
  std::vector<absl::Time> arrivals = ims_->Arrivals("limited");
  std::printf("429s: %zu IMS requests in 12 s with Retry-After: 2\n", arrivals.size());
  ASSERT_GE(arrivals.size(), 3u);
  for (absl::Duration gap : Gaps(arrivals)) {
    EXPECT_GE(gap, absl::Seconds(2) - absl::Milliseconds(20));
  }
  stop = true;
}

}  // namespace
}  // namespace tokenbroker::testing
