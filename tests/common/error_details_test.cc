#include "server/common/error_details.h"

#include <string>

#include "absl/strings/cord.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;

TEST(ErrorInfoTest, WithErrorInfoRoundTripsReasonDomainAndMetadata) {
  absl::Status status =
      WithErrorInfo(absl::UnavailableError("IMS unreachable"), kReasonImsUnavailable,
                    {{"x_debug_id", "dbg-1"}, {"ims_error", "server_error"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "IMS unreachable");
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "IMS_UNAVAILABLE");
  EXPECT_EQ(info->domain(), "tokenbroker.dev");
  ASSERT_EQ(info->metadata().size(), 2u);
  EXPECT_EQ(info->metadata().at("x_debug_id"), "dbg-1");
  EXPECT_EQ(info->metadata().at("ims_error"), "server_error");
}

TEST(ErrorInfoTest, GetErrorInfoOfAStatusWithoutOneIsNullopt) {
  EXPECT_FALSE(GetErrorInfo(absl::NotFoundError("x")).has_value());
  EXPECT_FALSE(GetErrorInfo(absl::OkStatus()).has_value());
}

TEST(ErrorInfoTest, GetErrorInfoOfAnUnparsablePayloadIsNullopt) {
  absl::Status status = absl::InternalError("x");
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord("\xff\xff\xff"));
  EXPECT_FALSE(GetErrorInfo(status).has_value());
}

TEST(ErrorInfoTest, WithErrorInfoReplacesAnEarlierErrorInfo) {
  absl::Status status = WithErrorInfo(absl::NotFoundError("x"), kReasonIntegrationNotFound);
  status = WithErrorInfo(status, kReasonIntegrationDisabled);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "INTEGRATION_DISABLED");
}

TEST(ErrorInfoTest, WithErrorInfoOnOkStaysOkWithoutPayload) {
  absl::Status status = WithErrorInfo(absl::OkStatus(), kReasonImsRejected);
  EXPECT_TRUE(status.ok());
  EXPECT_FALSE(GetErrorInfo(status).has_value());
}

TEST(RetryInfoTest, WithRetryDelayRoundTripsWholeAndFractionalSeconds) {
  for (absl::Duration delay : {absl::Seconds(30), absl::Milliseconds(1500), absl::Nanoseconds(1),
                               absl::ZeroDuration(), absl::Hours(2) + absl::Nanoseconds(7)}) {
    absl::Status status = WithRetryDelay(absl::ResourceExhaustedError("slow down"), delay);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
    std::optional<absl::Duration> back = GetRetryDelay(status);
    ASSERT_TRUE(back.has_value()) << delay;
    EXPECT_EQ(*back, delay);
  }
}

TEST(RetryInfoTest, WithRetryDelayEncodesTheProtobufDurationFields) {
  absl::Status status = WithRetryDelay(absl::UnavailableError("x"), absl::Milliseconds(2250));
  google::rpc::RetryInfo info;
  ASSERT_TRUE(info.ParseFromString(std::string(*status.GetPayload(kRetryInfoTypeUrl))));
  EXPECT_EQ(info.retry_delay().seconds(), 2);
  EXPECT_EQ(info.retry_delay().nanos(), 250000000);
}

TEST(RetryInfoTest, GetRetryDelayWithoutPayloadIsNullopt) {
  EXPECT_FALSE(GetRetryDelay(absl::UnavailableError("x")).has_value());
}

TEST(RetryInfoTest, RetryInfoAndErrorInfoLiveSideBySide) {
  absl::Status status = WithRetryDelay(
      WithErrorInfo(absl::UnavailableError("x"), kReasonImsUnavailable), absl::Seconds(1));
  EXPECT_EQ(GetErrorInfo(status)->reason(), "IMS_UNAVAILABLE");
  EXPECT_EQ(*GetRetryDelay(status), absl::Seconds(1));
}

TEST(InvalidFieldTest, InvalidFieldIsInvalidArgumentNamingTheFieldWithBadRequestAndErrorInfo) {
  absl::Status status = InvalidField("integration.client_id", "required");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalid integration.client_id: required");

  auto payload = status.GetPayload(kBadRequestTypeUrl);
  ASSERT_TRUE(payload.has_value());
  google::rpc::BadRequest bad;
  ASSERT_TRUE(bad.ParseFromString(std::string(*payload)));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "integration.client_id");
  EXPECT_EQ(bad.field_violations(0).description(), "required");

  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "INVALID_FIELD");
  EXPECT_EQ(info->metadata().at("field"), "integration.client_id");
}

TEST(WithContextTest, WithContextPrefixesTheMessageAndKeepsCodeAndDetails) {
  absl::Status status = WithRetryDelay(
      WithErrorInfo(absl::UnavailableError("IMS down"), kReasonImsUnavailable), absl::Seconds(3));
  absl::Status annotated = WithContext(status, "minting: ");
  EXPECT_EQ(annotated.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(annotated.message(), "minting: IMS down");
  EXPECT_EQ(GetErrorInfo(annotated)->reason(), kReasonImsUnavailable);
  EXPECT_EQ(GetRetryDelay(annotated), absl::Seconds(3));
  EXPECT_TRUE(WithContext(absl::OkStatus(), "x").ok());
}

}  // namespace
}  // namespace tokenbroker
