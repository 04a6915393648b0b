#include "server/ims/ims_response.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ims/test_util.h"
#include "tests/testing/fake_http_transport.h"

namespace tokenbroker {
namespace {

using testing::ErrorMetadata;
using testing::ErrorReason;
using ::testing::HasSubstr;
using testing::JsonResponse;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(ParseImsTokenResponseTest, SecondsUnitGivesExpiryInSeconds) {
  HttpResponse r = JsonResponse(200, {{"access_token", "opaque"}, {"expires_in", 86399}},
                                {{"x-debug-id", "dbg-1"}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "i1", kNow);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->access_token.value(), "opaque");
  EXPECT_EQ(token->issue_time, kNow);
  EXPECT_EQ(token->expire_time, kNow + absl::Seconds(86399));
  EXPECT_EQ(token->debug_id, "dbg-1");
}

TEST(ParseImsTokenResponseTest, MillisecondsUnitGivesExpiryInMilliseconds) {
  HttpResponse r = JsonResponse(200, {{"access_token", "opaque"}, {"expires_in", 86399992}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kMilliseconds, "i1", kNow);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->expire_time, kNow + absl::Milliseconds(86399992));
}

TEST(ParseImsTokenResponseTest, ExpiresInAsStringIsAccepted) {
  HttpResponse r = JsonResponse(200, {{"access_token", "opaque"}, {"expires_in", "3600"}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "i1", kNow);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->expire_time, kNow + absl::Hours(1));
}

TEST(ParseImsTokenResponseTest, TokenClaimsShortenExpiryWhenUnitsAreConfused) {
  // The token says 24 h; a ms value read as seconds would say ~1000 days.
  std::string access = testing::FakeAccessToken(
      {{"created_at", std::to_string(absl::ToUnixMillis(kNow))}, {"expires_in", "86400000"}});
  HttpResponse r = JsonResponse(200, {{"access_token", access}, {"expires_in", 86400000}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "i1", kNow);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->expire_time, kNow + absl::Hours(24));
}

TEST(ParseImsTokenResponseTest, TokenClaimsNeverExtendExpiry) {
  std::string access = testing::FakeAccessToken(
      {{"created_at", absl::ToUnixMillis(kNow)}, {"expires_in", 86400000}});
  HttpResponse r = JsonResponse(200, {{"access_token", access}, {"expires_in", 3600}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "i1", kNow);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->expire_time, kNow + absl::Hours(1));
}

TEST(ParseImsTokenResponseTest, ImplausibleCreatedAtIsIgnored) {
  std::string access = testing::FakeAccessToken(
      {{"created_at", absl::ToUnixMillis(kNow - absl::Hours(48))}, {"expires_in", 86400000}});
  HttpResponse r = JsonResponse(200, {{"access_token", access}, {"expires_in", 86399}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "i1", kNow);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->expire_time, kNow + absl::Seconds(86399));
}

// Found by tests/fuzz/ims_token_claims_fuzzer (UBSan: a float-to-int64 conversion out of range).
TEST(ParseImsTokenResponseTest, CreatedAtOutsideTheRangeOfInt64IsIgnored) {
  for (double created_at : {1e30, -1e30}) {
    std::string access =
        testing::FakeAccessToken({{"created_at", created_at}, {"expires_in", 86400000}});
    HttpResponse r = JsonResponse(200, {{"access_token", access}, {"expires_in", 86399}});
    auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "i1", kNow);
    ASSERT_TRUE(token.ok()) << token.status();
    EXPECT_EQ(token->expire_time, kNow + absl::Seconds(86399));
  }
}

TEST(ParseImsTokenResponseTest, MalformedSuccessBodiesAreRetryableBadResponses) {
  struct Case {
    const char* name;
    std::string body;
  };
  std::vector<Case> cases = {
      {"not json", "<html>oops tok-MARKER-do-not-leak</html>"},
      {"array", "[1,2]"},
      {"no token", R"({"expires_in": 10})"},
      {"empty token", R"({"access_token": "", "expires_in": 10})"},
      {"no expires_in", R"({"access_token": "tok-MARKER-do-not-leak"})"},
      {"zero expires_in", R"({"access_token": "tok-MARKER-do-not-leak", "expires_in": 0})"},
      {"negative expires_in", R"({"access_token": "tok-MARKER-do-not-leak", "expires_in": -5})"},
      {"text expires_in", R"({"access_token": "tok-MARKER-do-not-leak", "expires_in": "soon"})"},
      // Found by tests/fuzz/ims_response_fuzzer: expired when issued, or never refreshed.
      {"sub-nanosecond expires_in",
       R"({"access_token": "tok-MARKER-do-not-leak", "expires_in": 1e-12})"},
      {"huge expires_in", R"({"access_token": "tok-MARKER-do-not-leak", "expires_in": 1e300})"},
      // Found by tests/fuzz/ims_token_claims_fuzzer: its own claims say it expired.
      {"expired by its claims",
       R"({"access_token": ")" +
           testing::FakeAccessToken({{"created_at", absl::ToUnixMillis(kNow - absl::Minutes(30))},
                                     {"expires_in", 60000}}) +
           R"(", "expires_in": 3600})"},
  };
  for (const Case& c : cases) {
    HttpResponse r;
    r.status_code = 200;
    r.headers = {{"x-debug-id", "dbg-7"}};
    r.body = SecretString(c.body);
    auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "i1", kNow);
    ASSERT_FALSE(token.ok()) << c.name;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << c.name;
    EXPECT_EQ(ErrorReason(token.status()), kReasonImsBadResponse) << c.name;
    EXPECT_EQ(ErrorMetadata(token.status(), "x_debug_id"), "dbg-7") << c.name;
    EXPECT_THAT(token.status().message(), HasSubstr("i1")) << c.name;
    EXPECT_THAT(token.status().message(), Not(HasSubstr(testing::kMarkerToken))) << c.name;
  }
}

