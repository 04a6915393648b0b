// Who may ask, over real TLS with certificates the test makes: the
// authorization matrix, policy and certificate reloads, the audit log and
// the forced-refresh rate limit, against the real server binary.
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/certs.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Code = grpc::StatusCode;

constexpr char kSecret[] = "SECURITY-MARKER-SECRET-41d2";

// A caller: TLS trust, optional client certificate, optional caller token.
struct Caller {
  std::string name;
  std::string ca;     // CA the client trusts for the server
  PemPair cert;       // empty: no client certificate
  std::string token;  // empty: no caller token
};

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ims = ImsEmulatorProcess::Start({nlohmann::json{{"client_id", "c1"},
                                                         {"client_secrets", {kSecret}},
                                                         {"org_id", "ORG@AdobeOrg"},
                                                         {"scopes", {"openid", "AdobeID"}}}});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    WriteServerTls(ca_, dir_.path());
    WriteFile(dir_.File("audit.key"), std::string(48, 'k'));
  }

  // Writes the policy with caller tokens for the reader/auditor identities.
  void WritePolicy(const std::string& extra_bindings = "") {
    reader_token_ = "tbk_reader_token_0123456789abcdef0123456789";
    auditor_token_ = "tbk_auditor_token_0123456789abcdef012345678";
    nlohmann::json policy = {
        {"version", 1},
        {"caller_tokens",
         {{{"identity", "svc-reader-token"}, {"hash", "PLACEHOLDER1"}},
          {{"identity", "svc-auditor"}, {"hash", "PLACEHOLDER2"}}}},
        {"bindings",
         {{{"identity", "spiffe://example.org/ns/app/sa/reader"},
           {"role", "reader"},
           {"integrations", {"acme", "shared-*"}}},
          {{"identity", "svc-reader-token"}, {"role", "reader"}, {"integrations", {"acme"}}},
          {{"identity", "other.example.org"}, {"role", "reader"}, {"integrations", {"other"}}},
          {{"identity", "svc-auditor"}, {"role", "auditor"}},
          {{"identity", "admin-*.example.org"}, {"role", "admin"}}}}};
    policy["caller_tokens"][0]["hash"] = HashOf(reader_token_);
    policy["caller_tokens"][1]["hash"] = HashOf(auditor_token_);
    if (!extra_bindings.empty()) {
      for (auto& b : nlohmann::json::parse(extra_bindings)) policy["bindings"].push_back(b);
    }
    std::string tmp = dir_.File("policy.json.tmp");
    WriteFile(tmp, policy.dump(2));
    std::rename(tmp.c_str(), dir_.File("policy.json").c_str());
  }

  std::string HashOf(const std::string& token) {
    // The documented format, hmac-sha256:<salt>:<HMAC-SHA256(salt, token)>,
    // computed independently with the openssl CLI.
    std::string salt = "00112233445566778899aabbccddeeff";
    CommandResult mac = RunCommand(
        {"/usr/bin/openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + salt},
        token);
    std::string hex = mac.out.substr(mac.out.rfind(' ') + 1);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    return "hmac-sha256:" + salt + ":" + hex;
  }

  void StartBroker(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--tls-cert=" + dir_.File("server.pem"),
                                      "--tls-key=" + dir_.File("server.key"),
                                      "--client-ca-file=" + dir_.File("ca.pem"),
                                      "--policy-file=" + dir_.File("policy.json"),
                                      "--policy-reload-interval=200ms",
                                      "--audit-log=" + dir_.File("audit.log"),
                                      "--audit-key-file=" + dir_.File("audit.key"),
                                      "--ims-url=" + ims_->url(),
                                      "--ims-ca-file=" + ims_->ca_file()};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto broker = BrokerProcess::Start(flags);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
  }

  std::shared_ptr<grpc::Channel> ChannelFor(const Caller& caller) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = caller.ca;
    ssl.pem_cert_chain = caller.cert.certificate;
    ssl.pem_private_key = caller.cert.private_key;
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // no connection sharing between callers
    return grpc::CreateCustomChannel(broker_->address(), grpc::SslCredentials(ssl), args);
  }

  void Prepare(grpc::ClientContext* ctx, const Caller& caller) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!caller.token.empty()) ctx->AddMetadata("authorization", "Bearer " + caller.token);
  }

  // Runs RPC `rpc` as `caller` and returns its code.
  Code Call(const Caller& caller, const std::string& rpc, const std::string& integration) {
    auto channel = ChannelFor(caller);
    auto tokens = v1::TokenService::NewStub(channel);
    auto admin = v1::IntegrationService::NewStub(channel);
    grpc::ClientContext ctx;
    Prepare(&ctx, caller);
    std::string name = "integrations/" + integration;
    if (rpc == "GetAccessToken") {
      v1::GetAccessTokenRequest r;
      r.set_name(name);
      v1::GetAccessTokenResponse out;
      return tokens->GetAccessToken(&ctx, r, &out).error_code();
    } else if (rpc == "GetRequestHeaders") {
      v1::GetRequestHeadersRequest r;
      r.set_name(name);
      v1::GetRequestHeadersResponse out;
      return tokens->GetRequestHeaders(&ctx, r, &out).error_code();
    } else if (rpc == "RefreshAccessToken") {
      v1::RefreshAccessTokenRequest r;
      r.set_name(name);
      v1::RefreshAccessTokenResponse out;
      return tokens->RefreshAccessToken(&ctx, r, &out).error_code();
    } else if (rpc == "WatchAccessTokens") {
      v1::WatchAccessTokensRequest r;
      r.set_name(name);
      auto reader = tokens->WatchAccessTokens(&ctx, r);
      v1::WatchAccessTokensResponse out;
      if (reader->Read(&out)) {
        ctx.TryCancel();
        reader->Finish();
        return Code::OK;
      }
      return reader->Finish().error_code();
    } else if (rpc == "CreateIntegration") {
      v1::CreateIntegrationRequest r =
          OAuthIntegration(absl::StrCat("new-", ++created_), "c1", kSecret, "");
      v1::CreateIntegrationResponse out;
      return admin->CreateIntegration(&ctx, r, &out).error_code();
    } else if (rpc == "GetIntegration") {
      v1::GetIntegrationRequest r;
      r.set_name(name);
      v1::GetIntegrationResponse out;
      return admin->GetIntegration(&ctx, r, &out).error_code();
    } else if (rpc == "ListIntegrations") {
      v1::ListIntegrationsResponse out;
      return admin->ListIntegrations(&ctx, v1::ListIntegrationsRequest(), &out).error_code();
    } else if (rpc == "UpdateIntegration") {
      v1::UpdateIntegrationRequest r;
      r.mutable_integration()->set_name(name);
      r.mutable_integration()->set_display_name("changed");
      r.mutable_update_mask()->add_paths("display_name");
      v1::UpdateIntegrationResponse out;
      return admin->UpdateIntegration(&ctx, r, &out).error_code();
    } else if (rpc == "DeleteIntegration") {
      v1::DeleteIntegrationRequest r;
      r.set_name(name);
      v1::DeleteIntegrationResponse out;
      return admin->DeleteIntegration(&ctx, r, &out).error_code();
    }
    ADD_FAILURE() << "unknown rpc " << rpc;
    return Code::UNKNOWN;
  }

  Caller Admin() {
    return {"admin", ca_.certificate(),
            ca_.Issue({.common_name = "ignored-cn", .dns_names = {"admin-1.example.org"}}), ""};
  }

  void CreateAs(const Caller& admin, const std::string& id) {
    auto stub = v1::IntegrationService::NewStub(ChannelFor(admin));
    grpc::ClientContext ctx;
    Prepare(&ctx, admin);
    v1::CreateIntegrationResponse out;
    grpc::Status status =
        stub->CreateIntegration(&ctx, OAuthIntegration(id, "c1", kSecret, ""), &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  TempDir dir_;
  TestCa ca_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
  std::string reader_token_, auditor_token_;
  int created_ = 0;
};

TEST_F(SecurityTest, AuthorizationMatrix) {
  WritePolicy();
  StartBroker();
  Caller admin = Admin();
  for (const char* id : {"acme", "other"}) CreateAs(admin, id);

  TestCa rogue("rogue CA");
  std::vector<Caller> callers = {
      {"no credentials", ca_.certificate(), {}, ""},
      {"wrong CA", ca_.certificate(),
       rogue.Issue({.common_name = "admin-1.example.org", .dns_names = {"admin-1.example.org"}}),
       ""},
      {"expired certificate", ca_.certificate(),
       ca_.Issue({.common_name = "x",
                  .dns_names = {"admin-1.example.org"},
                  .not_before_offset_seconds = -7200,
                  .not_after_offset_seconds = -3600}),
       ""},
      {"bad token", ca_.certificate(), {}, "tbk_not_a_known_token_at_all_000000000"},
      {"reader of another integration", ca_.certificate(),
       ca_.Issue({.common_name = "other", .dns_names = {"other.example.org"}}), ""},
      {"reader (certificate)", ca_.certificate(),
       ca_.Issue({.common_name = "cn-ignored",
                  .dns_names = {"also-ignored.example.org"},
                  .uris = {"spiffe://example.org/ns/app/sa/reader"}}),
       ""},
      {"reader (token)", ca_.certificate(), {}, reader_token_},
      {"auditor", ca_.certificate(), {}, auditor_token_},
      {"admin", ca_.certificate(), admin.cert, ""},
  };
  const std::vector<std::string> rpcs = {
      "GetAccessToken",    "GetRequestHeaders", "RefreshAccessToken",
      "WatchAccessTokens", "CreateIntegration", "GetIntegration",
      "ListIntegrations",  "UpdateIntegration", "DeleteIntegration"};
  auto expected = [](const std::string& caller, const std::string& rpc) {
    bool token_rpc = rpc.find("Token") != std::string::npos || rpc == "GetRequestHeaders";
    bool read_rpc = rpc == "GetIntegration" || rpc == "ListIntegrations";
    if (caller == "no credentials" || caller == "bad token") return Code::UNAUTHENTICATED;
    // A certificate the server cannot verify fails the TLS handshake: the
    // client never reaches the RPC layer and sees UNAVAILABLE.
    if (caller == "wrong CA" || caller == "expired certificate") return Code::UNAVAILABLE;
    if (caller == "reader of another integration") return Code::PERMISSION_DENIED;
    if (caller.rfind("reader", 0) == 0) return token_rpc ? Code::OK : Code::PERMISSION_DENIED;
    if (caller == "auditor") return read_rpc ? Code::OK : Code::PERMISSION_DENIED;
    if (caller == "admin") return token_rpc ? Code::PERMISSION_DENIED : Code::OK;
    return Code::UNKNOWN;
  };
  int cells = 0;
  for (const Caller& caller : callers) {
    for (const std::string& rpc : rpcs) {
      std::string target = "acme";
      if (rpc == "DeleteIntegration" && expected(caller.name, rpc) == Code::OK) {
        target = absl::StrCat("doomed-", cells);
        CreateAs(admin, target);
      }
      Code code = Call(caller, rpc, target);
      EXPECT_EQ(code, expected(caller.name, rpc)) << caller.name << " x " << rpc;
      ++cells;
    }
  }
  EXPECT_EQ(cells, 81);

  // A reader cannot learn whether an integration exists: the same answer
  // for an existing and a missing one.
  Caller other = callers[4];
  EXPECT_EQ(Call(other, "GetAccessToken", "acme"), Code::PERMISSION_DENIED);
  EXPECT_EQ(Call(other, "GetAccessToken", "ghost"), Code::PERMISSION_DENIED);
  Caller reader = callers[5];
  EXPECT_EQ(Call(reader, "GetAccessToken", "shared-missing"), Code::NOT_FOUND);
}

TEST_F(SecurityTest, PolicyReloadAppliesValidChangesAndRejectsInvalidOnes) {
  WritePolicy();
  StartBroker();
  Caller admin = Admin();
  CreateAs(admin, "late");
  Caller newcomer{"newcomer", ca_.certificate(),
                  ca_.Issue({.common_name = "newcomer", .dns_names = {"newcomer.example.org"}}),
                  ""};
  EXPECT_EQ(Call(newcomer, "GetAccessToken", "late"), Code::PERMISSION_DENIED);

  WritePolicy(R"([{"identity": "newcomer.example.org", "role": "reader",
                   "integrations": ["late"]}])");
  ASSERT_TRUE(WaitUntil([&] { return Call(newcomer, "GetAccessToken", "late") == Code::OK; },
                        absl::Seconds(10), "the reloaded policy to let the newcomer read tokens"))
      << broker_->log();

  // An invalid file is rejected; the last valid policy stays in force.
  WriteFile(dir_.File("policy.json"), "{\"version\": 1, \"bindings\": [{\"role\": \"wizard\"}]}");
  ASSERT_TRUE(WaitUntil(
      [&] { return absl::StrContains(broker_->log(), "policy file changed but is invalid"); },
      absl::Seconds(10), "the broker to log that the changed policy file is invalid"))
      << broker_->log();
  EXPECT_EQ(Call(newcomer, "GetAccessToken", "late"), Code::OK);
}

