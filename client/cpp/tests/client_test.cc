// Client against the real tokenbroker binary and ims-emulator.
#include "tokenbroker/client/client.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sdk_stack.h"
#include "tokenbroker/client/error.h"

namespace tokenbroker::client::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

class ClientTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& broker_flags = {}) {
    auto stack = SdkStack::Start(broker_flags);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    auto client = Client::New(stack_->PlaintextOptions());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::unique_ptr<SdkStack> stack_;
  std::shared_ptr<Client> client_;
};

TEST_F(ClientTest, GetAccessTokenReturnsValidTokenWhenIntegrationExists) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());

  absl::StatusOr<AccessToken> token = client_->GetAccessToken("billing");

  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_THAT(token->token, Not(IsEmpty()));
  EXPECT_EQ(token->integration, "integrations/billing");
  EXPECT_GT(token->expire_time, absl::Now() + absl::Minutes(50));
  EXPECT_LT(token->issue_time, token->expire_time);
}

TEST_F(ClientTest, GetAccessTokenAcceptsResourceNameAndServesCachedToken) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());

  absl::StatusOr<AccessToken> by_id = client_->GetAccessToken("billing");
  absl::StatusOr<AccessToken> by_name = client_->GetAccessToken("integrations/billing");

  ASSERT_TRUE(by_id.ok()) << by_id.status();
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(by_id->token, by_name->token);
  EXPECT_EQ(stack_->ims().Exchanges(kLongClient), 1);
}

TEST_F(ClientTest, GetRequestHeadersReturnsAdobeHeadersWithBearerToken) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());

  absl::StatusOr<RequestHeaders> headers = client_->GetRequestHeaders("billing");

  ASSERT_TRUE(headers.ok()) << headers.status();
  ASSERT_EQ(headers->headers.size(), 3u);
  EXPECT_EQ(headers->headers[0].name, "Authorization");
  EXPECT_THAT(headers->headers[0].value, StartsWith("Bearer "));
  EXPECT_THAT(headers->headers, ::testing::Contains(AllOf(Field(&Header::name, "x-api-key"),
                                                          Field(&Header::value, kLongClient))));
  EXPECT_THAT(headers->headers, ::testing::Contains(AllOf(Field(&Header::name, "x-gw-ims-org-id"),
                                                          Field(&Header::value, kOrgId))));
  absl::StatusOr<AccessToken> token = client_->GetAccessToken("billing");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(headers->headers[0].value, "Bearer " + token->token);
  EXPECT_EQ(headers->expire_time, token->expire_time);
}

TEST_F(ClientTest, RefreshAccessTokenMintsNewToken) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  absl::StatusOr<AccessToken> before = client_->GetAccessToken("billing");
  ASSERT_TRUE(before.ok()) << before.status();

  absl::StatusOr<AccessToken> refreshed = client_->RefreshAccessToken("billing");

  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_NE(refreshed->token, before->token);
  EXPECT_EQ(stack_->ims().Exchanges(kLongClient), 2);
}

TEST_F(ClientTest, GetAccessTokenIsNotFoundWhenIntegrationUnknown) {
  Start();

  absl::StatusOr<AccessToken> token = client_->GetAccessToken("nobody");

  ASSERT_EQ(token.status().code(), absl::StatusCode::kNotFound) << token.status();
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("nobody"));
  TokenbrokerError error = GetError(token.status());
  EXPECT_EQ(error.code, absl::StatusCode::kNotFound);
  EXPECT_EQ(error.reason, kReasonIntegrationNotFound);
  EXPECT_EQ(error.domain, kErrorDomain);
}

TEST_F(ClientTest, GetAccessTokenIsFailedPreconditionWithImsDetailsWhenSecretWrong) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, "wrong-secret").ok());

  absl::StatusOr<AccessToken> token = client_->GetAccessToken("billing");

  ASSERT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition) << token.status();
  TokenbrokerError error = GetError(token.status());
  EXPECT_EQ(error.reason, kReasonImsRejected);
  EXPECT_EQ(error.ims_error, "invalid_client");
  EXPECT_THAT(error.x_debug_id, Not(IsEmpty()));
  EXPECT_EQ(error.http_status, "401");
  EXPECT_THAT(error.ToString(), HasSubstr("ims_error=invalid_client"));
  EXPECT_THAT(error.ToString(), Not(HasSubstr("wrong-secret")));
  // FAILED_PRECONDITION is an answer, not an outage: exactly one call.
  EXPECT_EQ(stack_->ims().Stats()["rejected"].get<int>(), 1);
}

