// Limits on every input and every caller (README "Limits"), against the real
// binary: past each limit the caller gets a clear status naming it (and its
// flag), and the server keeps serving everyone else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/certs.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kSecret[] = "S3CRET-LIMITS-4b9e";

nlohmann::json Client(const std::string& client_id) {
  return {{"client_id", client_id},
          {"client_secrets", {kSecret}},
          {"org_id", "ORG1@AdobeOrg"},
          {"scopes", {"openid", "AdobeID"}}};
}

class LimitsTest : public ::testing::Test {
 protected:
  void StartStack(std::vector<std::string> flags, const std::vector<std::string>& ids = {"acme"}) {
    std::vector<nlohmann::json> clients;
    for (const std::string& id : ids) clients.push_back(Client(id));
    auto ims = ImsEmulatorProcess::Start(clients, {"--threads=32"});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    flags.push_back("--ims-url=" + ims_->url());
    flags.push_back("--ims-ca-file=" + ims_->ca_file());
    auto broker = BrokerProcess::Start(flags);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    const std::string& address = broker_->address();
    port_ = std::stoi(address.substr(address.rfind(':') + 1));
    channel_ = tls_ca_.empty() ? broker_->channel() : NewTlsChannel(tls_ca_);
    for (const std::string& id : ids) {
      grpc::ClientContext ctx;
      v1::CreateIntegrationResponse response;
      grpc::Status created = v1::IntegrationService::NewStub(channel_)->CreateIntegration(
          &ctx, OAuthIntegration(id, id, kSecret, ""), &response);
      ASSERT_TRUE(created.ok()) << created.error_message();
    }
  }

  // The broker on TLS with the certificate in `dir` (server.pem/.key), a 3 s
  // handshake timeout.
  void StartStackTls(const TempDir& dir, const std::string& ca) {
    tls_ca_ = ca;
    StartStack({"--tls-cert=" + dir.File("server.pem"), "--tls-key=" + dir.File("server.key"),
                "--handshake-timeout=3s"});
  }

  std::shared_ptr<grpc::Channel> NewTlsChannel(const std::string& ca) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca;
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(broker_->address(), grpc::SslCredentials(ssl), args);
  }

  // A channel with a connection of its own.
  std::shared_ptr<grpc::Channel> NewChannel(grpc::ChannelArguments args = {}) {
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(broker_->address(), grpc::InsecureChannelCredentials(), args);
  }

  grpc::Status GetToken(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                        absl::Duration deadline = absl::Seconds(10)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + id);
    v1::GetAccessTokenResponse response;
    return v1::TokenService::NewStub(channel)->GetAccessToken(&ctx, request, &response);
  }

  // An open WatchAccessTokens stream.
  struct Watch {
    std::unique_ptr<v1::TokenService::Stub> stub;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchAccessTokensResponse>> reader;
    v1::WatchAccessTokensResponse response;
  };
  std::unique_ptr<Watch> OpenWatch(const std::shared_ptr<grpc::Channel>& channel,
                                   const std::string& id,
                                   absl::Duration deadline = absl::Seconds(60)) {
    auto watch = std::make_unique<Watch>();
    watch->stub = v1::TokenService::NewStub(channel);
    watch->ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::WatchAccessTokensRequest request;
    request.set_name("integrations/" + id);
    watch->reader = watch->stub->WatchAccessTokens(&watch->ctx, request);
    return watch;
  }

  void TearDown() override {
    if (broker_ == nullptr) return;
    EXPECT_THAT(broker_->log(), ::testing::Not(HasSubstr(kSecret)));
  }

  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string tls_ca_;
  int port_ = 0;
};

TEST_F(LimitsTest, OversizedRequestsAreRefusedNamingTheFlagAndOthersAreServed) {
  StartStack({});
  {
    grpc::ClientContext ctx;
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + std::string(2000, 'a'));
    v1::GetAccessTokenResponse response;
    grpc::Status status = broker_->tokens()->GetAccessToken(&ctx, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("--max-token-request-bytes=1024"));
  }
  for (size_t size : {70 * 1024, 200 * 1024}) {
    v1::CreateIntegrationRequest request = OAuthIntegration("big", "acme", kSecret, "");
    request.mutable_integration()->set_display_name(std::string(size, 'n'));
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse response;
    grpc::Status status = broker_->integrations()->CreateIntegration(&ctx, request, &response);
    if (size < 128 * 1024) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(status.error_message(), HasSubstr("--max-admin-request-bytes=65536"));
    } else {  // past twice the limit gRPC refuses it before parsing
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
    }
  }
  grpc::Status good = GetToken(broker_->channel(), "acme");
  EXPECT_TRUE(good.ok()) << good.error_message();
}

