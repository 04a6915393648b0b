// Envoy's Check, without gRPC: which integration a request is for, who is
// deciding (the proxy or the workload it speaks for), the headers an
// allowed request gets, the local replies of denied ones, and the audit
// line of each decision. A real TokenBroker over a fake exchanger, a
// manual executor and a fake clock.
#include "server/edge/ext_authz_service.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/store/memory_credential_store.h"
#include "tests/broker/broker_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_exchanger.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kProxy[] = "spiffe://mesh/ns/istio-system/sa/egress-gateway";
constexpr char kBilling[] = "spiffe://mesh/ns/billing/sa/api";
constexpr char kOther[] = "spiffe://mesh/ns/other/sa/api";

// Keeps audit lines in memory. Thread-safe.
class LinesSink final : public AuditSink {
 public:
  explicit LinesSink(std::vector<std::string>* lines) : lines_(lines) {}
  absl::Status Write(const std::vector<std::string>& lines) override {
    absl::MutexLock lock(&mu_);
    lines_->insert(lines_->end(), lines.begin(), lines.end());
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string>* lines_;
};

// A proxy's call from a verified certificate.
CallOrigin FromCertificate(const std::string& identity) {
  CallOrigin origin;
  origin.peer = "ipv4:10.0.0.9:40000";
  origin.certificate_identity = identity;
  return origin;
}

CheckRequest Request(const std::string& principal = "", const std::string& host = "a.example.com",
                     const std::string& path = "/") {
  CheckRequest request;
  request.mutable_attributes()->mutable_source()->set_principal(principal);
  auto* http = request.mutable_attributes()->mutable_request()->mutable_http();
  http->set_host(host);
  http->set_path(path);
  http->set_method("GET");
  return request;
}

CheckRequest ForIntegration(const std::string& id, const std::string& principal = "") {
  CheckRequest request = Request(principal);
  (*request.mutable_attributes()->mutable_context_extensions())[kIntegrationContextExtension] = id;
  return request;
}

std::string HeaderValue(const google::protobuf::RepeatedPtrField<HeaderValueOption>& headers,
                        const std::string& name) {
  for (const HeaderValueOption& h : headers) {
    if (h.header().key() == name) return h.header().value();
  }
  return "<absent>";
}

class ExtAuthzTest : public ::testing::Test {
 protected:
  ExtAuthzTest() : store_(&clock_), exchanger_(&clock_, absl::Hours(1)) {
    RefreshPolicy refresh;
    refresh.default_min_validity = absl::Seconds(60);
    broker_ = std::make_unique<TokenBroker>(&store_, &exchanger_, &executor_, &clock_, &random_,
                                            BrokerOptions{.refresh = refresh, .max_attempts = 1});
    Integration acme = testing::MakeIntegration("acme");
    acme.include_org_header = true;
    acme.sandbox_name = "prod";
    EXPECT_TRUE(store_.Create(acme).ok());
    EXPECT_TRUE(store_.Create(testing::MakeIntegration("other")).ok());
    audit_ =
        std::make_unique<AuditLogger>(std::make_unique<LinesSink>(&lines_),
                                      SecretString(std::string(32, 'k')), AuditFailureMode::kServe);
    api_.authorizer = &open_;
    api_.audit = audit_.get();
  }

  // The proxy bound to the role proxy; the billing workload reads acme.
  void UseProxyPolicy(bool bind_proxy = true) {
    nlohmann::json bindings = nlohmann::json::array(
        {{{"identity", kBilling}, {"role", "reader"}, {"integrations", {"acme"}}},
         {{"identity", "spiffe://mesh/ns/istio-system/sa/direct"},
          {"role", "reader"},
          {"integrations", {"acme"}}}});
    if (bind_proxy) bindings.push_back({{"identity", kProxy}, {"role", "proxy"}});
    testing::WriteFile(dir_.File("policy.json"),
                       nlohmann::json{{"version", 1}, {"bindings", bindings}}.dump());
    auto authorizer = Authorizer::FromFile(dir_.File("policy.json"));
    ASSERT_TRUE(authorizer.ok()) << authorizer.status();
    policy_ = *std::move(authorizer);
    api_.authorizer = policy_.get();
  }

