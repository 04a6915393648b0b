// Interactions the real server cannot show: the metadata the SDK sends, the
// number of attempts it makes, and how it honours RetryInfo. A scripted
// in-process TokenService (FakeTokenService) and IntegrationService
// (FakeIntegrationService) answer on a loopback port.
#include <grpcpp/grpcpp.h>

#include <deque>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tokenbroker/client/client.h"
#include "tokenbroker/client/error.h"
#include "tokenbroker/v1/integration_service.grpc.pb.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

namespace tokenbroker::client::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A TokenService that fails the first `failures` GetAccessToken calls with
// UNAVAILABLE (with `retry_delay` as RetryInfo when set), then returns a
// fixed token, and records each call's `authorization` metadata. Insecure:
// a test double only.
class FakeTokenService final : public v1::TokenService::Service {
 public:
  void FailNext(int failures, std::optional<absl::Duration> retry_delay = std::nullopt) {
    absl::MutexLock lock(&mu_);
    failures_ = failures;
    retry_delay_ = retry_delay;
  }
  // Once the failures are spent, calls get no answer until their deadline.
  void HangAfterFailures() {
    absl::MutexLock lock(&mu_);
    hang_ = true;
  }
  std::vector<std::string> authorizations() {
    absl::MutexLock lock(&mu_);
    return authorizations_;
  }
  std::vector<absl::Time> call_times() {
    absl::MutexLock lock(&mu_);
    return call_times_;
  }
  int header_calls() {
    absl::MutexLock lock(&mu_);
    return header_calls_;
  }

  // Always FAILED_PRECONDITION.
  grpc::Status GetRequestHeaders(grpc::ServerContext* context,
                                 const v1::GetRequestHeadersRequest* request,
                                 v1::GetRequestHeadersResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++header_calls_;
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "integration disabled");
  }

  grpc::Status GetAccessToken(grpc::ServerContext* context,
                              const v1::GetAccessTokenRequest* request,
                              v1::GetAccessTokenResponse* response) override {
    grpc::Status status = Respond(context, request, response);
    if (!status.ok() || !hanging()) return status;
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer");
  }

 private:
  bool hanging() {
    absl::MutexLock lock(&mu_);
    return hang_;
  }

  // Records the call; UNAVAILABLE while failures remain, else a token.
  grpc::Status Respond(grpc::ServerContext* context, const v1::GetAccessTokenRequest* request,
                       v1::GetAccessTokenResponse* response) {
    absl::MutexLock lock(&mu_);
    auto it = context->client_metadata().find("authorization");
    authorizations_.push_back(it == context->client_metadata().end()
                                  ? std::string()
                                  : std::string(it->second.data(), it->second.size()));
    call_times_.push_back(absl::Now());
    if (failures_ > 0) {
      --failures_;
      google::rpc::Status details;
      details.set_code(grpc::StatusCode::UNAVAILABLE);
      details.set_message("IMS is down");
      if (retry_delay_.has_value()) {
        google::rpc::RetryInfo info;
        info.mutable_retry_delay()->set_seconds(absl::ToInt64Seconds(*retry_delay_));
        info.mutable_retry_delay()->set_nanos(
            static_cast<int32_t>(absl::ToInt64Nanoseconds(*retry_delay_ % absl::Seconds(1))));
        details.add_details()->PackFrom(info);
      }
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "IMS is down",
                          details.SerializeAsString());
    }
    response->mutable_token()->set_access_token("fake-token");
    response->mutable_token()->set_integration(request->name());
    response->mutable_token()->mutable_expire_time()->set_seconds(
        absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  bool hang_ = false;
  int failures_ = 0;
  std::optional<absl::Duration> retry_delay_;
  std::vector<std::string> authorizations_;
  std::vector<absl::Time> call_times_;
  int header_calls_ = 0;
};

// An IntegrationService whose Get, Create, Rotate and Migrate fail the
// first call with UNAVAILABLE and then succeed, recording each call's
// `authorization` metadata and its method. Insecure: a test double only.
class FakeIntegrationService final : public v1::IntegrationService::Service {
 public:
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  grpc::Status GetIntegration(grpc::ServerContext* context,
                              const v1::GetIntegrationRequest* request,
                              v1::GetIntegrationResponse* response) override {
    response->mutable_integration()->set_name(request->name());
    return Answer(context, "Get");
  }

  grpc::Status CreateIntegration(grpc::ServerContext* context,
                                 const v1::CreateIntegrationRequest* request,
                                 v1::CreateIntegrationResponse* response) override {
    response->mutable_integration()->set_name("integrations/" + request->integration_id());
    return Answer(context, "Create");
  }

  grpc::Status RotateClientSecret(grpc::ServerContext* context,
                                  const v1::RotateClientSecretRequest* request,
                                  v1::RotateClientSecretResponse* response) override {
    return Answer(context, "Rotate");
  }

