// Envoy's external authorization on the real server binary: a client of the
// generated Authorization stub over mutual TLS plays the proxy (an egress
// gateway bound to the role proxy) and reports workloads as Envoy does in
// source.principal.
#include <fstream>

#include "absl/strings/match.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/certs.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using envoy::service::auth::v3::Authorization;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "EXT-AUTHZ-MARKER-SECRET-7c1f";
constexpr char kProxy[] = "spiffe://mesh/ns/istio-system/sa/egress-gateway";
constexpr char kBilling[] = "spiffe://mesh/ns/billing/sa/api";
constexpr char kOther[] = "spiffe://mesh/ns/other/sa/api";

class ExtAuthzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ims = ImsEmulatorProcess::Start({nlohmann::json{{"client_id", "c1"},
                                                         {"client_secrets", {kSecret}},
                                                         {"org_id", "ORG1@AdobeOrg"},
                                                         {"scopes", {"openid", "AdobeID"}}}});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    WriteServerTls(ca_, dir_.path());
    nlohmann::json policy = {
        {"version", 1},
        {"bindings",
         {{{"identity", kProxy}, {"role", "proxy"}},
          {{"identity", kBilling}, {"role", "reader"}, {"integrations", {"acme"}}},
          {{"identity", "admin.example.org"}, {"role", "admin"}}}}};
    WriteFile(dir_.File("policy.json"), policy.dump());
    auto broker = BrokerProcess::Start(
        {"--tls-cert=" + dir_.File("server.pem"), "--tls-key=" + dir_.File("server.key"),
         "--client-ca-file=" + dir_.File("ca.pem"), "--policy-file=" + dir_.File("policy.json"),
         "--audit-log=" + dir_.File("audit.log"), "--ext-authz-listen=127.0.0.1:0",
         "--metrics-listen=127.0.0.1:0", "--ims-url=" + ims_->url(),
         "--ims-ca-file=" + ims_->ca_file()});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    ASSERT_NE(broker_->ext_authz_port(), 0) << broker_->log();

    auto admin = v1::IntegrationService::NewStub(Channel(broker_->address(), "admin.example.org"));
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse created;
    grpc::Status status =
        admin->CreateIntegration(&ctx, OAuthIntegration("acme", "c1", kSecret, ""), &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // A mutual-TLS channel presenting a certificate for `identity` (a SPIFFE
  // URI SAN, else a DNS name).
  std::shared_ptr<grpc::Channel> Channel(const std::string& address, const std::string& identity) {
    CertSpec spec{.common_name = "ignored-cn"};
    if (absl::StartsWith(identity, "spiffe://")) {
      spec.uris = {identity};
    } else {
      spec.dns_names = {identity};
    }
    PemPair cert = ca_.Issue(spec);
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_.certificate();
    ssl.pem_cert_chain = cert.certificate;
    ssl.pem_private_key = cert.private_key;
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
  }

  std::string ExtAuthzAddress() const {
    return "127.0.0.1:" + std::to_string(broker_->ext_authz_port());
  }

  // Envoy's Check for a request of `workload` to integration `id`'s API.
  CheckResponse Check(const std::string& workload, const std::string& id) {
    auto stub = Authorization::NewStub(Channel(ExtAuthzAddress(), kProxy));
    CheckRequest request;
    request.mutable_attributes()->mutable_source()->set_principal(workload);
    auto* http = request.mutable_attributes()->mutable_request()->mutable_http();
    http->set_method("GET");
    http->set_host("analytics.adobe.io");
    http->set_path("/api/reports");
    (*http->mutable_headers())["x-tokenbroker-integration"] = id;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    CheckResponse response;
    grpc::Status status = stub->Check(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return response;
  }

  static std::string Header(const CheckResponse& response, const std::string& name) {
    for (const auto& h : response.ok_response().headers()) {
      if (h.header().key() == name) return h.header().value();
    }
    return "<absent>";
  }

  // The broker's current token of `id`, as the workload reads it directly.
  std::string CurrentToken(const std::string& id) {
    auto tokens = v1::TokenService::NewStub(Channel(broker_->address(), kBilling));
    grpc::ClientContext ctx;
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + id);
    v1::GetAccessTokenResponse response;
    grpc::Status status = tokens->GetAccessToken(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.token().access_token();
  }

  TempDir dir_;
  TestCa ca_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(ExtAuthzTest, AllowedWorkloadsRequestCarriesTheBrokersCurrentToken) {
  CheckResponse response = Check(kBilling, "acme");
  ASSERT_EQ(response.status().code(), 0) << response.status().message();
  ASSERT_TRUE(response.has_ok_response());
  std::string token = CurrentToken("acme");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(Header(response, "Authorization"), "Bearer " + token);
  EXPECT_EQ(Header(response, "x-api-key"), "c1");
  EXPECT_THAT(response.ok_response().headers_to_remove(),
              ::testing::ElementsAre("x-tokenbroker-integration"));
  EXPECT_EQ(ims_->Exchanges("c1"), 1);
  // Counted under its own method, not "other".
  ASSERT_GT(broker_->metrics_port(), 0) << broker_->log();
  EXPECT_THAT(broker_->ScrapeMetrics(),
              HasSubstr("tokenbroker_grpc_requests_total{code=\"ok\",method=\"/"
                        "envoy.service.auth.v3.Authorization/Check\"} 1"));
}

TEST_F(ExtAuthzTest, AfterAForcedRefreshTheNextCheckCarriesTheNewToken) {
  std::string before = Header(Check(kBilling, "acme"), "Authorization");
  auto tokens = v1::TokenService::NewStub(Channel(broker_->address(), kBilling));
  grpc::ClientContext ctx;
  v1::RefreshAccessTokenRequest request;
  request.set_name("integrations/acme");
  v1::RefreshAccessTokenResponse refreshed;
  grpc::Status status = tokens->RefreshAccessToken(&ctx, request, &refreshed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_NE("Bearer " + refreshed.token().access_token(), before);
  EXPECT_EQ(Header(Check(kBilling, "acme"), "Authorization"),
            "Bearer " + refreshed.token().access_token());
}

TEST_F(ExtAuthzTest, UnauthorizedWorkloadIsDenied403AndAuditedWithTheProxyAsVia) {
  CheckResponse response = Check(kOther, "acme");
  EXPECT_EQ(response.status().code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(response.has_denied_response());
  EXPECT_EQ(response.denied_response().status().code(), envoy::type::v3::Forbidden);
  EXPECT_THAT(response.denied_response().body(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(response.denied_response().body(), Not(HasSubstr(kSecret)));
  EXPECT_EQ(ims_->Exchanges("c1"), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::string audit = ReadFile(dir_.File("audit.log"));
        return absl::StrContains(
            audit, std::string("\"caller\":\"") + kOther + "\",\"via\":\"" + kProxy + "\"");
      },
      absl::Seconds(5), "the denied Check's audit line"));
}

TEST_F(ExtAuthzTest, TheExtAuthzPortServesNoTokenService) {
  auto tokens = v1::TokenService::NewStub(Channel(ExtAuthzAddress(), kBilling));
  grpc::ClientContext ctx;
  v1::GetAccessTokenRequest request;
  request.set_name("integrations/acme");
  v1::GetAccessTokenResponse response;
  EXPECT_EQ(tokens->GetAccessToken(&ctx, request, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST(ExtAuthzStartupTest, PlaintextExtAuthzOnNonLoopbackIsRefusedNamingTheFlag) {
  CommandResult refused = RunCommand({BinDir() + "/tokenbroker", "--ext-authz-listen=0.0.0.0:0"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("--ext-authz-listen"));
  EXPECT_THAT(refused.err, HasSubstr("0.0.0.0:0 is not a loopback address"));
  EXPECT_THAT(refused.err, HasSubstr("--allow-unauthenticated-non-loopback"));
}

}  // namespace
}  // namespace tokenbroker::testing