TEST_F(ClientTest, GetAccessTokenIsUnavailableAfterBoundedRetriesWhenImsDown) {
  Start({"--ims-max-attempts=1"});
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  stack_->ims().SetFaults({{"down", true}});
  ClientOptions options = stack_->PlaintextOptions();
  options.retry.max_attempts = 3;
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok());

  absl::Time start = absl::Now();
  absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing");
  absl::Duration elapsed = absl::Now() - start;

  ASSERT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
  TokenbrokerError error = GetError(token.status());
  EXPECT_EQ(error.reason, kReasonImsUnavailable) << error.ToString();
  // One IMS request per SDK attempt (the broker makes one per call here).
  EXPECT_EQ(FaultsInjected(stack_->ims()), 3);
  // Two waits of at most max_backoff (200 ms), or what RetryInfo asked.
  absl::Duration bound = absl::Seconds(5);
  if (error.retry_delay.has_value()) bound += 2 * *error.retry_delay;
  EXPECT_LT(elapsed, bound);

  stack_->ims().SetFaults(nlohmann::json::object());
  absl::StatusOr<AccessToken> recovered = (*client)->GetAccessToken("billing");
  EXPECT_TRUE(recovered.ok()) << recovered.status();
}

TEST_F(ClientTest, RetriesStopAtMaxAttemptsWhenServerUnreachable) {
  // A port nobody listens on: bind one, note it, close it.
  Start();
  ClientOptions options = stack_->PlaintextOptions();
  stack_->broker().process()->Stop();
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = absl::Milliseconds(100);
  options.retry.max_backoff = absl::Milliseconds(100);
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok());

  absl::Time start = absl::Now();
  absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing");
  absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
  EXPECT_THAT(GetError(token.status()).reason, IsEmpty());
  // Two jittered waits of 50..100 ms, plus fast connection refusals (gRPC
  // may also hold a failed subchannel in backoff for up to a second).
  EXPECT_GE(elapsed, absl::Milliseconds(100));
  EXPECT_LT(elapsed, absl::Seconds(5));
}

TEST_F(ClientTest, CallTimeoutGivesDeadlineExceededWhileServerStillRetriesIms) {
  // The broker retries IMS with backoff (4 attempts) for longer than the
  // call's 300 ms.
  Start({"--ims-max-attempts=4"});
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  stack_->ims().SetFaults({{"down", true}});

  absl::Time start = absl::Now();
  CallOptions call;
  call.timeout = absl::Milliseconds(300);
  absl::StatusOr<AccessToken> token = client_->GetAccessToken("billing", call);
  absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(token.status().code(), absl::StatusCode::kDeadlineExceeded) << token.status();
  EXPECT_LT(elapsed, absl::Seconds(2));
}

TEST_F(ClientTest, GetAccessTokenIsInvalidArgumentWhenMinValidityTooLong) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  CallOptions call;
  call.min_remaining_validity = absl::Hours(13);

  absl::StatusOr<AccessToken> token = client_->GetAccessToken("billing", call);

  ASSERT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << token.status();
  TokenbrokerError error = GetError(token.status());
  EXPECT_EQ(error.reason, kReasonInvalidField);
  EXPECT_THAT(error.field_violations,
              ElementsAre(Field(&FieldViolation::field, "min_remaining_validity")));
}

TEST_F(ClientTest, WatchStreamsCurrentTokenThenRotations) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kShortClient, kShortSecret).ok());
  std::unique_ptr<TokenWatch> watch = client_->Watch("billing");

  absl::StatusOr<AccessToken> first = watch->Next();
  absl::StatusOr<AccessToken> second = watch->Next();

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(first->token, second->token);
  EXPECT_GT(second->expire_time, first->expire_time);
  // Rotated before the first one expired.
  EXPECT_LT(absl::Now(), first->expire_time);
}

