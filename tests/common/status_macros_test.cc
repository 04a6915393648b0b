#include "server/common/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

absl::Status Step(absl::Status result, int* calls) {
  ++*calls;
  return result;
}

absl::Status TwoSteps(absl::Status first, int* calls) {
  TB_RETURN_IF_ERROR(Step(first, calls));
  TB_RETURN_IF_ERROR(Step(absl::OkStatus(), calls));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(absl::StatusOr<int> value) {
  if (!value.ok()) return value.status();
  return std::make_unique<int>(*value);
}

absl::StatusOr<int> Doubled(absl::StatusOr<int> value) {
  TB_ASSIGN_OR_RETURN(std::unique_ptr<int> made, MakeInt(value));  // move-only works
  TB_ASSIGN_OR_RETURN(int again, absl::StatusOr<int>(*made));      // twice in one scope
  return again * 2;
}

TEST(StatusMacrosTest, ReturnIfErrorContinuesOnOk) {
  int calls = 0;
  EXPECT_TRUE(TwoSteps(absl::OkStatus(), &calls).ok());
  EXPECT_EQ(calls, 2);
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheFirstErrorUnchanged) {
  int calls = 0;
  absl::Status status = TwoSteps(absl::NotFoundError("integration 'x' not found"), &calls);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "integration 'x' not found");
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacrosTest, AssignOrReturnAssignsTheValue) {
  absl::StatusOr<int> result = Doubled(21);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 42);
}

TEST(StatusMacrosTest, AssignOrReturnReturnsTheError) {
  absl::StatusOr<int> result = Doubled(absl::AbortedError("etag mismatch"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(result.status().message(), "etag mismatch");
}

}  // namespace
}  // namespace tokenbroker
