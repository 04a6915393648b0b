// The token path end to end: the real tokenbroker binary, real gRPC, real
// TLS through libcurl to the real ims-emulator, all on free loopback ports.
#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/stack.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "S3CRET-MARKER-8d1f3a";

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// ErrorInfo metadata of a failed call, or empty.
std::map<std::string, std::string> ErrorMetadata(const grpc::Status& status) {
  google::rpc::Status details;
  std::map<std::string, std::string> out;
  if (!details.ParseFromString(status.error_details())) return out;
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.type_url() == "type.googleapis.com/google.rpc.ErrorInfo" &&
        info.ParseFromString(any.value())) {
      out["reason"] = info.reason();
      for (const auto& [k, v] : info.metadata()) out[k] = v;
    }
  }
  return out;
}

nlohmann::json Client(const std::string& client_id, int lifetime_seconds = 0) {
  nlohmann::json c = {{"client_id", client_id},
                      {"client_secrets", {kSecret}},
                      {"org_id", "ORG1@AdobeOrg"},
                      {"technical_account_id", "TECH1@techacct.adobe.com"},
                      {"scopes", {"openid", "AdobeID", "read_organizations"}},
                      {"metascopes", {"ent_dataservices_sdk"}}};
  if (lifetime_seconds > 0) c["token_lifetime_seconds"] = lifetime_seconds;
  return c;
}

class TokenPathTest : public ::testing::Test {
 protected:
  void StartStack(const std::vector<nlohmann::json>& clients,
                  std::vector<std::string> broker_flags = {}) {
    auto ims = ImsEmulatorProcess::Start(clients);
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    broker_flags.push_back("--ims-url=" + ims_->url());
    broker_flags.push_back("--ims-ca-file=" + ims_->ca_file());
    auto broker = BrokerProcess::Start(broker_flags);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    tokens_ = broker_->tokens();
    integrations_ = broker_->integrations();
  }

  grpc::Status Create(const v1::CreateIntegrationRequest& request) {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse response;
    grpc::Status status = integrations_->CreateIntegration(&ctx, request, &response);
    EXPECT_THAT(response.DebugString(), Not(HasSubstr(kSecret)));
    return status;
  }

  grpc::Status GetToken(const std::string& id, v1::GetAccessTokenResponse* response,
                        absl::Duration min_validity = absl::ZeroDuration()) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + id);
    if (min_validity > absl::ZeroDuration()) {
      request.mutable_min_remaining_validity()->set_seconds(absl::ToInt64Seconds(min_validity));
    }
    return tokens_->GetAccessToken(&ctx, request, response);
  }

  void TearDown() override {
    if (broker_ != nullptr) {
      std::string log = broker_->log();
      EXPECT_THAT(log, Not(HasSubstr(kSecret)));
      EXPECT_THAT(log, Not(HasSubstr("eyJ")));  // no access token (JWT) in logs
    }
  }

  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<v1::TokenService::Stub> tokens_;
  std::unique_ptr<v1::IntegrationService::Stub> integrations_;
};

TEST_F(TokenPathTest, OAuthServerToServerTokenAndHeaders) {
  StartStack({Client("s2s-client")});
  v1::CreateIntegrationRequest create = OAuthIntegration("acme", "s2s-client", kSecret, "");
  create.mutable_integration()->set_include_org_header(true);
  create.mutable_integration()->set_sandbox_name("prod");
  ASSERT_TRUE(Create(create).ok());

  v1::GetAccessTokenResponse response;
  absl::Time before = absl::Now();
  grpc::Status status = GetToken("acme", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.token().access_token().empty());
  EXPECT_EQ(response.token().token_type(), "bearer");
  EXPECT_EQ(response.token().integration(), "integrations/acme");
  // S2S expires_in is in seconds: the emulator's default lifetime is 24 h.
  absl::Duration lifetime = ToTime(response.token().expire_time()) - before;
  EXPECT_GT(lifetime, absl::Hours(23));
  EXPECT_LT(lifetime, absl::Hours(25));

  grpc::ClientContext ctx;
  v1::GetRequestHeadersRequest request;
  request.set_name("integrations/acme");
  v1::GetRequestHeadersResponse headers;
  ASSERT_TRUE(tokens_->GetRequestHeaders(&ctx, request, &headers).ok());
  std::map<std::string, std::string> got;
  for (const auto& h : headers.headers()) got[h.name()] = h.value();
  EXPECT_EQ(got["Authorization"], "Bearer " + response.token().access_token());
  EXPECT_EQ(got["x-api-key"], "s2s-client");
  EXPECT_EQ(got["x-gw-ims-org-id"], "ORG1@AdobeOrg");
  EXPECT_EQ(got["x-sandbox-name"], "prod");
  EXPECT_EQ(ims_->Exchanges("s2s-client"), 1);
}

