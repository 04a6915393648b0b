#include "server/ims/oauth_s2s_exchanger.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ims/test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_transport.h"

namespace tokenbroker {
namespace {

using ::testing::Contains;
using testing::ErrorMetadata;
using testing::ErrorReason;
using testing::FakeClock;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;
using testing::kMarkerSecret;
using testing::kMarkerSecret2;
using testing::kMarkerToken;
using ::testing::Not;
using ::testing::Pair;
using testing::ParseForm;

class OAuthServerToServerExchangerTest : public ::testing::Test {
 protected:
  FakeHttpTransport transport_;
  FakeClock clock_;
  OAuthServerToServerExchanger exchanger_{&transport_, &clock_, ImsOptions()};
};

TEST_F(OAuthServerToServerExchangerTest, ExchangeSendsClientCredentialsForm) {
  transport_.EnqueueJson(
      200, {{"access_token", kMarkerToken}, {"token_type", "bearer"}, {"expires_in", 86399}},
      {{"x-debug-id", "dbg-1"}});
  auto token = exchanger_.Exchange(testing::S2SIntegration());
  ASSERT_TRUE(token.ok()) << token.status();

  ASSERT_EQ(transport_.request_count(), 1);
  HttpRequest req = transport_.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://ims-na1.adobelogin.com/ims/token/v3");
  EXPECT_THAT(req.headers, Contains(Pair("Content-Type", "application/x-www-form-urlencoded")));
  EXPECT_EQ(req.timeout, absl::Seconds(30));
  auto form = ParseForm(req.body.value());
  EXPECT_EQ(form.size(), 4u);
  EXPECT_EQ(form["grant_type"], "client_credentials");
  EXPECT_EQ(form["client_id"], "client-123");
  EXPECT_EQ(form["client_secret"], kMarkerSecret);
  EXPECT_EQ(form["scope"], "openid,AdobeID,read_organizations");
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeReadsExpiresInAsSeconds) {
  transport_.EnqueueJson(200, {{"access_token", kMarkerToken}, {"expires_in", 86399}},
                         {{"x-debug-id", "dbg-1"}});
  auto token = exchanger_.Exchange(testing::S2SIntegration());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->access_token.value(), kMarkerToken);
  EXPECT_EQ(token->issue_time, clock_.Now());
  EXPECT_EQ(token->expire_time, clock_.Now() + absl::Seconds(86399));
  EXPECT_EQ(token->debug_id, "dbg-1");
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeUsesIntegrationImsUrlWithoutTrailingSlash) {
  Integration integration = testing::S2SIntegration();
  integration.ims_url = "https://ims-na1-stg1.adobelogin.com/";
  transport_.EnqueueJson(200, {{"access_token", "t"}, {"expires_in", 10}});
  ASSERT_TRUE(exchanger_.Exchange(integration).ok());
  EXPECT_EQ(transport_.requests()[0].url, "https://ims-na1-stg1.adobelogin.com/ims/token/v3");
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeEncodesReservedCharacters) {
  Integration integration = testing::S2SIntegration();
  integration.credentials.client_secrets = {SecretString(std::string("a+b&c=d %/"))};
  transport_.EnqueueJson(200, {{"access_token", "t"}, {"expires_in", 10}});
  ASSERT_TRUE(exchanger_.Exchange(integration).ok());
  std::string body(transport_.requests()[0].body.value());
  EXPECT_THAT(body, HasSubstr("client_secret=a%2Bb%26c%3Dd%20%25%2F"));
  EXPECT_EQ(ParseForm(body)["client_secret"], "a+b&c=d %/");
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeFallsBackToSecondSecretOnInvalidClient) {
  Integration integration = testing::S2SIntegration();
  integration.credentials.client_secrets.push_back(SecretString(std::string(kMarkerSecret2)));
  transport_.EnqueueJson(401, {{"error", "invalid_client"}}, {{"x-debug-id", "dbg-a"}});
  transport_.EnqueueJson(200, {{"access_token", "t"}, {"expires_in", 10}});
  auto token = exchanger_.Exchange(integration);
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_EQ(transport_.request_count(), 2);
  EXPECT_EQ(ParseForm(transport_.requests()[0].body.value())["client_secret"], kMarkerSecret);
  EXPECT_EQ(ParseForm(transport_.requests()[1].body.value())["client_secret"], kMarkerSecret2);
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeReturnsLastRejectionWhenBothSecretsFail) {
  Integration integration = testing::S2SIntegration();
  integration.credentials.client_secrets.push_back(SecretString(std::string(kMarkerSecret2)));
  transport_.EnqueueJson(401, {{"error", "invalid_client"}}, {{"x-debug-id", "dbg-a"}});
  transport_.EnqueueJson(401, {{"error", "invalid_client"}}, {{"x-debug-id", "dbg-b"}});
  auto token = exchanger_.Exchange(integration);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorMetadata(token.status(), "x_debug_id"), "dbg-b");
  EXPECT_EQ(transport_.request_count(), 2);
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeDoesNotTrySecondSecretOnOtherErrors) {
  Integration integration = testing::S2SIntegration();
  integration.credentials.client_secrets.push_back(SecretString(std::string(kMarkerSecret2)));
  transport_.EnqueueJson(400, {{"error", "invalid_scope"}});
  auto token = exchanger_.Exchange(integration);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorMetadata(token.status(), "ims_error"), "invalid_scope");
  EXPECT_EQ(transport_.request_count(), 1);

  transport_.EnqueueJson(503, nlohmann::json::object());
  token = exchanger_.Exchange(integration);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(transport_.request_count(), 2);
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeMapsTransportFailureToUnavailable) {
  transport_.Enqueue(absl::UnavailableError("HTTP POST to ims failed: connect failed"));
  auto token = exchanger_.Exchange(testing::S2SIntegration());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(token.status()), kReasonImsUnavailable);
  EXPECT_THAT(token.status().message(), HasSubstr("connect failed"));
  EXPECT_THAT(token.status().message(), HasSubstr("'acme-s2s'"));
}