TEST_F(LimitsTest, HugeUnknownUpdateMaskPathIsInvalidArgumentNamingUpdateMask) {
  StartStack({});
  v1::UpdateIntegrationRequest request;
  request.mutable_integration()->set_name("integrations/acme");
  request.mutable_update_mask()->add_paths(std::string(20 * 1024, 'p'));
  grpc::ClientContext ctx;
  v1::UpdateIntegrationResponse response;
  grpc::Status status = broker_->integrations()->UpdateIntegration(&ctx, request, &response);
  // Before the fix: RESOURCE_EXHAUSTED "received metadata size exceeds hard
  // limit" (the whole path echoed into the trailer).
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("invalid update_mask"));
  EXPECT_THAT(status.error_message(), HasSubstr("(20480 bytes)"));
  EXPECT_LE(status.error_message().size(), 400u);
}

TEST_F(LimitsTest, WatchStreamsPerCallerAreCappedAndASlotIsFreedOnClose) {
  StartStack({"--max-watches-per-caller=2"});
  auto first = OpenWatch(channel_, "acme");
  auto second = OpenWatch(channel_, "acme");
  ASSERT_TRUE(first->reader->Read(&first->response));
  ASSERT_TRUE(second->reader->Read(&second->response));
  auto third = OpenWatch(channel_, "acme");
  EXPECT_FALSE(third->reader->Read(&third->response));
  grpc::Status refused = third->reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max-watches-per-caller=2"));
  // Unary calls of the same caller are not affected.
  EXPECT_TRUE(GetToken(channel_, "acme").ok());
  // Closing a stream gives its slot back.
  first->ctx.TryCancel();
  first->reader->Finish();
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto again = OpenWatch(channel_, "acme", absl::Seconds(5));
        bool ok = again->reader->Read(&again->response);
        again->ctx.TryCancel();
        again->reader->Finish();
        return ok;
      },
      absl::Seconds(10), "a new watch once one is closed"));
  second->ctx.TryCancel();
  second->reader->Finish();
}

TEST_F(LimitsTest, ConcurrentStreamsPerConnectionAreCappedOtherConnectionsServed) {
  StartStack({"--max-concurrent-streams=2"});
  std::shared_ptr<grpc::Channel> crowded = NewChannel();
  auto first = OpenWatch(crowded, "acme");
  auto second = OpenWatch(crowded, "acme");
  ASSERT_TRUE(first->reader->Read(&first->response));
  ASSERT_TRUE(second->reader->Read(&second->response));
  // A third call on the same connection waits for a free stream...
  grpc::Status waited = GetToken(crowded, "acme", absl::Seconds(2));
  EXPECT_EQ(waited.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << waited.error_message();
  // ...while another connection is served at once.
  grpc::Status other = GetToken(NewChannel(), "acme");
  EXPECT_TRUE(other.ok()) << other.error_message();
  first->ctx.TryCancel();
  first->reader->Finish();
  grpc::Status freed = GetToken(crowded, "acme");
  EXPECT_TRUE(freed.ok()) << freed.error_message();
  second->ctx.TryCancel();
  second->reader->Finish();
}

TEST_F(LimitsTest, ClientPingingTooOftenIsDisconnectedOthersAreServed) {
  // gRPC C++ clients send at most one ping a second whatever they ask for,
  // so the interval the server demands is well above that.
  StartStack({"--min-client-ping-interval=5s", "--max-ping-strikes=1"});
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 50);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, 0);
  std::shared_ptr<grpc::Channel> pinger = NewChannel(args);
  absl::Time start = absl::Now();
  auto watch = OpenWatch(pinger, "acme", absl::Seconds(60));
  ASSERT_TRUE(watch->reader->Read(&watch->response));
  // No new token comes for minutes: only the GOAWAY ends this stream early.
  EXPECT_FALSE(watch->reader->Read(&watch->response));
  grpc::Status status = watch->reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  std::printf("limits: pinging client disconnected after %s (%s)\n",
              absl::FormatDuration(absl::Now() - start).c_str(), status.error_message().c_str());
  grpc::Status other = GetToken(NewChannel(), "acme");
  EXPECT_TRUE(other.ok()) << other.error_message();
}

