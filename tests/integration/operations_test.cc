// Operating the server: Prometheus metrics on their own port, liveness and
// readiness health services, and the SIGTERM drain, against the real binary.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "OPS-SECRET-5f0c2e";

nlohmann::json Client(const std::string& client_id) {
  return {{"client_id", client_id},
          {"client_secrets", {kSecret}},
          {"org_id", "ORG1@AdobeOrg"},
          {"scopes", {"openid", "AdobeID"}}};
}

// The value of the sample whose line starts with `series` (name{labels}).
std::optional<double> Sample(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      size_t end = text.find('\n', at);
      double value;
      if (absl::SimpleAtod(text.substr(at + series.size() + 1, end - at - series.size() - 1),
                           &value)) {
        return value;
      }
    }
    at += series.size();
  }
  return std::nullopt;
}

class OperationsTest : public ::testing::Test {
 protected:
  void StartStack(std::vector<std::string> flags = {}) {
    auto ims = ImsEmulatorProcess::Start({Client("ops-client")});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    flags.push_back("--ims-url=" + ims_->url());
    flags.push_back("--ims-ca-file=" + ims_->ca_file());
    flags.push_back("--metrics-listen=127.0.0.1:0");
    auto broker = BrokerProcess::Start(flags);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    metrics_port_ = broker_->metrics_port();
    ASSERT_GT(metrics_port_, 0) << broker_->log();
  }

  std::string Scrape() {
    httplib::Client client("127.0.0.1", metrics_port_);
    auto response = client.Get("/metrics");
    EXPECT_TRUE(response) << "GET /metrics failed";
    if (!response) return "";
    EXPECT_EQ(response->status, 200);
    return response->body;
  }

  grpc::Status GetToken(const std::string& id, v1::GetAccessTokenResponse* response = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + id);
    v1::GetAccessTokenResponse ignored;
    return broker_->tokens()->GetAccessToken(&ctx, request, response ? response : &ignored);
  }

  // `tokenctl health --service=...`: the status it prints (SERVING,
  // NOT_SERVING, or its error line).
  std::string Health(const std::string& service) {
    CommandResult r = RunCommand({BinDir() + "/tokenctl", "--server=" + broker_->address(),
                                  "--plaintext", "health", "--service=" + service});
    std::string out(absl::StripAsciiWhitespace(r.out + r.err));
    return out;
  }

  void TearDown() override {
    if (broker_ != nullptr) {
      EXPECT_THAT(broker_->log(), Not(HasSubstr(kSecret)));
    }
  }

  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
  int metrics_port_ = 0;
};