  grpc::Status MigrateIntegration(grpc::ServerContext* context,
                                  const v1::MigrateIntegrationRequest* request,
                                  v1::MigrateIntegrationResponse* response) override {
    return Answer(context, "Migrate");
  }

 private:
  // UNAVAILABLE on the first call of `method`, else OK.
  grpc::Status Answer(grpc::ServerContext* context, const std::string& method) {
    absl::MutexLock lock(&mu_);
    auto it = context->client_metadata().find("authorization");
    std::string authorization = it == context->client_metadata().end()
                                    ? std::string("-")
                                    : std::string(it->second.data(), it->second.size());
    calls_.push_back(method + " " + authorization);
    if (failed_.insert(method).second) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
    }
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  std::vector<std::string> calls_;
  std::set<std::string> failed_;
};

class FakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    builder.RegisterService(&integrations_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  ClientOptions Options() const {
    ClientOptions options;
    options.target = "127.0.0.1:" + std::to_string(port_);
    options.plaintext = true;
    options.retry.initial_backoff = absl::Milliseconds(20);
    options.retry.max_backoff = absl::Milliseconds(40);
    return options;
  }

  FakeTokenService service_;
  FakeIntegrationService integrations_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(FakeServerTest, SendsCallerTokenAsBearerMetadata) {
  ClientOptions options = Options();
  options.caller_token = "caller-secret";
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok()) << client.status();

  ASSERT_TRUE((*client)->GetAccessToken("billing").ok());

  EXPECT_THAT(service_.authorizations(), ElementsAre("Bearer caller-secret"));
}

TEST_F(FakeServerTest, SendsNoAuthorizationWithoutCallerToken) {
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok()) << client.status();

  ASSERT_TRUE((*client)->GetAccessToken("billing").ok());

  EXPECT_THAT(service_.authorizations(), ElementsAre(""));
}

TEST_F(FakeServerTest, RereadsCallerTokenFileAfterReloadInterval) {
  ::tokenbroker::testing::TempDir dir;
  std::string path = dir.File("token");
  ::tokenbroker::testing::WriteFile(path, "first\n");
  ClientOptions options = Options();
  options.caller_token_file = path;
  options.caller_token_reload = absl::Milliseconds(100);
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok()) << client.status();

  ASSERT_TRUE((*client)->GetAccessToken("billing").ok());
  ::tokenbroker::testing::WriteFile(path, "second\n");
  // Calls until one carries the new token (once the reload interval passed).
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  do {
    ASSERT_LT(absl::Now(), deadline) << "the new caller token was not sent within 5 s";
    ASSERT_TRUE((*client)->GetAccessToken("billing").ok());
  } while (service_.authorizations().back() != "Bearer second");
  // An empty (or unreadable) file fails the call, naming the file only.
  ::tokenbroker::testing::WriteFile(path, "");
  absl::StatusOr<AccessToken> failed;
  do {
    ASSERT_LT(absl::Now(), deadline) << "the emptied file was not noticed within 5 s";
    failed = (*client)->GetAccessToken("billing");
  } while (failed.ok());
  const size_t calls_before = service_.authorizations().size();
  // A failed read is not kept: the next call reads the file again.
  ::tokenbroker::testing::WriteFile(path, "third\n");
  absl::StatusOr<AccessToken> recovered = (*client)->GetAccessToken("billing");

  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnauthenticated) << failed.status();
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(failed.status().message()), Not(HasSubstr("second")));
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  std::vector<std::string> sent = service_.authorizations();
  ASSERT_EQ(sent.size(), calls_before + 1) << "the failed call went out";
  EXPECT_EQ(sent.front(), "Bearer first");
  EXPECT_EQ(sent.back(), "Bearer third");
  EXPECT_THAT(sent, Each(AnyOf("Bearer first", "Bearer second", "Bearer third")));
}

TEST_F(FakeServerTest, RetriesUnavailableUntilSuccess) {
  service_.FailNext(2);
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok());

  absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing");

  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->token, "fake-token");
  EXPECT_EQ(service_.call_times().size(), 3u);
}

TEST_F(FakeServerTest, GivesUpAfterMaxAttemptsWithLastError) {
  service_.FailNext(10);
  ClientOptions options = Options();
  options.retry.max_attempts = 4;
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok());

  absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing");

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(token.status().message(), "IMS is down");
  std::vector<absl::Time> times = service_.call_times();
  ASSERT_EQ(times.size(), 4u);
  // Waits are jittered within [nominal/2, nominal]: 20, 40, 40 ms nominal.
  EXPECT_GE(times[1] - times[0], absl::Milliseconds(10));
  EXPECT_GE(times[3] - times[2], absl::Milliseconds(20));
  EXPECT_LT(times[3] - times[0], absl::Seconds(1));
}