TEST_F(LimitsTest, WaitersPerIntegrationAreBoundedOtherIntegrationsServed) {
  StartStack({"--max-waiters-per-integration=4"}, {"slow", "fast"});
  ims_->SetFaults({{"latency_ms", 3000}, {"clients", {"slow"}}});
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 10; ++i) {
    callers.emplace_back([&] {
      grpc::Status status = GetToken(broker_->channel(), "slow");
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                 absl::StrContains(status.error_message(), "--max-waiters-per-integration")) {
        ++refused;
      } else {
        ++other;
        ADD_FAILURE() << status.error_code() << " " << status.error_message();
      }
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return refused.load() == 6; }, absl::Seconds(10),
                        "6 callers past the bound refused"));
  // The slow integration's exchange is still in flight; others are served.
  grpc::Status fast = GetToken(broker_->channel(), "fast");
  EXPECT_TRUE(fast.ok()) << fast.error_message();
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(other.load(), 0);
}

// A socket connected to `port` on loopback, or -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether the peer closed `fd` (EOF or reset) within `timeout`.
bool ClosedByPeer(int fd, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(&p, 1, std::max(left, 1)) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;  // 0: EOF; <0: reset
  }
  return false;
}

TEST_F(LimitsTest, ThousandsOfIdleAndHalfOpenConnectionsDoNotStopAGoodCaller) {
  // The broker starts with the common default soft limit of 1024 descriptors
  // (inherited), which 2,200 connections exceed unless it raises its own
  // soft limit to the hard one. The test process holds the sockets too.
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  ASSERT_GE(limit.rlim_max, 4096u) << "this test needs 2,300 descriptors";
  const rlimit original = limit;
  limit.rlim_cur = 1024;
  setrlimit(RLIMIT_NOFILE, &limit);
  TempDir dir;
  TestCa ca;
  PemPair server = ca.Issue({"localhost", {"localhost"}, {"127.0.0.1"}});
  WriteFile(dir.File("server.pem"), server.certificate);
  WriteFile(dir.File("server.key"), server.private_key);
  // The broker serves TLS; the test's admin channel speaks it too.
  StartStackTls(dir, ca.certificate());
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (::testing::Test::HasFatalFailure()) {
    setrlimit(RLIMIT_NOFILE, &original);
    return;
  }

  std::vector<int> idle, half_open;
  for (int i = 0; i < 2000; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  // TLS record header and the start of a ClientHello, then silence.
  const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
                                         0x00, 0x01, 0xfc, 0x03, 0x03};
  for (int i = 0; i < 200; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(send(fd, partial_hello, sizeof(partial_hello), MSG_NOSIGNAL),
              static_cast<ssize_t>(sizeof(partial_hello)));
    half_open.push_back(fd);
  }
  absl::Time start = absl::Now();
  grpc::Status good = GetToken(NewTlsChannel(ca.certificate()), "acme", absl::Seconds(10));
  absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(good.ok()) << good.error_message();
  std::printf("limits: good caller served in %s beside %zu idle and %zu half-open connections\n",
              absl::FormatDuration(elapsed).c_str(), idle.size(), half_open.size());
  // 8 s under a sanitizer, still less than the call's 10 s deadline.
  EXPECT_LE(elapsed, absl::Seconds(2) * kSanitizerSlowdown);
  // --handshake-timeout closes both kinds.
  EXPECT_TRUE(ClosedByPeer(idle.front(), absl::Seconds(15))) << "idle socket still open";
  EXPECT_TRUE(ClosedByPeer(half_open.front(), absl::Seconds(15))) << "half-open socket open";
  for (int fd : idle) close(fd);
  for (int fd : half_open) close(fd);
  setrlimit(RLIMIT_NOFILE, &original);
}

}  // namespace
}  // namespace tokenbroker::testing
