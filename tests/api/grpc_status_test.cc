#include "server/api/grpc_status.h"

#include <string>

#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace tokenbroker {
namespace {

// The google.rpc.Status a client decodes from `grpc-status-details-bin`.
google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  return details;
}

TEST(ToGrpcStatusTest, OkIsOkWithoutDetails) {
  grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_details(), "");
}

TEST(ToGrpcStatusTest, EveryCodeMapsOneToOneAndTheMessageIsKept) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), "integration 'acme': something");
    grpc::Status out = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(out.error_code()), code);
    EXPECT_EQ(out.error_message(), "integration 'acme': something");
  }
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("x")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(ToGrpcStatusTest, StatusWithoutPayloadsHasNoDetails) {
  grpc::Status status = ToGrpcStatus(absl::NotFoundError("integration 'x' not found"));
  EXPECT_EQ(status.error_details(), "");
}

TEST(ToGrpcStatusTest, ErrorInfoAndRetryInfoBecomeDetailsOfTheRichErrorModel) {
  absl::Status in = WithRetryDelay(WithErrorInfo(absl::UnavailableError("IMS unreachable"),
                                                 kReasonImsUnavailable, {{"x_debug_id", "dbg-9"}}),
                                   absl::Milliseconds(1500));
  grpc::Status out = ToGrpcStatus(in);
  EXPECT_EQ(out.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(out.error_message(), "IMS unreachable");

  google::rpc::Status details = Details(out);
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(details.message(), "IMS unreachable");
  ASSERT_EQ(details.details_size(), 2);
  bool saw_error_info = false, saw_retry_info = false;
  for (const auto& any : details.details()) {
    if (any.type_url() == kErrorInfoTypeUrl) {
      google::rpc::ErrorInfo info;
      ASSERT_TRUE(info.ParseFromString(any.value()));
      EXPECT_EQ(info.reason(), "IMS_UNAVAILABLE");
      EXPECT_EQ(info.domain(), "tokenbroker.dev");
      EXPECT_EQ(info.metadata().at("x_debug_id"), "dbg-9");
      saw_error_info = true;
    } else if (any.type_url() == kRetryInfoTypeUrl) {
      google::rpc::RetryInfo info;
      ASSERT_TRUE(info.ParseFromString(any.value()));
      EXPECT_EQ(info.retry_delay().seconds(), 1);
      EXPECT_EQ(info.retry_delay().nanos(), 500'000'000);
      saw_retry_info = true;
    }
  }
  EXPECT_TRUE(saw_error_info);
  EXPECT_TRUE(saw_retry_info);
}

TEST(ToGrpcStatusTest, InvalidFieldKeepsItsBadRequestViolation) {
  grpc::Status out = ToGrpcStatus(InvalidField("update_mask", "auth_method is immutable"));
  EXPECT_EQ(out.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out.error_message(), ::testing::HasSubstr("update_mask"));
  google::rpc::Status details = Details(out);
  bool saw_bad_request = false;
  for (const auto& any : details.details()) {
    if (any.type_url() != kBadRequestTypeUrl) continue;
    google::rpc::BadRequest bad;
    ASSERT_TRUE(bad.ParseFromString(any.value()));
    ASSERT_EQ(bad.field_violations_size(), 1);
    EXPECT_EQ(bad.field_violations(0).field(), "update_mask");
    saw_bad_request = true;
  }
  EXPECT_TRUE(saw_bad_request);
}

}  // namespace
}  // namespace tokenbroker