TEST_F(ClientTest, WatchCancelEndsBlockedNextWithCancelled) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  std::unique_ptr<TokenWatch> watch = client_->Watch("billing");
  ASSERT_TRUE(watch->Next().ok());

  absl::StatusOr<AccessToken> next;
  absl::Notification returned;
  std::thread reader([&] {
    next = watch->Next();
    returned.Notify();
  });
  // A one-hour token: no successor comes, Next() stays blocked. That it does
  // not return within 100 ms is part of what is tested, not a synchronization.
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  watch->Cancel();
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(5)));
  reader.join();

  EXPECT_EQ(next.status().code(), absl::StatusCode::kCancelled) << next.status();
  EXPECT_EQ(watch->Next().status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ClientTest, WatchEndsWithNotFoundWhenIntegrationDeleted) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  std::unique_ptr<TokenWatch> watch = client_->Watch("billing");
  ASSERT_TRUE(watch->Next().ok());

  ASSERT_TRUE(stack_->DeleteIntegration(*client_, "billing").ok());
  absl::StatusOr<AccessToken> next = watch->Next();

  EXPECT_EQ(next.status().code(), absl::StatusCode::kNotFound) << next.status();
}

TEST_F(ClientTest, IntegrationServiceCallsManageAnIntegration) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  v1::GetIntegrationRequest get;
  get.set_name("integrations/billing");

  absl::StatusOr<v1::GetIntegrationResponse> got = client_->GetIntegration(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->integration().client_id(), kLongClient);
  v1::UpdateIntegrationRequest update;
  *update.mutable_integration() = got->integration();
  update.mutable_integration()->set_display_name("Billing");
  update.mutable_update_mask()->add_paths("display_name");
  absl::StatusOr<v1::UpdateIntegrationResponse> updated = client_->UpdateIntegration(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  absl::StatusOr<v1::ListIntegrationsResponse> listed =
      client_->ListIntegrations(v1::ListIntegrationsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  v1::DeleteIntegrationRequest remove;
  remove.set_name("integrations/billing");
  remove.set_etag(updated->integration().etag());
  absl::StatusOr<v1::DeleteIntegrationResponse> deleted = client_->DeleteIntegration(remove);

  EXPECT_EQ(updated->integration().display_name(), "Billing");
  ASSERT_EQ(listed->integrations_size(), 1);
  EXPECT_EQ(listed->integrations(0).display_name(), "Billing");
  EXPECT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(client_->GetIntegration(get).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientTest, IntegrationServiceErrorsCarryTheServersDetails) {
  Start();
  ASSERT_TRUE(stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret).ok());
  v1::GetIntegrationRequest missing;
  missing.set_name("integrations/missing");
  v1::CreateIntegrationRequest invalid;
  invalid.set_integration_id("Not_An_Id");

  absl::Status not_found = client_->GetIntegration(missing).status();
  absl::Status exists = stack_->CreateIntegration(*client_, "billing", kLongClient, kLongSecret);
  absl::Status bad = client_->CreateIntegration(invalid).status();

  EXPECT_EQ(not_found.code(), absl::StatusCode::kNotFound) << not_found;
  EXPECT_THAT(std::string(not_found.message()), HasSubstr("missing"));
  EXPECT_EQ(exists.code(), absl::StatusCode::kAlreadyExists) << exists;
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_EQ(GetError(bad).field, "integration_id") << GetError(bad).ToString();
}

TEST(ClientOptionsTest, NewRejectsInconsistentOptions) {
  ClientOptions plaintext_with_ca;
  plaintext_with_ca.plaintext = true;
  plaintext_with_ca.ca_file = "/ca.pem";
  ClientOptions cert_without_key;
  cert_without_key.cert_file = "/cert.pem";
  ClientOptions two_tokens;
  two_tokens.caller_token = "a";
  two_tokens.caller_token_file = "/token";
  ClientOptions zero_timeout;
  zero_timeout.call_timeout = absl::ZeroDuration();
  ClientOptions no_attempts;
  no_attempts.retry.max_attempts = 0;
  ClientOptions missing_ca;
  missing_ca.ca_file = "/nonexistent/ca.pem";
  ClientOptions newline_token;
  newline_token.plaintext = true;
  newline_token.caller_token = "a\nb";

  for (const ClientOptions& options : {plaintext_with_ca, cert_without_key, two_tokens,
                                       zero_timeout, no_attempts, missing_ca, newline_token}) {
    EXPECT_EQ(Client::New(options).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(std::string(Client::New(missing_ca).status().message()),
              HasSubstr("/nonexistent/ca.pem"));
}

TEST(IntegrationNameTest, PrefixesBareIdsOnly) {
  EXPECT_EQ(IntegrationName("billing"), "integrations/billing");
  EXPECT_EQ(IntegrationName("integrations/billing"), "integrations/billing");
}

}  // namespace
}  // namespace tokenbroker::client::testing