  void UseRoutes(const std::string& json) {
    testing::WriteFile(dir_.File("routes.json"), json);
    auto routes = ReloadingRouteTable::FromFile(dir_.File("routes.json"));
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
  }

  struct Decision {
    std::optional<absl::Status> rpc;  // how `done` was called
    CheckResponse response;
  };

  Decision Check(const CheckRequest& request, CallOrigin origin = FromCertificate(kProxy)) {
    Decision decision;
    DecideCheck(broker_.get(), api_, routes_.get(), std::move(origin), request, &decision.response,
                [&decision](const absl::Status& status) { decision.rpc = status; });
    executor_.RunAll();
    EXPECT_TRUE(decision.rpc.has_value()) << "done was not called";
    return decision;
  }

  std::vector<nlohmann::json> AuditLines() {
    audit_->Flush();
    std::vector<nlohmann::json> parsed;
    for (const std::string& line : lines_) parsed.push_back(nlohmann::json::parse(line));
    return parsed;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  InMemoryCredentialStore store_;
  testing::FakeTokenExchanger exchanger_;
  testing::ManualExecutor executor_;
  testing::FixedRandomSource random_{0.0};
  std::unique_ptr<TokenBroker> broker_;
  std::vector<std::string> lines_;
  std::unique_ptr<AuditLogger> audit_;
  Authorizer open_;  // no policy: everyone may do everything
  std::unique_ptr<Authorizer> policy_;
  std::unique_ptr<ReloadingRouteTable> routes_;
  ApiContext api_;
};

// ---- Allowed ----------------------------------------------------------------

TEST_F(ExtAuthzTest, AllowedRequestGetsTheAdobeHeadersEachOverwritingAnyTheClientSent) {
  Decision d = Check(ForIntegration("acme"));
  ASSERT_TRUE(d.rpc->ok());
  EXPECT_EQ(d.response.status().code(), 0);
  ASSERT_TRUE(d.response.has_ok_response());
  std::vector<std::string> names;
  for (const HeaderValueOption& h : d.response.ok_response().headers()) {
    names.push_back(h.header().key());
    EXPECT_EQ(h.append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD) << h.header().key();
    ASSERT_TRUE(h.has_append()) << h.header().key();
    EXPECT_FALSE(h.append().value()) << h.header().key();
  }
  EXPECT_THAT(names,
              ElementsAre("Authorization", "x-api-key", "x-gw-ims-org-id", "x-sandbox-name"));
  const auto& headers = d.response.ok_response().headers();
  EXPECT_EQ(HeaderValue(headers, "Authorization"), "Bearer token-1");
  EXPECT_EQ(HeaderValue(headers, "x-api-key"), "client-acme");
  EXPECT_EQ(HeaderValue(headers, "x-gw-ims-org-id"), "ORG@AdobeOrg");
  EXPECT_EQ(HeaderValue(headers, "x-sandbox-name"), "prod");
  EXPECT_THAT(d.response.ok_response().headers_to_remove(), IsEmpty());
}

TEST_F(ExtAuthzTest, IntegrationWithoutOrgHeaderOrSandboxGetsOnlyTokenAndApiKey) {
  Decision d = Check(ForIntegration("other"));
  ASSERT_TRUE(d.response.has_ok_response());
  EXPECT_EQ(d.response.ok_response().headers_size(), 2);
  EXPECT_EQ(HeaderValue(d.response.ok_response().headers(), "x-gw-ims-org-id"), "<absent>");
}

TEST_F(ExtAuthzTest, CachedTokenIsServedWithoutAnotherExchange) {
  Check(ForIntegration("acme"));
  Decision second = Check(ForIntegration("acme"));
  EXPECT_EQ(HeaderValue(second.response.ok_response().headers(), "Authorization"),
            "Bearer token-1");
  EXPECT_EQ(exchanger_.calls(), 1);
}

// ---- Which integration -----------------------------------------------------------

TEST_F(ExtAuthzTest, ContextExtensionWinsOverHeaderWhichIsStillRemoved) {
  UseRoutes(R"([{"host": "*", "integration": "other"}])");
  CheckRequest request = ForIntegration("acme");
  (*request.mutable_attributes()
        ->mutable_request()
        ->mutable_http()
        ->mutable_headers())[kIntegrationHeader] = "other";
  Decision d = Check(request);
  EXPECT_EQ(HeaderValue(d.response.ok_response().headers(), "x-api-key"), "client-acme");
  EXPECT_THAT(d.response.ok_response().headers_to_remove(),
              ElementsAre("x-tokenbroker-integration"));
}

TEST_F(ExtAuthzTest, HeaderWinsOverRouteAndIsRemovedBeforeTheRequestGoesUpstream) {
  UseRoutes(R"([{"host": "*", "integration": "other"}])");
  CheckRequest request = Request();
  (*request.mutable_attributes()
        ->mutable_request()
        ->mutable_http()
        ->mutable_headers())[kIntegrationHeader] = "acme";
  Decision d = Check(request);
  EXPECT_EQ(HeaderValue(d.response.ok_response().headers(), "x-api-key"), "client-acme");
  EXPECT_THAT(d.response.ok_response().headers_to_remove(),
              ElementsAre("x-tokenbroker-integration"));
}

TEST_F(ExtAuthzTest, RouteTableDecidesWhenNothingElseNamesAnIntegration) {
  UseRoutes(R"([{"host": "*.example.com", "path_prefix": "/v1", "integration": "acme"},
                {"host": "*", "integration": "other"}])");
  Decision v1 = Check(Request("", "a.example.com:443", "/v1/x"));
  EXPECT_EQ(HeaderValue(v1.response.ok_response().headers(), "x-api-key"), "client-acme");
  EXPECT_THAT(v1.response.ok_response().headers_to_remove(), IsEmpty());
  Decision rest = Check(Request("", "a.example.com", "/v2"));
  EXPECT_EQ(HeaderValue(rest.response.ok_response().headers(), "x-api-key"), "client-other");
}

TEST_F(ExtAuthzTest, NothingNamingAnIntegrationIs403NotFoundSayingWhatToConfigure) {
  Decision d = Check(Request());
  ASSERT_TRUE(d.rpc->ok());
  EXPECT_EQ(d.response.status().code(), static_cast<int>(absl::StatusCode::kNotFound));
  ASSERT_TRUE(d.response.has_denied_response());
  EXPECT_EQ(d.response.denied_response().status().code(), envoy::type::v3::Forbidden);
  nlohmann::json body = nlohmann::json::parse(d.response.denied_response().body());
  EXPECT_EQ(body["error"], "NOT_FOUND");
  EXPECT_THAT(body["reason"].get<std::string>(), HasSubstr("--ext-authz-routes"));
  EXPECT_EQ(exchanger_.calls(), 0);
}

TEST_F(ExtAuthzTest, MalformedIntegrationIdIs403InvalidArgumentNamingItsSource) {
  CheckRequest request = Request();
  (*request.mutable_attributes()
        ->mutable_request()
        ->mutable_http()
        ->mutable_headers())[kIntegrationHeader] = "../etc/passwd";
  Decision d = Check(request);
  EXPECT_EQ(d.response.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(d.response.denied_response().status().code(), envoy::type::v3::Forbidden);
  EXPECT_THAT(d.response.status().message(), HasSubstr("x-tokenbroker-integration"));
}

TEST_F(ExtAuthzTest, UnknownIntegrationIs403NotFound) {
  Decision d = Check(ForIntegration("ghost"));
  EXPECT_EQ(d.response.status().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(d.response.denied_response().status().code(), envoy::type::v3::Forbidden);
}

// ---- Who decides ----------------------------------------------------------------

TEST_F(ExtAuthzTest, BoundProxyAllowedWorkloadGetsTheToken) {
  UseProxyPolicy();
  Decision d = Check(ForIntegration("acme", kBilling));
  ASSERT_TRUE(d.response.has_ok_response()) << d.response.status().message();
  EXPECT_EQ(HeaderValue(d.response.ok_response().headers(), "Authorization"), "Bearer token-1");
}

TEST_F(ExtAuthzTest, BoundProxyOtherWorkloadIs403PermissionDeniedNamingTheWorkload) {
  UseProxyPolicy();
  Decision d = Check(ForIntegration("acme", kOther));
  EXPECT_EQ(d.response.status().code(), static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(d.response.denied_response().status().code(), envoy::type::v3::Forbidden);
  nlohmann::json body = nlohmann::json::parse(d.response.denied_response().body());
  EXPECT_EQ(body["error"], "PERMISSION_DENIED");
  EXPECT_THAT(body["reason"].get<std::string>(), HasSubstr(kOther));
  EXPECT_EQ(exchanger_.calls(), 0);
}

TEST_F(ExtAuthzTest, BoundProxyWithoutWorkloadIdentityIs403Unauthenticated) {
  UseProxyPolicy();
  Decision d = Check(ForIntegration("acme", ""));
  EXPECT_EQ(d.response.status().code(), static_cast<int>(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(d.response.denied_response().status().code(), envoy::type::v3::Forbidden);
  EXPECT_THAT(d.response.status().message(), HasSubstr("source.principal is empty"));
}

TEST_F(ExtAuthzTest, UnboundProxyDecidesByItsOwnIdentityWhateverWorkloadItReports) {
  UseProxyPolicy(/*bind_proxy=*/false);
  // The proxy itself is no reader: denied, although the workload would be.
  Decision as_proxy = Check(ForIntegration("acme", kBilling));
  EXPECT_EQ(as_proxy.response.status().code(),
            static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(as_proxy.response.status().message(), HasSubstr(kProxy));
  // A direct caller that is a reader is allowed whatever it reports.
  Decision direct = Check(ForIntegration("acme", kOther),
                          FromCertificate("spiffe://mesh/ns/istio-system/sa/direct"));
  EXPECT_TRUE(direct.response.has_ok_response()) << direct.response.status().message();
}

TEST_F(ExtAuthzTest, CallerWithoutCredentialsUnderAPolicyIs403Unauthenticated) {
  UseProxyPolicy();
  Decision d = Check(ForIntegration("acme", kBilling), CallOrigin());
  EXPECT_EQ(d.response.status().code(), static_cast<int>(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(d.response.denied_response().status().code(), envoy::type::v3::Forbidden);
}

// ---- IMS down, draining ------------------------------------------------------------

TEST_F(ExtAuthzTest, ImsDownWithoutAValidTokenIs503WithRetryAfterAndJsonBody) {
  exchanger_.FailWith(
      WithErrorInfo(absl::UnavailableError("IMS answered 503"), kReasonImsUnavailable));
  Decision d = Check(ForIntegration("acme"));
  ASSERT_TRUE(d.rpc->ok());
  EXPECT_EQ(d.response.status().code(), static_cast<int>(absl::StatusCode::kUnavailable));
  const auto& denied = d.response.denied_response();
  EXPECT_EQ(denied.status().code(), envoy::type::v3::ServiceUnavailable);
  std::string retry_after = HeaderValue(denied.headers(), "retry-after");
  ASSERT_NE(retry_after, "<absent>");
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_EQ(HeaderValue(denied.headers(), "content-type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(denied.body());
  EXPECT_EQ(body["error"], "UNAVAILABLE");
  EXPECT_THAT(body["reason"].get<std::string>(), HasSubstr("IMS answered 503"));
}

TEST_F(ExtAuthzTest, DrainingFailsTheRpcUnavailableInsteadOfDeciding) {
  api_.draining = true;
  Decision d = Check(ForIntegration("acme"));
  EXPECT_EQ(d.rpc->code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(d.response.has_ok_response());
  EXPECT_FALSE(d.response.has_denied_response());
}

TEST(FillDeniedTest, RetryAfterIsTheRetryInfoDelayRoundedUpElseTheDefault) {
  CheckResponse with_delay;
  FillDenied(WithRetryDelay(absl::UnavailableError("x"), absl::Milliseconds(2500)), &with_delay);
  EXPECT_EQ(HeaderValue(with_delay.denied_response().headers(), "retry-after"), "3");
  CheckResponse exhausted;
  FillDenied(absl::ResourceExhaustedError("x"), &exhausted);
  EXPECT_EQ(exhausted.denied_response().status().code(), envoy::type::v3::ServiceUnavailable);
  EXPECT_EQ(HeaderValue(exhausted.denied_response().headers(), "retry-after"),
            std::to_string(absl::ToInt64Seconds(kDefaultRetryAfter)));
  CheckResponse deadline;
  FillDenied(absl::DeadlineExceededError("x"), &deadline);
  EXPECT_EQ(deadline.denied_response().status().code(), envoy::type::v3::ServiceUnavailable);
}

TEST(FillDeniedTest, RejectedCredentialIs503WithoutRetryAfter) {
  CheckResponse rejected;
  FillDenied(absl::FailedPreconditionError("IMS rejected the client secret"), &rejected);
  EXPECT_EQ(rejected.status().code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(rejected.denied_response().status().code(), envoy::type::v3::ServiceUnavailable);
  EXPECT_EQ(HeaderValue(rejected.denied_response().headers(), "retry-after"), "<absent>");
}

TEST(FillDeniedTest, DeniedHas403NoRetryAfterAndEveryHeaderOverwrites) {
  CheckResponse denied;
  FillDenied(absl::PermissionDeniedError("caller 'x' is not granted"), &denied);
  EXPECT_EQ(denied.status().code(), static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(denied.status().message(), "caller 'x' is not granted");
  EXPECT_EQ(denied.denied_response().status().code(), envoy::type::v3::Forbidden);
  EXPECT_EQ(HeaderValue(denied.denied_response().headers(), "retry-after"), "<absent>");
  for (const HeaderValueOption& h : denied.denied_response().headers()) {
    EXPECT_EQ(h.append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  }
  EXPECT_EQ(
      nlohmann::json::parse(denied.denied_response().body()),
      (nlohmann::json{{"error", "PERMISSION_DENIED"}, {"reason", "caller 'x' is not granted"}}));
}

// ---- Audit ------------------------------------------------------------------------

TEST_F(ExtAuthzTest, AuditNamesWorkloadAsCallerProxyAsViaAndTheIntegration) {
  UseProxyPolicy();
  Check(ForIntegration("acme", kBilling));
  Check(ForIntegration("acme", kOther));
  std::vector<nlohmann::json> lines = AuditLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["method"], kExtAuthzCheckMethod);
  EXPECT_EQ(lines[0]["caller"], kBilling);
  EXPECT_EQ(lines[0]["via"], kProxy);
  EXPECT_EQ(lines[0]["integration"], "acme");
  EXPECT_EQ(lines[0]["code"], "OK");
  EXPECT_TRUE(lines[0].contains("token_fingerprint")) << lines[0].dump();
  EXPECT_EQ(lines[1]["caller"], kOther);
  EXPECT_EQ(lines[1]["code"], "PERMISSION_DENIED");
  EXPECT_FALSE(lines[1].contains("token_fingerprint")) << lines[1].dump();
}

TEST_F(ExtAuthzTest, AuditOfAnUnboundProxyNamesItAsCallerAndTheReportedWorkload) {
  Check(ForIntegration("acme", kBilling));
  std::vector<nlohmann::json> lines = AuditLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["caller"], kProxy);
  EXPECT_EQ(lines[0]["workload"], kBilling);
  EXPECT_FALSE(lines[0].contains("via"));
  EXPECT_EQ(lines[0]["integration"], "acme");
}

}  // namespace
}  // namespace tokenbroker