TEST(ParseImsTokenResponseTest, RejectionsAreFailedPreconditionWithErrorInfo) {
  for (int code : {400, 401, 403}) {
    for (const char* error : {"invalid_client", "invalid_token", "invalid_signature",
                              "invalid_scope", "bad_request", "invalid_jti"}) {
      HttpResponse r =
          JsonResponse(code, {{"error", error}, {"error_description", "Something is off"}},
                       {{"x-debug-id", "dbg-42"}});
      auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
      ASSERT_FALSE(token.ok());
      EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_EQ(ErrorReason(token.status()), kReasonImsRejected);
      EXPECT_EQ(ErrorMetadata(token.status(), "ims_error"), error);
      EXPECT_EQ(ErrorMetadata(token.status(), "x_debug_id"), "dbg-42");
      EXPECT_EQ(ErrorMetadata(token.status(), "http_status"), std::to_string(code));
      EXPECT_EQ(token.status().message(), absl::StrCat("IMS rejected integration 'acme': ", error,
                                                       " (x-debug-id: dbg-42): Something is off"));
    }
  }
}

TEST(ParseImsTokenResponseTest, LongDescriptionIsCappedAndUnprintableOneDropped) {
  HttpResponse r =
      JsonResponse(400, {{"error", "invalid_scope"}, {"error_description", std::string(500, 'x')}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
  ASSERT_FALSE(token.ok());
  EXPECT_THAT(token.status().message(), HasSubstr(std::string(200, 'x') + "..."));
  EXPECT_THAT(token.status().message(), Not(HasSubstr(std::string(201, 'x'))));

  r = JsonResponse(400, {{"error", "invalid_scope"}, {"error_description", "bad\nline"}});
  token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
  EXPECT_EQ(token.status().message(),
            "IMS rejected integration 'acme': invalid_scope (no x-debug-id)");
}

TEST(ParseImsTokenResponseTest, RejectionWithoutJsonBodyStillNamesTheStatus) {
  HttpResponse r;
  r.status_code = 404;
  r.body = SecretString(std::string("<html>not found</html>"));
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorMetadata(token.status(), "ims_error"), "http_404");
  EXPECT_THAT(token.status().message(), Not(HasSubstr("html")));
}

TEST(ParseImsTokenResponseTest, TooManyRequestsWithRetryAfterSecondsCarriesRetryInfo) {
  HttpResponse r = JsonResponse(429, {{"error", "too_many_requests"}},
                                {{"Retry-After", "17"}, {"x-debug-id", "dbg-9"}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(token.status()), kReasonImsUnavailable);
  EXPECT_EQ(ErrorMetadata(token.status(), "http_status"), "429");
  EXPECT_EQ(ErrorMetadata(token.status(), "x_debug_id"), "dbg-9");
  EXPECT_EQ(GetRetryDelay(token.status()), absl::Seconds(17));
}

TEST(ParseImsTokenResponseTest, ServiceUnavailableWithRetryAfterDateCarriesRetryInfo) {
  std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", kNow + absl::Seconds(90), absl::UTCTimeZone());
  HttpResponse r = JsonResponse(503, nlohmann::json::object(), {{"retry-after", date}});
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetRetryDelay(token.status()), absl::Seconds(90));
}

TEST(ParseImsTokenResponseTest, ServerErrorsAreUnavailableWithoutRetryInfo) {
  for (int code : {408, 500, 502, 503, 504}) {
    HttpResponse r = JsonResponse(code, nlohmann::json::object());
    auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << code;
    EXPECT_EQ(ErrorReason(token.status()), kReasonImsUnavailable) << code;
    EXPECT_FALSE(GetRetryDelay(token.status()).has_value()) << code;
  }
}

TEST(ParseImsTokenResponseTest, RedirectIsFailedPrecondition) {
  HttpResponse r;
  r.status_code = 302;
  auto token = ParseImsTokenResponse(r, ExpiresInUnit::kSeconds, "acme", kNow);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(token.status().message(), HasSubstr("base URL"));
}

TEST(ParseRetryAfterTest, ParsesBothFormsAndRejectsJunk) {
  EXPECT_EQ(ParseRetryAfter("0", kNow), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter(" 5 ", kNow), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter("999999999", kNow), absl::Hours(24));
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", kNow), absl::ZeroDuration());
  EXPECT_FALSE(ParseRetryAfter("", kNow).has_value());
  EXPECT_FALSE(ParseRetryAfter("-3", kNow).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", kNow).has_value());
}

TEST(ImsTransportErrorTest, UnavailableGetsReasonAndContext) {
  absl::Status s =
      ImsTransportError(absl::UnavailableError("HTTP POST to h failed: timed out"), "acme");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(s), kReasonImsUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("'acme'"));
  EXPECT_THAT(s.message(), HasSubstr("timed out"));
}

}  // namespace
}  // namespace tokenbroker