TEST_F(TokenPathTest, JwtServiceAccountToken) {
  TestKeyPair keys = GenerateTestKeyPair();
  nlohmann::json client = Client("jwt-client");
  client["certificate_pem"] = keys.certificate_pem;
  StartStack({client});
  v1::CreateIntegrationRequest create;
  create.set_integration_id("legacy");
  v1::Integration* in = create.mutable_integration();
  in->set_auth_method(v1::AUTH_METHOD_JWT);
  in->set_client_id("jwt-client");
  in->set_org_id("ORG1@AdobeOrg");
  in->set_technical_account_id("TECH1@techacct.adobe.com");
  in->add_metascopes("ent_dataservices_sdk");
  in->mutable_credentials()->add_client_secrets(kSecret);
  in->mutable_credentials()->set_private_key_pem(keys.private_key_pem);
  grpc::Status created = Create(create);
  ASSERT_TRUE(created.ok()) << created.error_message();

  v1::GetAccessTokenResponse response;
  absl::Time before = absl::Now();
  grpc::Status status = GetToken("legacy", &response);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << ims_->log();
  // JWT expires_in is in milliseconds: still about 24 h, not 24,000 h.
  absl::Duration lifetime = ToTime(response.token().expire_time()) - before;
  EXPECT_GT(lifetime, absl::Hours(23));
  EXPECT_LT(lifetime, absl::Hours(25));
  EXPECT_EQ(ims_->Exchanges("jwt-client"), 1);

  // The private key never comes back; its fingerprint does.
  grpc::ClientContext ctx;
  v1::GetIntegrationRequest get;
  get.set_name("integrations/legacy");
  v1::GetIntegrationResponse got;
  ASSERT_TRUE(integrations_->GetIntegration(&ctx, get, &got).ok());
  EXPECT_THAT(got.DebugString(), Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THAT(got.integration().credential_info().private_key_fingerprint(), HasSubstr("sha256:"));
  EXPECT_FALSE(got.integration().has_credentials());
}

TEST_F(TokenPathTest, RotationUnderContinuousLoadNeverReturnsAnExpiredToken) {
  StartStack({Client("short", /*lifetime_seconds=*/4)});
  ASSERT_TRUE(Create(OAuthIntegration("short", "short", kSecret, "")).ok());

  struct Seen {
    std::string token;
    absl::Time issue, expire;
  };
  std::atomic<int> calls{0}, failures{0}, expired{0};
  absl::Mutex mu;
  std::map<std::string, Seen> tokens;
  absl::Time end = absl::Now() + absl::Seconds(20);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (absl::Now() < end) {
        v1::GetAccessTokenResponse response;
        grpc::Status status = GetToken("short", &response);
        absl::Time received = absl::Now();
        ++calls;
        if (!status.ok()) {
          ++failures;
          continue;
        }
        absl::Time expire = ToTime(response.token().expire_time());
        if (expire <= received) ++expired;
        absl::MutexLock lock(&mu);
        tokens.emplace(
            response.token().access_token(),
            Seen{response.token().access_token(), ToTime(response.token().issue_time()), expire});
        absl::SleepFor(absl::Milliseconds(5));  // paces the load; nothing waits on it
      }
    });
  }
  for (auto& t : clients) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(expired.load(), 0);
  EXPECT_GT(calls.load(), 1000);
  // 20 s of 4 s tokens refreshed at 65-75% of their lifetime: 6-8 tokens.
  std::vector<Seen> ordered;
  for (auto& [k, v] : tokens) ordered.push_back(v);
  std::sort(ordered.begin(), ordered.end(),
            [](const Seen& a, const Seen& b) { return a.issue < b.issue; });
  EXPECT_GE(ordered.size(), 6u);
  EXPECT_LE(ordered.size(), 9u);
  // Each successor was minted before its predecessor expired.
  for (size_t i = 1; i < ordered.size(); ++i) {
    EXPECT_LT(ordered[i].issue, ordered[i - 1].expire) << "token " << i << " minted late";
  }
  int exchanges = ims_->Exchanges("short");
  EXPECT_EQ(exchanges, static_cast<int>(ordered.size()));
  std::printf("rotation: %d calls, %zu tokens, %d exchanges\n", calls.load(), ordered.size(),
              exchanges);
}

