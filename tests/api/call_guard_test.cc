#include "server/api/call_guard.h"

#include <grpc/grpc_security_constants.h>

#include <map>
#include <string>
#include <vector>

#include "envoy/service/auth/v3/external_auth.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "tests/testing/fake_clock.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::tokenbroker::testing::FakeClock;

// ---- RefreshRateLimiter ----------------------------------------------------

TEST(RefreshRateLimiterTest, AcquireAllowsABurstOfMaxThenResourceExhaustedWithRetryInfo) {
  FakeClock clock;
  RefreshRateLimiter limiter(3, absl::Minutes(1), &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire("acme").ok()) << i;
  absl::Status limited = limiter.Acquire("acme");
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(limited.message()),
              HasSubstr("forced refreshes of integration 'acme' are limited to 3 per 1m"));
  EXPECT_THAT(std::string(limited.message()), HasSubstr("retry in 20s"));
  std::optional<absl::Duration> delay = GetRetryDelay(limited);
  ASSERT_TRUE(delay.has_value());
  EXPECT_EQ(*delay, absl::Seconds(20));  // one token refills in window / max
}

TEST(RefreshRateLimiterTest, AcquireRefillsContinuouslyWithTime) {
  FakeClock clock;
  RefreshRateLimiter limiter(2, absl::Seconds(10), &clock);
  ASSERT_TRUE(limiter.Acquire("acme").ok());
  ASSERT_TRUE(limiter.Acquire("acme").ok());
  ASSERT_FALSE(limiter.Acquire("acme").ok());
  clock.Advance(absl::Seconds(4));  // 0.8 of a token
  absl::Status still = limiter.Acquire("acme");
  EXPECT_EQ(still.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*GetRetryDelay(still), absl::Seconds(1));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.Acquire("acme").ok());
  EXPECT_FALSE(limiter.Acquire("acme").ok());
}

TEST(RefreshRateLimiterTest, AcquireNeverBanksMoreThanTheBurst) {
  FakeClock clock;
  RefreshRateLimiter limiter(2, absl::Seconds(10), &clock);
  ASSERT_TRUE(limiter.Acquire("acme").ok());
  clock.Advance(absl::Hours(24));
  EXPECT_TRUE(limiter.Acquire("acme").ok());
  EXPECT_TRUE(limiter.Acquire("acme").ok());
  EXPECT_EQ(limiter.Acquire("acme").code(), absl::StatusCode::kResourceExhausted);
}

TEST(RefreshRateLimiterTest, AcquireIsNotLockedOutWhenTheWallClockStepsBack) {
  // The limiter runs on the wall clock, which NTP may step backwards.
  FakeClock clock;
  RefreshRateLimiter limiter(2, absl::Minutes(1), &clock);
  ASSERT_TRUE(limiter.Acquire("acme").ok());
  clock.Advance(-absl::Hours(1));
  EXPECT_TRUE(limiter.Acquire("acme").ok());  // the second of the burst
  absl::Status limited = limiter.Acquire("acme");
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_LE(*GetRetryDelay(limited), absl::Seconds(30)) << "one token refills in 30 s";
}

TEST(RefreshRateLimiterTest, AcquireLimitsEachIntegrationSeparately) {
  FakeClock clock;
  RefreshRateLimiter limiter(1, absl::Hours(1), &clock);
  EXPECT_TRUE(limiter.Acquire("acme").ok());
  EXPECT_EQ(limiter.Acquire("acme").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter.Acquire("other").ok());
}

// ---- CertificateIdentity ---------------------------------------------------

using Properties = std::multimap<std::string, std::string>;

// Properties only; what a verified TLS peer would carry.
class FakeAuthContext final : public grpc::AuthContext {
 public:
  explicit FakeAuthContext(std::multimap<std::string, std::string> properties)
      : properties_(std::move(properties)) {}
  bool IsPeerAuthenticated() const override { return !properties_.empty(); }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(const std::string& name) const override {
    std::vector<grpc::string_ref> values;
    auto [begin, end] = properties_.equal_range(name);
    for (auto it = begin; it != end; ++it) {
      values.emplace_back(it->second.data(), it->second.size());
    }
    return values;
  }
  grpc::AuthPropertyIterator begin() const override { return EmptyIterator(); }
  grpc::AuthPropertyIterator end() const override { return EmptyIterator(); }
  void AddProperty(const std::string& key, const grpc::string_ref& value) override {
    properties_.emplace(key, std::string(value.data(), value.size()));
  }
  bool SetPeerIdentityPropertyName(const std::string&) override { return false; }

 private:
  struct EmptyIterator : grpc::AuthPropertyIterator {};
  std::multimap<std::string, std::string> properties_;
};

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----...";

TEST(CertificateIdentityTest, NoClientCertificateIsNullopt) {
  FakeAuthContext plaintext(Properties{});
  EXPECT_EQ(CertificateIdentity(plaintext), std::nullopt);
  // A server-side TLS peer without a client certificate carries no x509 data
  // even if other properties are set.
  FakeAuthContext no_cert(Properties{{GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, "ssl"},
                                     {GRPC_PEER_DNS_PROPERTY_NAME, "svc.example.org"}});
  EXPECT_EQ(CertificateIdentity(no_cert), std::nullopt);
}

