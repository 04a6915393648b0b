// The HTTP endpoint's pure translations: status codes, the error body,
// Retry-After, min_validity and the timestamp format; and the certificate
// identity rule over an X509, on certificates the test CA issues.
#include "server/edge/http_status.h"

#include <openssl/pem.h>

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/edge/certificate_identity.h"
#include "tests/testing/certs.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;

TEST(HttpStatusForTest, MapsEveryCanonicalCodeAsGoogleRpcCodeDocuments) {
  const std::vector<std::pair<absl::StatusCode, int>> expected = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401}};
  for (const auto& [code, http] : expected) {
    EXPECT_EQ(HttpStatusFor(code), http) << absl::StatusCodeToString(code);
  }
}

TEST(ErrorJsonTest, CarriesHttpCodeCanonicalNameMessageAndErrorInfoReason) {
  absl::Status status = WithErrorInfo(absl::NotFoundError("integration 'acme' not found"),
                                      kReasonIntegrationNotFound);
  nlohmann::json body = nlohmann::json::parse(ErrorJson(status));
  EXPECT_EQ(body["error"]["code"], 404);
  EXPECT_EQ(body["error"]["status"], "NOT_FOUND");
  EXPECT_EQ(body["error"]["message"], "integration 'acme' not found");
  EXPECT_EQ(body["error"]["reason"], "INTEGRATION_NOT_FOUND");
}

TEST(ErrorJsonTest, OmitsReasonWithoutErrorInfoAndSurvivesInvalidUtf8) {
  nlohmann::json body =
      nlohmann::json::parse(ErrorJson(absl::PermissionDeniedError("caller \xff\xfe denied")));
  EXPECT_EQ(body["error"]["code"], 403);
  EXPECT_FALSE(body["error"].contains("reason"));
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("denied"));
}

TEST(HttpErrorJsonTest, HasTheSameShape) {
  nlohmann::json body = nlohmann::json::parse(HttpErrorJson(405, "METHOD_NOT_ALLOWED", "GET only"));
  EXPECT_EQ(body,
            nlohmann::json::parse(
                R"({"error":{"code":405,"status":"METHOD_NOT_ALLOWED","message":"GET only"}})"));
}

TEST(RetryAfterSecondsTest, RoundsRetryInfoUpToWholeSecondsAtLeastOne) {
  EXPECT_EQ(
      RetryAfterSeconds(WithRetryDelay(absl::UnavailableError("x"), absl::Milliseconds(2100))), 3);
  EXPECT_EQ(RetryAfterSeconds(WithRetryDelay(absl::UnavailableError("x"), absl::Milliseconds(1))),
            1);
  EXPECT_EQ(RetryAfterSeconds(WithRetryDelay(absl::ResourceExhaustedError("x"), absl::Seconds(40))),
            40);
}

TEST(RetryAfterSecondsTest, UnavailableWithoutRetryInfoGetsTheDefaultOthersNone) {
  EXPECT_EQ(RetryAfterSeconds(absl::UnavailableError("draining")),
            absl::ToInt64Seconds(kDefaultRetryAfter));
  EXPECT_EQ(RetryAfterSeconds(absl::ResourceExhaustedError("x")), std::nullopt);
  EXPECT_EQ(RetryAfterSeconds(absl::NotFoundError("x")), std::nullopt);
}

TEST(ParseMinValidityParamTest, AbsentIsNulloptAndDurationsParse) {
  EXPECT_EQ(*ParseMinValidityParam(std::nullopt), std::nullopt);
  EXPECT_EQ(*ParseMinValidityParam("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseMinValidityParam("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseMinValidityParam("0s"), absl::ZeroDuration());
  EXPECT_EQ(*ParseMinValidityParam("12h"), absl::Hours(12));
}

TEST(ParseMinValidityParamTest, GarbageNegativeInfiniteAndOver12hAreInvalidArgument) {
  for (const char* bad : {"", "5", "five minutes", "-1s", "inf", "12h1s", "1000000h"}) {
    absl::StatusOr<std::optional<absl::Duration>> parsed = ParseMinValidityParam(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("min_validity")) << bad;
  }
}

TEST(Rfc3339Test, UtcWithZAndOnlyTheFractionThereIs) {
  absl::Time t = absl::FromUnixSeconds(1796416555);
  EXPECT_EQ(Rfc3339(t), "2026-12-04T20:35:55Z");
  EXPECT_EQ(Rfc3339(t + absl::Milliseconds(250)), "2026-12-04T20:35:55.25Z");
}

// ---- CertificateIdentity(X509*) ---------------------------------------------

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, X509Free> Parse(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                BIO_free);
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

class X509IdentityTest : public ::testing::Test {
 protected:
  std::optional<std::string> IdentityOf(const testing::CertSpec& spec) {
    auto cert = Parse(ca_.Issue(spec).certificate);
    EXPECT_NE(cert, nullptr);
    return CertificateIdentity(cert.get());
  }
  testing::TestCa ca_;
};

TEST_F(X509IdentityTest, NoCertificateIsNullopt) {
  EXPECT_EQ(CertificateIdentity(nullptr), std::nullopt);
}

TEST_F(X509IdentityTest, SpiffeUriSanWinsOverDnsSanAndCommonName) {
  EXPECT_EQ(IdentityOf({.common_name = "svc-cn",
                        .dns_names = {"first.example.org"},
                        .uris = {"https://not-spiffe.example.org",
                                 "spiffe://example.org/ns/billing/sa/api"}}),
            "spiffe://example.org/ns/billing/sa/api");
}

TEST_F(X509IdentityTest, FirstDnsSanWinsOverCommonNameWithoutSpiffeUri) {
  EXPECT_EQ(IdentityOf({.common_name = "svc-cn",
                        .dns_names = {"first.example.org", "second.example.org"},
                        .uris = {"https://not-spiffe.example.org"}}),
            "first.example.org");
}

TEST_F(X509IdentityTest, CommonNameIsTheLastResort) {
  EXPECT_EQ(IdentityOf({.common_name = "svc-cn"}), "svc-cn");
}

}  // namespace
}  // namespace tokenbroker