TEST_F(TokenPathTest, ThousandConcurrentColdCallsCauseOneExchange) {
  StartStack({Client("busy")});
  ASSERT_TRUE(Create(OAuthIntegration("busy", "busy", kSecret, "")).ok());
  ims_->SetFaults({{"latency_ms", 300}});  // keep the exchange in flight

  constexpr int kCalls = 1000;
  std::atomic<int> ok{0}, done{0};
  absl::Notification all_done;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(kCalls);
  std::vector<v1::GetAccessTokenRequest> requests(kCalls);
  std::vector<v1::GetAccessTokenResponse> responses(kCalls);
  std::set<std::string> distinct;
  absl::Mutex mu;
  for (int i = 0; i < kCalls; ++i) {
    contexts[i] = std::make_unique<grpc::ClientContext>();
    requests[i].set_name("integrations/busy");
    tokens_->async()->GetAccessToken(contexts[i].get(), &requests[i], &responses[i],
                                     [&, i](grpc::Status status) {
                                       if (status.ok()) {
                                         ++ok;
                                         absl::MutexLock lock(&mu);
                                         distinct.insert(responses[i].token().access_token());
                                       }
                                       if (++done == kCalls) all_done.Notify();
                                     });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(distinct.size(), 1u);
  int exchanges = ims_->Exchanges("busy");
  EXPECT_EQ(exchanges, 1);
  std::printf("single-flight: %d concurrent calls, %d upstream exchange(s)\n", kCalls, exchanges);
}

TEST_F(TokenPathTest, ImsDownServesCachedTokenUntilItExpiresThenUnavailable) {
  StartStack({Client("flaky", /*lifetime_seconds=*/3)},
             {"--ims-max-attempts=2", "--refresh-at=0.9", "--refresh-jitter=0"});
  ASSERT_TRUE(Create(OAuthIntegration("flaky", "flaky", kSecret, "")).ok());
  v1::GetAccessTokenResponse first;
  ASSERT_TRUE(GetToken("flaky", &first).ok());
  ims_->SetFaults({{"down", true}});

  v1::GetAccessTokenResponse cached;
  ASSERT_TRUE(GetToken("flaky", &cached).ok());
  EXPECT_EQ(cached.token().access_token(), first.token().access_token());

  // The token must really expire (real IMS lifetimes, real clock): this wait
  // is the scenario under test, not synchronization.
  absl::SleepFor(ToTime(first.token().expire_time()) + absl::Milliseconds(100) - absl::Now());
  v1::GetAccessTokenResponse after;
  grpc::Status status = GetToken("flaky", &after);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(ErrorMetadata(status)["reason"], "IMS_UNAVAILABLE");

  // IMS back: the next call mints again.
  ims_->SetFaults({{"down", false}});
  v1::GetAccessTokenResponse recovered;
  grpc::Status recovered_status = GetToken("flaky", &recovered);
  ASSERT_TRUE(recovered_status.ok()) << recovered_status.error_message();
  EXPECT_NE(recovered.token().access_token(), first.token().access_token());
}

TEST_F(TokenPathTest, RejectedSecretIsFailedPreconditionNamingTheImsError) {
  StartStack({Client("strict")});
  ASSERT_TRUE(Create(OAuthIntegration("wrong", "strict", "not-the-secret", "")).ok());
  v1::GetAccessTokenResponse response;
  grpc::Status status = GetToken("wrong", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("invalid_client"));
  std::map<std::string, std::string> meta = ErrorMetadata(status);
  EXPECT_EQ(meta["reason"], "IMS_REJECTED");
  EXPECT_EQ(meta["ims_error"], "invalid_client");
  EXPECT_FALSE(meta["x_debug_id"].empty());
  EXPECT_THAT(status.error_message(), Not(HasSubstr("not-the-secret")));
}

TEST_F(TokenPathTest, BadRequestsNameTheField) {
  StartStack({Client("any")});
  v1::GetAccessTokenResponse response;
  grpc::Status status = GetToken("Not_An_Id", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("name"));

  v1::CreateIntegrationRequest create = OAuthIntegration("acme", "", kSecret, "");
  status = Create(create);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("integration.client_id"));
  EXPECT_EQ(ErrorMetadata(status)["field"], "integration.client_id");

  create = OAuthIntegration("acme", "any", kSecret, "http://127.0.0.1:1");
  status = Create(create);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("integration.ims_url"));

  create = OAuthIntegration("acme", "any", kSecret, "");
  create.mutable_integration()->mutable_credentials()->clear_client_secrets();
  status = Create(create);
  EXPECT_THAT(status.error_message(), HasSubstr("credentials.client_secrets"));

  grpc::ClientContext ctx;
  v1::GetAccessTokenRequest bad_min;
  bad_min.set_name("integrations/acme");
  bad_min.mutable_min_remaining_validity()->set_seconds(-5);
  status = tokens_->GetAccessToken(&ctx, bad_min, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("min_remaining_validity"));
}