TEST(CertificateIdentityTest, SpiffeUriSanWinsOverDnsSanAndCommonName) {
  FakeAuthContext auth(
      Properties{{GRPC_X509_PEM_CERT_PROPERTY_NAME, kPem},
                 {GRPC_X509_CN_PROPERTY_NAME, "cn"},
                 {GRPC_PEER_DNS_PROPERTY_NAME, "svc.example.org"},
                 {GRPC_PEER_URI_PROPERTY_NAME, "https://not-spiffe.example.org"},
                 {GRPC_PEER_URI_PROPERTY_NAME, "spiffe://example.org/ns/billing/sa/api"}});
  EXPECT_EQ(CertificateIdentity(auth), "spiffe://example.org/ns/billing/sa/api");
}

TEST(CertificateIdentityTest, FirstDnsSanWinsOverCommonNameWithoutSpiffeUri) {
  FakeAuthContext auth(Properties{{GRPC_X509_PEM_CERT_PROPERTY_NAME, kPem},
                                  {GRPC_X509_CN_PROPERTY_NAME, "cn"},
                                  {GRPC_PEER_URI_PROPERTY_NAME, "https://not-spiffe.example.org"},
                                  {GRPC_PEER_DNS_PROPERTY_NAME, "first.example.org"},
                                  {GRPC_PEER_DNS_PROPERTY_NAME, "second.example.org"}});
  EXPECT_EQ(CertificateIdentity(auth), "first.example.org");
}

TEST(CertificateIdentityTest, CommonNameIsTheLastResort) {
  FakeAuthContext auth(
      Properties{{GRPC_X509_PEM_CERT_PROPERTY_NAME, kPem}, {GRPC_X509_CN_PROPERTY_NAME, "svc-cn"}});
  EXPECT_EQ(CertificateIdentity(auth), "svc-cn");
}

TEST(CertificateIdentityTest, CertificateWithoutAnyNameIsNullopt) {
  FakeAuthContext auth(Properties{{GRPC_X509_PEM_CERT_PROPERTY_NAME, kPem}});
  EXPECT_EQ(CertificateIdentity(auth), std::nullopt);
}

// ---- ApiMethodNames --------------------------------------------------------

TEST(ApiMethodNamesTest, ListsEveryRpcOfBothServicesByFullName) {
  // Links the ext_authz service's generated code into this test, as the
  // server binary links it (server/edge); the integration test
  // ExtAuthzTest checks the binary's metrics count Check under its name.
  ASSERT_NE(envoy::service::auth::v3::CheckRequest::descriptor(), nullptr);
  EXPECT_THAT(ApiMethodNames(),
              ::testing::UnorderedElementsAre(
                  "/tokenbroker.v1.TokenService/GetAccessToken",
                  "/tokenbroker.v1.TokenService/GetRequestHeaders",
                  "/tokenbroker.v1.TokenService/RefreshAccessToken",
                  "/tokenbroker.v1.TokenService/WatchAccessTokens",
                  "/tokenbroker.v1.IntegrationService/CreateIntegration",
                  "/tokenbroker.v1.IntegrationService/GetIntegration",
                  "/tokenbroker.v1.IntegrationService/ListIntegrations",
                  "/tokenbroker.v1.IntegrationService/UpdateIntegration",
                  "/tokenbroker.v1.IntegrationService/DeleteIntegration",
                  "/tokenbroker.v1.IntegrationService/ImportIntegrations",
                  "/tokenbroker.v1.IntegrationService/ListClientSecrets",
                  "/tokenbroker.v1.IntegrationService/RotateClientSecret",
                  "/tokenbroker.v1.IntegrationService/MigrateIntegration",
                  "/envoy.service.auth.v3.Authorization/Check", "GET /v1/integrations/{id}/token",
                  "GET /v1/integrations/{id}/headers"));
}

}  // namespace
}  // namespace tokenbroker

namespace tokenbroker {
namespace {

TEST(WatchLimiterTest, AcquirePastTheCapIsResourceExhaustedNamingTheFlag) {
  WatchLimiter limiter(2);
  auto a = limiter.Acquire("alice");
  auto b = limiter.Acquire("alice");
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::shared_ptr<void>> c = limiter.Acquire("alice");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("--max-watches-per-caller=2"));
  // Another caller has its own budget.
  EXPECT_TRUE(limiter.Acquire("bob").ok());
}

TEST(WatchLimiterTest, ReleasingAHandleFreesTheSlot) {
  WatchLimiter limiter(1);
  auto a = limiter.Acquire("alice");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(limiter.open("alice"), 1);
  a->reset();
  EXPECT_EQ(limiter.open("alice"), 0);
  EXPECT_TRUE(limiter.Acquire("alice").ok());
}

TEST(WatchLimiterTest, TheErrorQuotesOnlyAPrefixOfALongIdentity) {
  WatchLimiter limiter(1);
  std::string identity(5000, 'c');
  auto a = limiter.Acquire(identity);
  auto b = limiter.Acquire(identity);
  ASSERT_FALSE(b.ok());
  EXPECT_LE(b.status().message().size(), 400u);
}

TEST(CheckRequestSizeTest, CheckRequestSizeCountsUnknownFieldsAndNamesTheFlag) {
  google::rpc::ErrorInfo small;
  small.set_reason("x");
  EXPECT_TRUE(CheckRequestSize(small, 100, "--max-token-request-bytes").ok());
  google::rpc::ErrorInfo big;
  big.GetReflection()->MutableUnknownFields(&big)->AddLengthDelimited(99, std::string(2000, 'u'));
  absl::Status status = CheckRequestSize(big, 100, "--max-token-request-bytes");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--max-token-request-bytes=100"));
  EXPECT_TRUE(CheckRequestSize(big, 0, "--max-token-request-bytes").ok()) << "0: no limit";
}

}  // namespace
}  // namespace tokenbroker
