#include "server/ims/jwt_exchanger.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ims/jwt_signer.h"
#include "tests/ims/test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_transport.h"

namespace tokenbroker {
namespace {

using ::testing::Contains;
using testing::ErrorMetadata;
using testing::FakeClock;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;
using testing::kMarkerSecret;
using testing::kMarkerSecret2;
using testing::kMarkerToken;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::Pair;
using testing::ParseForm;
using testing::RsaKey;
using testing::VerifyJwt;

TEST(SignJwtRs256Test, SignsWithPkcs8AndPkcs1Keys) {
  nlohmann::json claims = {{"iss", "me"}, {"exp", 42}};
  for (const std::string* pem : {&RsaKey().pkcs8_pem, &RsaKey().pkcs1_pem}) {
    auto jwt = SignJwtRs256(claims, *pem);
    ASSERT_TRUE(jwt.ok()) << jwt.status();
    std::string text(jwt->value());
    EXPECT_THAT(text, MatchesRegex("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+"));
    EXPECT_EQ(VerifyJwt(text, RsaKey().public_pem), claims);
  }
}

TEST(SignJwtRs256Test, BadKeyIsInvalidArgumentWithoutKeyBytes) {
  std::string bad =
      "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA"
      "\n-----END PRIVATE KEY-----\n";
  for (const std::string& pem : {bad, std::string(), std::string("not a key")}) {
    auto jwt = SignJwtRs256({{"a", 1}}, pem);
    ASSERT_FALSE(jwt.ok());
    EXPECT_EQ(jwt.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(jwt.status().message(), HasSubstr("private key does not parse"));
    EXPECT_THAT(jwt.status().message(), Not(HasSubstr("MIIB")));
  }
}

TEST(PublicKeyFingerprintTest, SameForBothEncodingsAndShaped) {
  auto a = PublicKeyFingerprint(RsaKey().pkcs8_pem);
  auto b = PublicKeyFingerprint(RsaKey().pkcs1_pem);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  EXPECT_THAT(*a, MatchesRegex("sha256:[0-9a-f]{16}"));
  EXPECT_EQ(PublicKeyFingerprint("junk").status().code(), absl::StatusCode::kInvalidArgument);
}

class JwtExchangerTest : public ::testing::Test {
 protected:
  FakeHttpTransport transport_;
  FakeClock clock_;
  int jti_counter_ = 0;
  JwtExchanger exchanger_{&transport_, &clock_, ImsOptions(),
                          [this] { return "jti-" + std::to_string(++jti_counter_); }};
};

TEST_F(JwtExchangerTest, ExchangePostsSignedJwtWithAdobeClaims) {
  transport_.EnqueueJson(200, {{"access_token", kMarkerToken}, {"expires_in", 86399992}},
                         {{"x-debug-id", "dbg-j"}});
  auto token = exchanger_.Exchange(testing::JwtIntegration());
  ASSERT_TRUE(token.ok()) << token.status();

  ASSERT_EQ(transport_.request_count(), 1);
  HttpRequest req = transport_.requests()[0];
  EXPECT_EQ(req.url, "https://ims-na1.adobelogin.com/ims/exchange/jwt");
  EXPECT_THAT(req.headers, Contains(Pair("Content-Type", "application/x-www-form-urlencoded")));
  auto form = ParseForm(req.body.value());
  EXPECT_EQ(form.size(), 3u);
  EXPECT_EQ(form["client_id"], "client-123");
  EXPECT_EQ(form["client_secret"], kMarkerSecret);

  nlohmann::json claims = VerifyJwt(form["jwt_token"], RsaKey().public_pem);
  ASSERT_TRUE(claims.is_object()) << "signature does not verify";
  ASSERT_TRUE(claims["exp"].is_number_integer());
  EXPECT_EQ(claims["exp"].get<int64_t>(), absl::ToUnixSeconds(clock_.Now()) + 300);
  EXPECT_EQ(claims["iss"], "ORG1@AdobeOrg");
  EXPECT_EQ(claims["sub"], "TA1@techacct.adobe.com");
  EXPECT_EQ(claims["aud"], "https://ims-na1.adobelogin.com/c/client-123");
  EXPECT_EQ(claims["https://ims-na1.adobelogin.com/s/ent_dataservices_sdk"], true);
  EXPECT_EQ(claims["https://ims-na1.adobelogin.com/s/ent_campaign_sdk"], true);
  EXPECT_EQ(claims["jti"], "jti-1");
  EXPECT_FALSE(claims.contains("iat"));
  EXPECT_EQ(claims.size(), 7u);
}

TEST_F(JwtExchangerTest, ExchangeReadsExpiresInAsMilliseconds) {
  transport_.EnqueueJson(200, {{"access_token", kMarkerToken}, {"expires_in", 86399992}});
  auto token = exchanger_.Exchange(testing::JwtIntegration());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->expire_time, clock_.Now() + absl::Milliseconds(86399992));
}

TEST_F(JwtExchangerTest, ClaimsFollowIntegrationImsUrlAndKeepFullUrlMetascopes) {
  Integration integration = testing::JwtIntegration();
  integration.ims_url = "https://ims-na1-stg1.adobelogin.com";
  integration.metascopes = {"ent_marketing_sdk",
                            "https://ims-na1-stg1.adobelogin.com/s/ent_campaign_sdk"};
  nlohmann::json claims = exchanger_.Claims(integration, clock_.Now());
  EXPECT_EQ(claims["aud"], "https://ims-na1-stg1.adobelogin.com/c/client-123");
  EXPECT_EQ(claims["https://ims-na1-stg1.adobelogin.com/s/ent_marketing_sdk"], true);
  EXPECT_EQ(claims["https://ims-na1-stg1.adobelogin.com/s/ent_campaign_sdk"], true);
}

TEST_F(JwtExchangerTest, ExchangeFallsBackToSecondSecretWithFreshJwt) {
  Integration integration = testing::JwtIntegration();
  integration.credentials.client_secrets.push_back(SecretString(std::string(kMarkerSecret2)));
  transport_.EnqueueJson(400, {{"error", "invalid_client"}});
  transport_.EnqueueJson(200, {{"access_token", "t"}, {"expires_in", 1000}});
  ASSERT_TRUE(exchanger_.Exchange(integration).ok());
  ASSERT_EQ(transport_.request_count(), 2);
  auto first = ParseForm(transport_.requests()[0].body.value());
  auto second = ParseForm(transport_.requests()[1].body.value());
  EXPECT_EQ(second["client_secret"], kMarkerSecret2);
  EXPECT_EQ(VerifyJwt(second["jwt_token"], RsaKey().public_pem)["jti"], "jti-2");
  EXPECT_NE(first["jwt_token"], second["jwt_token"]);
}

TEST_F(JwtExchangerTest, RejectedSignatureIsFailedPrecondition) {
  transport_.EnqueueJson(400, {{"error", "invalid_signature"}, {"error_description", "nope"}},
                         {{"x-debug-id", "dbg-s"}});
  auto token = exchanger_.Exchange(testing::JwtIntegration());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorMetadata(token.status(), "ims_error"), "invalid_signature");
  EXPECT_EQ(token.status().message(),
            "IMS rejected integration 'acme-jwt': invalid_signature (x-debug-id: dbg-s): nope");
}

TEST_F(JwtExchangerTest, BadPrivateKeyIsInvalidArgumentWithoutCallingIms) {
  Integration integration = testing::JwtIntegration();
  integration.credentials.private_key_pem = SecretString(std::string("-----BEGIN nonsense"));
  auto token = exchanger_.Exchange(integration);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(token.status().message(), HasSubstr("private key does not parse"));
  EXPECT_THAT(token.status().message(), HasSubstr("acme-jwt"));
  EXPECT_EQ(transport_.request_count(), 0);
}

TEST_F(JwtExchangerTest, MissingFieldsAreInvalidArgument) {
  for (auto clear : std::vector<std::function<void(Integration&)>>{
           [](Integration& i) { i.org_id.clear(); },
           [](Integration& i) { i.technical_account_id.clear(); },
           [](Integration& i) { i.client_id.clear(); },
           [](Integration& i) { i.credentials.private_key_pem = SecretString(); },
           [](Integration& i) { i.credentials.client_secrets.clear(); }}) {
    Integration integration = testing::JwtIntegration();
    clear(integration);
    EXPECT_EQ(exchanger_.Exchange(integration).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(transport_.request_count(), 0);
}

TEST_F(JwtExchangerTest, NoErrorMessageContainsSecretKeyOrToken) {
  Integration integration = testing::JwtIntegration();
  std::vector<absl::StatusOr<HttpResponse>> answers = {
      testing::JsonResponse(400, {{"error", "invalid_token"}}),
      testing::JsonResponse(401, {{"error", "invalid_client"}}),
      testing::JsonResponse(429, nlohmann::json::object()),
      testing::JsonResponse(200, {{"access_token", kMarkerToken}, {"expires_in", "x"}}),
  };
  for (auto& answer : answers) {
    transport_.Enqueue(answer);
    auto token = exchanger_.Exchange(integration);
    ASSERT_FALSE(token.ok());
    std::string text = token.status().ToString();
    EXPECT_THAT(text, Not(HasSubstr(kMarkerSecret)));
    EXPECT_THAT(text, Not(HasSubstr(kMarkerToken)));
    EXPECT_THAT(text, Not(HasSubstr("PRIVATE KEY")));
  }
}

TEST(RandomJtiTest, IsHexAndUnique) {
  std::string a = RandomJti();
  EXPECT_THAT(a, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(a, RandomJti());
}

}  // namespace
}  // namespace tokenbroker