TEST_F(TokenPathTest, UnknownIntegrationIsNotFound) {
  StartStack({Client("any")});
  v1::GetAccessTokenResponse response;
  grpc::Status status = GetToken("ghost", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("ghost"));
}

TEST_F(TokenPathTest, WatchStreamsEveryNewTokenAndEndsOnDelete) {
  StartStack({Client("watched", /*lifetime_seconds=*/2)});
  ASSERT_TRUE(Create(OAuthIntegration("watched", "watched", kSecret, "")).ok());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchAccessTokensRequest request;
  request.set_name("integrations/watched");
  auto reader = tokens_->WatchAccessTokens(&ctx, request);
  v1::WatchAccessTokensResponse message;
  std::vector<std::string> seen;
  while (seen.size() < 3 && reader->Read(&message)) {
    EXPECT_GT(ToTime(message.token().expire_time()), absl::Now());
    seen.push_back(message.token().access_token());
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 3u);

  grpc::ClientContext del_ctx;
  v1::DeleteIntegrationRequest del;
  del.set_name("integrations/watched");
  v1::DeleteIntegrationResponse deleted;
  ASSERT_TRUE(integrations_->DeleteIntegration(&del_ctx, del, &deleted).ok());
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TokenPathTest, ForcedRefreshMintsANewToken) {
  StartStack({Client("forced")});
  ASSERT_TRUE(Create(OAuthIntegration("forced", "forced", kSecret, "")).ok());
  v1::GetAccessTokenResponse first;
  ASSERT_TRUE(GetToken("forced", &first).ok());
  grpc::ClientContext ctx;
  v1::RefreshAccessTokenRequest request;
  request.set_name("integrations/forced");
  v1::RefreshAccessTokenResponse refreshed;
  ASSERT_TRUE(tokens_->RefreshAccessToken(&ctx, request, &refreshed).ok());
  EXPECT_NE(refreshed.token().access_token(), first.token().access_token());
  v1::GetAccessTokenResponse after;
  ASSERT_TRUE(GetToken("forced", &after).ok());
  EXPECT_EQ(after.token().access_token(), refreshed.token().access_token());
  EXPECT_EQ(ims_->Exchanges("forced"), 2);
}

}  // namespace
}  // namespace tokenbroker::testing