TEST_F(OAuthServerToServerExchangerTest, ExchangeRejectsMissingFieldsWithoutCallingIms) {
  Integration integration = testing::S2SIntegration();
  integration.credentials.client_secrets = {SecretString()};
  EXPECT_EQ(exchanger_.Exchange(integration).status().code(), absl::StatusCode::kInvalidArgument);
  integration = testing::S2SIntegration();
  integration.client_id.clear();
  EXPECT_EQ(exchanger_.Exchange(integration).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(transport_.request_count(), 0);
}

TEST_F(OAuthServerToServerExchangerTest, NoErrorMessageContainsSecretOrToken) {
  Integration integration = testing::S2SIntegration();
  integration.credentials.client_secrets.push_back(SecretString(std::string(kMarkerSecret2)));
  std::vector<absl::StatusOr<HttpResponse>> answers = {
      testing::JsonResponse(400, {{"error", "invalid_request"}}),
      testing::JsonResponse(403, {{"error", "forbidden"}}),
      testing::JsonResponse(429, nlohmann::json::object(), {{"retry-after", "3"}}),
      testing::JsonResponse(500, {{"error", "server_error"}}),
      testing::JsonResponse(200, {{"access_token", kMarkerToken}}),
      testing::JsonResponse(200, {{"access_token", kMarkerToken}, {"expires_in", -1}}),
      absl::UnavailableError("HTTP POST to ims failed: timed out"),
  };
  for (auto& answer : answers) {
    transport_.Enqueue(answer);
    auto token = exchanger_.Exchange(integration);
    ASSERT_FALSE(token.ok());
    EXPECT_THAT(token.status().message(), Not(HasSubstr(kMarkerSecret)));
    EXPECT_THAT(token.status().message(), Not(HasSubstr(kMarkerSecret2)));
    EXPECT_THAT(token.status().message(), Not(HasSubstr(kMarkerToken)));
    EXPECT_THAT(std::string(token.status().ToString()), Not(HasSubstr(kMarkerSecret)));
  }
}

}  // namespace
}  // namespace tokenbroker