TEST_F(FakeServerTest, NoRetryWhenMaxAttemptsIsOne) {
  service_.FailNext(1);
  ClientOptions options = Options();
  options.retry.max_attempts = 1;
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok());

  EXPECT_EQ((*client)->GetAccessToken("billing").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.call_times().size(), 1u);
}

TEST_F(FakeServerTest, HonoursLongerRetryInfoDelay) {
  service_.FailNext(1, absl::Milliseconds(300));
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok());

  absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing");

  ASSERT_TRUE(token.ok()) << token.status();
  std::vector<absl::Time> times = service_.call_times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_GE(times[1] - times[0], absl::Milliseconds(300));
}

TEST_F(FakeServerTest, DoesNotRetryWhenRetryInfoDelayPassesDeadline) {
  service_.FailNext(1, absl::Seconds(5));
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok());
  CallOptions call;
  call.timeout = absl::Seconds(1);

  absl::Time start = absl::Now();
  absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing", call);

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetError(token.status()).retry_delay, absl::Seconds(5));
  EXPECT_EQ(service_.call_times().size(), 1u);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(900));
}

TEST_F(FakeServerTest, ARetryTheDeadlineEndsReturnsTheUnavailable) {
  service_.FailNext(1);
  service_.HangAfterFailures();
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok());
  CallOptions call;
  call.timeout = absl::Milliseconds(300);

  absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing", call);

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
  EXPECT_EQ(token.status().message(), "IMS is down");
  EXPECT_EQ(service_.call_times().size(), 2u);
}

TEST_F(FakeServerTest, FailedPreconditionIsNotRetried) {
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok());

  absl::StatusOr<RequestHeaders> headers = (*client)->GetRequestHeaders("billing");

  EXPECT_EQ(headers.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.header_calls(), 1);
}

TEST_F(FakeServerTest, UnimplementedIsReturnedAsIs) {
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok());

  absl::StatusOr<AccessToken> token = (*client)->RefreshAccessToken("billing");

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(FakeServerTest, IntegrationReadIsRetriedOnUnavailableWithCallerToken) {
  ClientOptions options = Options();
  options.caller_token = "admin-secret";
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok()) << client.status();
  v1::GetIntegrationRequest request;
  request.set_name("integrations/billing");

  absl::StatusOr<v1::GetIntegrationResponse> got = (*client)->GetIntegration(request);

  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->integration().name(), "integrations/billing");
  EXPECT_THAT(integrations_.calls(),
              ElementsAre("Get Bearer admin-secret", "Get Bearer admin-secret"));
}

TEST_F(FakeServerTest, IntegrationChangeIsNotRetriedOnUnavailable) {
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok()) << client.status();
  v1::CreateIntegrationRequest request;
  request.set_integration_id("billing");

  absl::StatusOr<v1::CreateIntegrationResponse> created = (*client)->CreateIntegration(request);

  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable) << created.status();
  EXPECT_THAT(integrations_.calls(), ElementsAre("Create -"));
}

// A second RotateClientSecret continues the same rotation (client/BEHAVIOUR.md §3).
TEST_F(FakeServerTest, RotationIsRetriedOnUnavailable) {
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok()) << client.status();
  v1::RotateClientSecretRequest request;
  request.set_parent("integrations/billing");

  absl::StatusOr<v1::RotateClientSecretResponse> rotated = (*client)->RotateClientSecret(request);

  EXPECT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_THAT(integrations_.calls(), ElementsAre("Rotate -", "Rotate -"));
}

TEST_F(FakeServerTest, MigrationIsNotRetriedOnUnavailable) {
  auto client = Client::New(Options());
  ASSERT_TRUE(client.ok()) << client.status();
  v1::MigrateIntegrationRequest request;
  request.set_name("integrations/billing");

  absl::StatusOr<v1::MigrateIntegrationResponse> migrated = (*client)->MigrateIntegration(request);

  EXPECT_EQ(migrated.status().code(), absl::StatusCode::kUnavailable) << migrated.status();
  EXPECT_THAT(integrations_.calls(), ElementsAre("Migrate -"));
}

TEST_F(FakeServerTest, IntegrationCallHonoursCallTimeout) {
  ClientOptions options = Options();
  options.target = "127.0.0.1:1";  // nothing listens: every attempt is UNAVAILABLE
  options.retry.initial_backoff = absl::Seconds(1);
  options.retry.max_backoff = absl::Seconds(1);
  options.call_timeout = absl::Milliseconds(300);
  auto client = Client::New(options);
  ASSERT_TRUE(client.ok()) << client.status();

  absl::Time start = absl::Now();
  absl::StatusOr<v1::ListIntegrationsResponse> listed =
      (*client)->ListIntegrations(v1::ListIntegrationsRequest());

  // The first wait (0.5..1 s) cannot end before the deadline: no retry.
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kUnavailable) << listed.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(450));
}

}  // namespace
}  // namespace tokenbroker::client::testing
