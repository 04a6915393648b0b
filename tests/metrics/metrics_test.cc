// Metrics: what an operator scrapes, recorded through the API's calls and
// the broker's observer interface, and the store decorator's error counts.
#include "server/metrics/metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "server/metrics/instrumented_store.h"
#include "server/store/memory_credential_store.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGet[] = "/tokenbroker.v1.TokenService/GetAccessToken";

TEST(MetricsTest, RecordRpcCountsByMethodAndCodeAndUnknownMethodsAsOther) {
  Metrics metrics({kGet});
  metrics.RecordRpc(kGet, absl::StatusCode::kOk);
  metrics.RecordRpc(kGet, absl::StatusCode::kOk);
  metrics.RecordRpc(kGet, absl::StatusCode::kNotFound);
  metrics.RecordRpc("/not.a.Service/Method", absl::StatusCode::kOk);
  std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("tokenbroker_grpc_requests_total{code=\"ok\",method=\"" +
                              std::string(kGet) + "\"} 2"));
  EXPECT_THAT(text, HasSubstr("code=\"not_found\",method=\"" + std::string(kGet) + "\"} 1"));
  EXPECT_THAT(text, HasSubstr("method=\"other\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("not.a.Service")));
}

TEST(MetricsTest, BrokerObserverCallsReachTheirFamiliesWithReasonsNotMessages) {
  Metrics metrics({});
  BrokerObserver& observer = metrics;
  observer.OnImsExchange("oauth_s2s", absl::Milliseconds(30), absl::OkStatus());
  absl::Status rejected = WithErrorInfo(
      absl::FailedPreconditionError("IMS said invalid_client for secret s3cr3t-in-message"),
      "IMS_REJECTED", {});
  observer.OnImsExchange("jwt", absl::Milliseconds(5), rejected);
  observer.OnRefresh(RefreshTrigger::kCold, absl::OkStatus());
  observer.OnRefresh(RefreshTrigger::kScheduled, absl::UnavailableError("IMS down"));
  observer.OnReplicaEvent("adopted");
  std::string text = metrics.Render();
  EXPECT_THAT(text,
              HasSubstr("tokenbroker_ims_exchanges_total{flow=\"oauth_s2s\",result=\"ok\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("tokenbroker_ims_exchanges_total{flow=\"jwt\",result=\"ims_rejected\"} 1"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_ims_exchange_duration_seconds_count{flow=\"jwt\"} 1"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_refreshes_total{trigger=\"cold\"} 1"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_refresh_failures_total{reason=\"unavailable\","
                              "trigger=\"scheduled\"} 1"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_replica_events_total{event=\"adopted\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("s3cr3t")));
}

TEST(MetricsTest, CacheFamiliesAreReadFromTheSourceAtEachScrape) {
  Metrics metrics({});
  int scrapes = 0;
  metrics.SetCacheSource([&] {
    ++scrapes;
    CacheSample sample;
    sample.hits = 7;
    sample.misses = 2;
    sample.entries = 1;
    sample.tokens.emplace_back("acme", absl::Now() + absl::Hours(1));
    return sample;
  });
  std::string text = metrics.Render();
  EXPECT_EQ(scrapes, 1);
  EXPECT_THAT(text, HasSubstr("tokenbroker_cache_hits_total 7"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_cache_misses_total 2"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_cache_entries 1"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_token_expiry_seconds{integration=\"acme\"} 3"));
  metrics.Render();
  EXPECT_EQ(scrapes, 2);
}

TEST(MetricsTest, ClientSecretFamiliesComeFromTheRotationReading) {
  Metrics metrics({});
  const absl::Time rotated = absl::FromUnixSeconds(1'790'000'000);
  const absl::Time stored = absl::Now() - absl::Hours(48);  // the age is read at the scrape
  metrics.SetClientSecretSource([&] {
    ClientSecretReading reading;
    reading.checks = 12;
    reading.samples.push_back({"acme", stored, rotated});
    reading.samples.push_back({"legacy", absl::InfinitePast(), absl::InfinitePast()});
    return reading;
  });
  metrics.RecordSecretRotation("waiting");
  metrics.RecordSecretRotation("failed");
  std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("tokenbroker_secret_rotation_checks_total 12"));
  EXPECT_THAT(
      text, HasSubstr("tokenbroker_client_secret_oldest_age_seconds{integration=\"acme\"} 17280"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_client_secret_last_rotation_timestamp_seconds{"
                              "integration=\"acme\"} 1790000000"));
  // Unknown times have no sample rather than a misleading 0.
  EXPECT_THAT(text, Not(HasSubstr("integration=\"legacy\"")));
  EXPECT_THAT(text, HasSubstr("tokenbroker_secret_rotations_total{result=\"waiting\"} 1"));
  EXPECT_THAT(text, HasSubstr("tokenbroker_secret_rotations_total{result=\"failed\"} 1"));
}

TEST(MetricsTest, ReadyGaugeFollowsSetReady) {
  Metrics metrics({});
  metrics.SetReady(true);
  EXPECT_THAT(metrics.Render(), HasSubstr("tokenbroker_ready 1"));
  metrics.SetReady(false);
  EXPECT_THAT(metrics.Render(), HasSubstr("tokenbroker_ready 0"));
}

// Every call fails with UNAVAILABLE: a database that is down.
class DownStore final : public CredentialStore {
 public:
  absl::StatusOr<Integration> Create(const Integration&) override { return Down(); }
  absl::StatusOr<Integration> Get(absl::string_view) override { return Down(); }
  absl::StatusOr<IntegrationPage> List(int, absl::string_view) override { return Down(); }
  absl::StatusOr<Integration> Update(const Integration&, absl::string_view) override {
    return Down();
  }
  absl::Status Delete(absl::string_view, absl::string_view) override { return Down(); }
  absl::StatusOr<std::vector<Integration>> WriteAll(const std::vector<IntegrationWrite>&) override {
    return Down();
  }
  absl::Status PutToken(absl::string_view, const AccessToken&) override { return Down(); }
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view) override { return Down(); }
  void SetChangeListener(StoreChangeListener) override {}

 private:
  static absl::Status Down() { return absl::UnavailableError("postgres: connection refused"); }
};

TEST(InstrumentedStoreTest, CountsBackendFailuresByOperationAndCode) {
  Metrics metrics({});
  DownStore down;
  InstrumentedCredentialStore store(&down, &metrics);
  EXPECT_TRUE(absl::IsUnavailable(store.Get("acme").status()));
  EXPECT_TRUE(absl::IsUnavailable(store.GetWithToken("acme").status()));
  EXPECT_TRUE(absl::IsUnavailable(store.PutToken("acme", AccessToken())));
  std::string text = metrics.Render();
  EXPECT_THAT(
      text, HasSubstr("tokenbroker_store_errors_total{code=\"unavailable\",operation=\"get\"} 1"));
  EXPECT_THAT(text, HasSubstr("operation=\"get_with_token\"} 1"));
  EXPECT_THAT(text, HasSubstr("operation=\"put_token\"} 1"));
}

TEST(InstrumentedStoreTest, AnswersLikeNotFoundAndAbortedAreNotStoreErrors) {
  Metrics metrics({});
  InMemoryCredentialStore memory;
  InstrumentedCredentialStore store(&memory, &metrics);
  EXPECT_TRUE(absl::IsNotFound(store.Get("nope").status()));
  Integration integration;
  integration.id = "acme";
  absl::StatusOr<Integration> created = store.Create(integration);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(absl::IsAborted(store.Update(*created, "stale-etag").status()));
  EXPECT_THAT(metrics.Render(), Not(HasSubstr("tokenbroker_store_errors_total{")));
}

TEST(InstrumentedStoreTest, TheChangeFeedPassesThrough) {
  Metrics metrics({});
  InMemoryCredentialStore memory;
  InstrumentedCredentialStore store(&memory, &metrics);
  int changes = 0;
  store.SetChangeListener([&](const StoreChange&) { ++changes; });
  Integration integration;
  integration.id = "acme";
  ASSERT_TRUE(memory.Create(integration).ok());
  EXPECT_EQ(changes, 1);
}

}  // namespace
}  // namespace tokenbroker