TEST_F(SecurityTest, ServerCertificateIsReloadedWhenItChangesOnDisk) {
  WritePolicy();
  StartBroker({"--tls-reload-interval=1s"});
  Caller admin = Admin();
  EXPECT_EQ(Call(admin, "ListIntegrations", ""), Code::OK);

  // Rotate the serving certificate to one issued by a new CA.
  TestCa next("next CA");
  PemPair rotated = next.Issue(
      {.common_name = "tokenbroker", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
  WriteFile(dir_.File("server.key.new"), rotated.private_key);
  WriteFile(dir_.File("server.pem.new"), rotated.certificate);
  std::rename(dir_.File("server.key.new").c_str(), dir_.File("server.key").c_str());
  std::rename(dir_.File("server.pem.new").c_str(), dir_.File("server.pem").c_str());

  Caller trusts_next = admin;
  trusts_next.ca = next.certificate();
  EXPECT_TRUE(WaitUntil([&] { return Call(trusts_next, "ListIntegrations", "") == Code::OK; },
                        absl::Seconds(15), "the new certificate to be served"));
  EXPECT_EQ(Call(admin, "ListIntegrations", ""), Code::UNAVAILABLE)
      << "the old certificate is still served";
}

TEST_F(SecurityTest, AuditLogHasOneLinePerRpcAndNoSecrets) {
  WritePolicy();
  StartBroker();
  Caller admin = Admin();
  CreateAs(admin, "acme");
  Caller reader{"reader", ca_.certificate(), {}, reader_token_};
  auto stub = v1::TokenService::NewStub(ChannelFor(reader));
  grpc::ClientContext ctx;
  Prepare(&ctx, reader);
  ctx.AddMetadata("x-request-id", "req-42");
  v1::GetAccessTokenRequest request;
  request.set_name("integrations/acme");
  v1::GetAccessTokenResponse token;
  ASSERT_TRUE(stub->GetAccessToken(&ctx, request, &token).ok());
  EXPECT_EQ(Call(reader, "GetAccessToken", "other"), Code::PERMISSION_DENIED);
  EXPECT_EQ(Call({"anon", ca_.certificate(), {}, ""}, "ListIntegrations", ""),
            Code::UNAUTHENTICATED);

  broker_.reset();  // flushes the audit log
  std::vector<std::string> lines =
      absl::StrSplit(ReadFile(dir_.File("audit.log")), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);  // create, token, denied, unauthenticated
  auto create = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(create["method"], "/tokenbroker.v1.IntegrationService/CreateIntegration");
  EXPECT_EQ(create["caller"], "admin-1.example.org");
  EXPECT_EQ(create["integration"], "acme");
  EXPECT_EQ(create["code"], "OK");
  auto got = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(got["request_id"], "req-42");
  EXPECT_EQ(got["caller"], "svc-reader-token");
  EXPECT_THAT(got["peer"].get<std::string>(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(got["method"], "/tokenbroker.v1.TokenService/GetAccessToken");
  EXPECT_EQ(got["integration"], "acme");
  EXPECT_EQ(got["code"], "OK");
  EXPECT_FALSE(got["x_debug_id"].get<std::string>().empty());
  // The operator's tool gives the same fingerprint for the token handed out.
  CommandResult fp = RunCommand({BinDir() + "/tokenctl", "audit", "fingerprint",
                                 "--audit-key-file=" + dir_.File("audit.key")},
                                token.token().access_token() + "\n");
  ASSERT_EQ(fp.exit_code, 0) << fp.err;
  EXPECT_EQ(got["token_fingerprint"].get<std::string>() + "\n", fp.out);
  EXPECT_EQ(nlohmann::json::parse(lines[2])["code"], "PERMISSION_DENIED");
  EXPECT_EQ(nlohmann::json::parse(lines[3])["code"], "UNAUTHENTICATED");

  std::string audit = ReadFile(dir_.File("audit.log"));
  for (const std::string& secret :
       {std::string(kSecret), token.token().access_token(), reader_token_}) {
    EXPECT_THAT(audit, Not(HasSubstr(secret)));
  }
}

TEST_F(SecurityTest, ForcedRefreshesAreRateLimitedPerIntegration) {
  WritePolicy();
  StartBroker({"--max-forced-refreshes=2", "--forced-refresh-window=1h"});
  Caller admin = Admin();
  CreateAs(admin, "acme");
  Caller reader{"reader", ca_.certificate(), {}, reader_token_};
  EXPECT_EQ(Call(reader, "RefreshAccessToken", "acme"), Code::OK);
  EXPECT_EQ(Call(reader, "RefreshAccessToken", "acme"), Code::OK);
  EXPECT_EQ(Call(reader, "RefreshAccessToken", "acme"), Code::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Call(reader, "GetAccessToken", "acme"), Code::OK);  // tokens still served
  EXPECT_EQ(ims_->Exchanges("c1"), 2);
}

TEST_F(SecurityTest, AuditSinkFailureKeepsServingOrRefusesAsConfigured) {
  WritePolicy();
  Caller admin = Admin();
  // /dev/full accepts the open and fails every write (ENOSPC).
  StartBroker({"--audit-log=/dev/full", "--audit-failure-mode=serve"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Call(admin, "ListIntegrations", ""), Code::OK);
  // The writer thread logs the failure after the calls were answered.
  EXPECT_TRUE(WaitUntil([&] { return absl::StrContains(broker_->log(), "audit log write failed"); },
                        absl::Seconds(10), "the broker to log \"audit log write failed\""))
      << broker_->log();
  broker_.reset();

  StartBroker({"--audit-log=/dev/full", "--audit-failure-mode=refuse"});
  EXPECT_EQ(Call(admin, "ListIntegrations", ""), Code::OK);  // its line fails to write
  // Once the writer thread has failed to write it, calls are refused.
  EXPECT_TRUE(WaitUntil([&] { return Call(admin, "ListIntegrations", "") == Code::UNAVAILABLE; },
                        absl::Seconds(5), "refuse mode to refuse calls without an audit log"));
}

TEST_F(SecurityTest, NonLoopbackWithoutAuthenticationIsRefused) {
  CommandResult refused = RunCommand({BinDir() + "/tokenbroker", "--listen=0.0.0.0:0"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("--allow-unauthenticated-non-loopback"));
}

}  // namespace
}  // namespace tokenbroker::testing
