// Decoding google.rpc.Status details into TokenbrokerError (no sockets).
#include "tokenbroker/client/error.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "internal/grpc_status.h"

namespace tokenbroker::client {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

grpc::Status ImsRejected() {
  google::rpc::Status details;
  details.set_code(grpc::StatusCode::FAILED_PRECONDITION);
  details.set_message("IMS rejected the credentials");
  google::rpc::ErrorInfo info;
  info.set_reason("IMS_REJECTED");
  info.set_domain("tokenbroker.dev");
  (*info.mutable_metadata())["ims_error"] = "invalid_client";
  (*info.mutable_metadata())["x_debug_id"] = "dbg-42";
  (*info.mutable_metadata())["http_status"] = "401";
  details.add_details()->PackFrom(info);
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(2);
  retry.mutable_retry_delay()->set_nanos(500000000);
  details.add_details()->PackFrom(retry);
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "IMS rejected the credentials",
                      details.SerializeAsString());
}

TEST(GetErrorTest, DecodesErrorInfoAndRetryInfo) {
  absl::Status status = internal::FromGrpcStatus(ImsRejected());

  TokenbrokerError error = GetError(status);

  EXPECT_EQ(error.code, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message, "IMS rejected the credentials");
  EXPECT_EQ(error.reason, kReasonImsRejected);
  EXPECT_EQ(error.domain, kErrorDomain);
  EXPECT_EQ(error.ims_error, "invalid_client");
  EXPECT_EQ(error.x_debug_id, "dbg-42");
  EXPECT_EQ(error.http_status, "401");
  EXPECT_EQ(error.retry_delay, absl::Milliseconds(2500));
  EXPECT_EQ(error.metadata.size(), 3u);
  EXPECT_EQ(error.ToString(),
            "FAILED_PRECONDITION: IMS rejected the credentials [reason=IMS_REJECTED "
            "ims_error=invalid_client x_debug_id=dbg-42 http_status=401 retry_delay=2.5s]");
}

TEST(GetErrorTest, DecodesBadRequest) {
  google::rpc::Status details;
  google::rpc::BadRequest bad;
  auto* violation = bad.add_field_violations();
  violation->set_field("name");
  violation->set_description("must be integrations/{id}");
  details.add_details()->PackFrom(bad);
  absl::Status status = internal::FromGrpcStatus(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad name", details.SerializeAsString()));

  TokenbrokerError error = GetError(status);

  EXPECT_EQ(error.code, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.field_violations, ElementsAre(Field(&FieldViolation::field, "name")));
}

TEST(GetErrorTest, GivesCodeAndMessageOnlyWithoutDetails) {
  absl::Status status =
      internal::FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"));

  TokenbrokerError error = GetError(status);

  EXPECT_EQ(error.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(error.message, "connection refused");
  EXPECT_THAT(error.reason, IsEmpty());
  EXPECT_FALSE(error.retry_delay.has_value());
  EXPECT_EQ(error.ToString(), "UNAVAILABLE: connection refused");
}

TEST(GetErrorTest, IgnoresUndecodableDetails) {
  absl::Status status = internal::FromGrpcStatus(
      grpc::Status(grpc::StatusCode::INTERNAL, "boom", std::string("\xff\xff\xff", 3)));

  TokenbrokerError error = GetError(status);

  EXPECT_EQ(error.code, absl::StatusCode::kInternal);
  EXPECT_THAT(error.reason, IsEmpty());
}

TEST(GetErrorTest, OkStatusHasNoDetails) {
  TokenbrokerError error = GetError(absl::OkStatus());
  EXPECT_EQ(error.code, absl::StatusCode::kOk);
  EXPECT_THAT(error.ToString(), HasSubstr("OK"));
}

}  // namespace
}  // namespace tokenbroker::client