TEST_F(OperationsTest, MetricsCountTheTokenPathImsAndRpcs) {
  StartStack();
  grpc::ClientContext ctx;
  v1::CreateIntegrationResponse created;
  ASSERT_TRUE(
      broker_->integrations()
          ->CreateIntegration(&ctx, OAuthIntegration("acme", "ops-client", kSecret, ""), &created)
          .ok());
  v1::GetAccessTokenResponse token;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(GetToken("acme", &token).ok());
  EXPECT_EQ(GetToken("missing").error_code(), grpc::StatusCode::NOT_FOUND);

  std::string text = Scrape();
  EXPECT_EQ(Sample(text,
                   "tokenbroker_grpc_requests_total{code=\"ok\",method=\"/"
                   "tokenbroker.v1.TokenService/GetAccessToken\"}"),
            3);
  EXPECT_EQ(Sample(text,
                   "tokenbroker_grpc_requests_total{code=\"not_found\",method=\"/"
                   "tokenbroker.v1.TokenService/GetAccessToken\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "tokenbroker_grpc_requests_total{code=\"ok\",method=\"/"
                   "tokenbroker.v1.IntegrationService/CreateIntegration\"}"),
            1);
  EXPECT_EQ(Sample(text, "tokenbroker_cache_hits_total"), 2);
  EXPECT_EQ(Sample(text, "tokenbroker_refreshes_total{trigger=\"cold\"}"), 1);
  EXPECT_EQ(Sample(text, "tokenbroker_ims_exchange_duration_seconds_count{flow=\"oauth_s2s\"}"), 1);
  EXPECT_EQ(Sample(text, "tokenbroker_ims_exchanges_total{flow=\"oauth_s2s\",result=\"ok\"}"), 1);
  EXPECT_EQ(Sample(text, "tokenbroker_ready"), 1);
  std::optional<double> expiry =
      Sample(text, "tokenbroker_token_expiry_seconds{integration=\"acme\"}");
  ASSERT_TRUE(expiry.has_value()) << text;
  EXPECT_GT(*expiry, 23 * 3600);  // the emulator's tokens live 24 h
  EXPECT_THAT(text, Not(HasSubstr(token.token().access_token())));
  EXPECT_THAT(text, Not(HasSubstr(kSecret)));
}

TEST_F(OperationsTest, MetricsCountRefreshFailuresByReason) {
  StartStack();
  grpc::ClientContext ctx;
  v1::CreateIntegrationResponse created;
  ASSERT_TRUE(broker_->integrations()
                  ->CreateIntegration(
                      &ctx, OAuthIntegration("wrong", "ops-client", "not-the-secret", ""), &created)
                  .ok());
  EXPECT_EQ(GetToken("wrong").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  std::string text = Scrape();
  EXPECT_EQ(
      Sample(text, "tokenbroker_refresh_failures_total{reason=\"ims_rejected\",trigger=\"cold\"}"),
      1)
      << text;
  EXPECT_THAT(text, Not(HasSubstr("not-the-secret")));
}

TEST_F(OperationsTest, LivenessAndReadinessServices) {
  StartStack();
  EXPECT_EQ(Health("liveness"), "SERVING");
  EXPECT_EQ(Health("readiness"), "SERVING");
  EXPECT_EQ(Health(""), "SERVING");
  EXPECT_EQ(Health("tokenbroker.v1.TokenService"), "SERVING");
  EXPECT_THAT(Health("no.such.Service"), HasSubstr("NOT_FOUND"));
}

TEST_F(OperationsTest, SigtermDrainsInFlightCallsEndsWatchesAndExitsWithoutWaitingOutTheGrace) {
  StartStack({"--shutdown-delay=1s", "--shutdown-grace=20s"});
  for (const char* id : {"acme", "slow"}) {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse created;
    ASSERT_TRUE(
        broker_->integrations()
            ->CreateIntegration(&ctx, OAuthIntegration(id, "ops-client", kSecret, ""), &created)
            .ok());
  }
  // A watcher holds a stream open.
  grpc::ClientContext watch_ctx;
  v1::WatchAccessTokensRequest request;
  request.set_name("integrations/acme");
  auto stream = broker_->tokens()->WatchAccessTokens(&watch_ctx, request);
  v1::WatchAccessTokensResponse first;
  ASSERT_TRUE(stream->Read(&first));

  // A call in flight when the signal comes: its IMS exchange takes 2.5 s.
  ims_->SetFaults({{"latency_ms", 2500}});
  int requests_before = ims_->TokenRequests();
  grpc::Status slow_status;
  std::thread slow([&] { slow_status = GetToken("slow"); });
  absl::Cleanup join_slow = [&] {
    if (slow.joinable()) slow.join();
  };
  ASSERT_TRUE(WaitUntil([&] { return ims_->TokenRequests() > requests_before; }, absl::Seconds(10),
                        "the slow call's IMS request to reach the emulator"))
      << broker_->log();

  absl::Time signalled = absl::Now();
  kill(broker_->process()->pid(), SIGTERM);
  // During --shutdown-delay (1 s): not ready, still serving.
  EXPECT_TRUE(WaitUntil([&] { return Health("readiness") == "NOT_SERVING"; }, absl::Seconds(2),
                        "readiness to report NOT_SERVING after SIGTERM"));
  EXPECT_EQ(Health(""), "NOT_SERVING");
  EXPECT_EQ(Health("liveness"), "SERVING");
  EXPECT_TRUE(GetToken("acme").ok());

  // Then the watch ends with UNAVAILABLE (reconnect elsewhere), right after
  // the delay, not at the end of the grace.
  v1::WatchAccessTokensResponse more;
  while (stream->Read(&more)) {
  }
  grpc::Status ended = stream->Finish();
  absl::Duration took = absl::Now() - signalled;
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  EXPECT_LT(took, absl::Seconds(3));
  // New calls while draining are refused, so clients go elsewhere.
  grpc::Status late = GetToken("acme");
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE) << late.error_message();

  // The call in flight completes; then the process exits at once, 0,
  // without waiting out the 20 s grace.
  slow.join();
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  int status = broker_->process()->Stop(0);  // waits; signal 0 sends nothing
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5)) << broker_->log();
  EXPECT_THAT(broker_->log(), HasSubstr("tokenbroker stopped"));
}

TEST_F(OperationsTest, SigtermCancelsCallsStillRunningWhenTheGraceEnds) {
  StartStack({"--shutdown-grace=1s", "--ims-timeout=30s", "--ims-max-attempts=1"});
  grpc::ClientContext ctx;
  v1::CreateIntegrationResponse created;
  ASSERT_TRUE(
      broker_->integrations()
          ->CreateIntegration(&ctx, OAuthIntegration("stuck", "ops-client", kSecret, ""), &created)
          .ok());
  ims_->SetFaults({{"latency_ms", 20000}});
  int requests_before = ims_->TokenRequests();
  grpc::Status stuck_status;
  std::thread stuck([&] { stuck_status = GetToken("stuck"); });
  absl::Cleanup join_stuck = [&] {
    if (stuck.joinable()) stuck.join();
  };
  ASSERT_TRUE(WaitUntil([&] { return ims_->TokenRequests() > requests_before; }, absl::Seconds(10),
                        "the stuck call's IMS request to reach the emulator"))
      << broker_->log();
  absl::Time signalled = absl::Now();
  kill(broker_->process()->pid(), SIGTERM);
  stuck.join();
  // Answered at the end of the grace, though its exchange still waits for IMS.
  EXPECT_EQ(stuck_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << stuck_status.error_message();
  EXPECT_THAT(stuck_status.error_message(), HasSubstr("grace"));
  int status = broker_->process()->Stop(0);
  // The process exits 0 right after the grace: the exchange thread still
  // waiting for IMS is not waited for.
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(3)) << broker_->log();
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(broker_->log(), HasSubstr("calls still running at the end of the grace"));
}

}  // namespace
}  // namespace tokenbroker::testing
