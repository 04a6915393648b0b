// The local HTTP token endpoint end to end: the real tokenbroker binary with
// --http-listen on a free loopback port, the real ims-emulator over TLS, and
// requests made by the real curl binary, as a shell script would.
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

constexpr char kSecret[] = "HTTP-ENDPOINT-SECRET-7c1e";
constexpr char kReaderToken[] = "tbk_http_reader_0123456789abcdef0123456789";
constexpr char kIntent[] = "Tokenbroker-Request: true";

nlohmann::json Client(const std::string& client_id, int lifetime_seconds = 0) {
  nlohmann::json c = {{"client_id", client_id},
                      {"client_secrets", {kSecret}},
                      {"org_id", "ORG1@AdobeOrg"},
                      {"scopes", {"openid", "AdobeID"}}};
  if (lifetime_seconds > 0) c["token_lifetime_seconds"] = lifetime_seconds;
  return c;
}

// One curl run: its HTTP status (0 when no answer), headers and body.
struct HttpAnswer {
  int status = 0;
  int curl_exit = -1;
  std::string headers;  // raw, lower-cased
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  bool HasHeader(const std::string& line) const {
    return absl::StrContains(headers, absl::AsciiStrToLower(line));
  }
};

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("audit.key"), std::string(48, 'k'));
    WriteServerTls(ca_, dir_.path());
  }

  void StartStack(const std::vector<nlohmann::json>& clients, std::vector<std::string> flags = {}) {
    auto ims = ImsEmulatorProcess::Start(clients);
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    flags.insert(flags.end(),
                 {"--http-listen=127.0.0.1:0", "--ims-url=" + ims_->url(),
                  "--ims-ca-file=" + ims_->ca_file(), "--audit-log=" + dir_.File("audit.log"),
                  "--audit-key-file=" + dir_.File("audit.key")});
    auto broker = BrokerProcess::Start(flags);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    ASSERT_GT(broker_->http_port(), 0) << broker_->log();
  }

  // Creates integration `id` over plaintext gRPC (no policy, no TLS).
  void Create(const std::string& id, const std::string& client_id) {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse response;
    grpc::Status status = broker_->integrations()->CreateIntegration(
        &ctx, OAuthIntegration(id, client_id, kSecret, ""), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string Url(const std::string& path, bool https = false) const {
    return (https ? "https://127.0.0.1:" : "http://127.0.0.1:") +
           std::to_string(broker_->http_port()) + path;
  }

  // curl `url` with `args` (headers as -H, TLS files...).
  HttpAnswer Curl(const std::string& url, const std::vector<std::string>& args = {kIntent}) {
    std::vector<std::string> argv = {
        "/usr/bin/curl",      "-sS", "--max-time",      "30", "-D",
        dir_.File("headers"), "-o",  dir_.File("body"), "-w", "%{http_code}"};
    for (const std::string& arg : args) {
      if (absl::StartsWith(arg, "--")) {
        std::vector<std::string> flag = absl::StrSplit(arg, absl::MaxSplits('=', 1));
        argv.insert(argv.end(), flag.begin(), flag.end());
      } else {
        argv.insert(argv.end(), {"-H", arg});
      }
    }
    argv.push_back(url);
    std::remove(dir_.File("headers").c_str());
    std::remove(dir_.File("body").c_str());
    CommandResult run = RunCommand(argv);
    HttpAnswer answer;
    answer.curl_exit = run.exit_code;
    EXPECT_TRUE(absl::SimpleAtoi(run.out, &answer.status)) << run.out << run.err;
    answer.headers = absl::AsciiStrToLower(ReadFile(dir_.File("headers")));
    answer.body = ReadFile(dir_.File("body"));
    return answer;
  }

  // The audit lines, after the broker flushed them (it is stopped).
  std::vector<nlohmann::json> AuditLines() {
    broker_.reset();
    std::vector<nlohmann::json> lines;
    for (absl::string_view line :
         absl::StrSplit(ReadFile(dir_.File("audit.log")), '\n', absl::SkipEmpty())) {
      lines.push_back(nlohmann::json::parse(line));
    }
    return lines;
  }

  TempDir dir_;
  TestCa ca_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
};

absl::Time ParseRfc3339(const std::string& text) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &error)) << text << ": " << error;
  return t;
}

TEST_F(HttpEndpointTest, TokenIsTheOneGrpcGetAccessTokenReturns) {
  StartStack({Client("c1")});
  Create("acme", "c1");
  HttpAnswer http = Curl(Url("/v1/integrations/acme/token"));
  ASSERT_EQ(http.status, 200) << http.body;
  EXPECT_TRUE(http.HasHeader("Cache-Control: no-store")) << http.headers;
  EXPECT_TRUE(http.HasHeader("Content-Type: application/json")) << http.headers;

  grpc::ClientContext ctx;
  v1::GetAccessTokenRequest request;
  request.set_name("integrations/acme");
  v1::GetAccessTokenResponse grpc_token;
  ASSERT_TRUE(broker_->tokens()->GetAccessToken(&ctx, request, &grpc_token).ok());
  nlohmann::json body = http.json();
  EXPECT_EQ(body["access_token"], grpc_token.token().access_token());
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(ParseRfc3339(body["expire_time"]),
            absl::FromUnixSeconds(grpc_token.token().expire_time().seconds()) +
                absl::Nanoseconds(grpc_token.token().expire_time().nanos()));
  EXPECT_EQ(body.size(), 3u) << body;
  EXPECT_EQ(ims_->Exchanges("c1"), 1);  // one cached token for both transports
  EXPECT_THAT(broker_->log(), Not(HasSubstr(grpc_token.token().access_token())));
}

TEST_F(HttpEndpointTest, HeadersAreGetRequestHeadersAsAnObjectWithExpireTimeBeside) {
  StartStack({Client("c1")});
  Create("acme", "c1");
  HttpAnswer http = Curl(Url("/v1/integrations/acme/headers"));
  ASSERT_EQ(http.status, 200) << http.body;
  grpc::ClientContext ctx;
  v1::GetRequestHeadersRequest request;
  request.set_name("integrations/acme");
  v1::GetRequestHeadersResponse grpc_headers;
  ASSERT_TRUE(broker_->tokens()->GetRequestHeaders(&ctx, request, &grpc_headers).ok());
  nlohmann::json expected = nlohmann::json::object();
  for (const v1::Header& header : grpc_headers.headers()) expected[header.name()] = header.value();
  nlohmann::json body = http.json();
  EXPECT_EQ(body["headers"], expected);
  EXPECT_EQ(body["headers"]["x-api-key"], "c1");
  EXPECT_THAT(body["headers"]["Authorization"].get<std::string>(),
              ::testing::StartsWith("Bearer "));
  EXPECT_EQ(ParseRfc3339(body["expire_time"]),
            absl::FromUnixSeconds(grpc_headers.expire_time().seconds()) +
                absl::Nanoseconds(grpc_headers.expire_time().nanos()));
}

TEST_F(HttpEndpointTest, MinValidityIsPassedToTheBrokerAndValidatedLikeGrpc) {
  StartStack({Client("hour", /*lifetime_seconds=*/3600)});
  Create("acme", "hour");
  EXPECT_EQ(Curl(Url("/v1/integrations/acme/token?min_validity=5m")).status, 200);
  // Longer than the IMS token lives: the broker's FAILED_PRECONDITION, 400.
  HttpAnswer longer = Curl(Url("/v1/integrations/acme/token?min_validity=2h"));
  EXPECT_EQ(longer.status, 400) << longer.body;
  EXPECT_EQ(longer.json()["error"]["status"], "FAILED_PRECONDITION") << longer.body;
  for (const char* bad : {"13h", "-1s", "soon"}) {
    HttpAnswer answer = Curl(Url(std::string("/v1/integrations/acme/token?min_validity=") + bad));
    EXPECT_EQ(answer.status, 400) << bad;
    EXPECT_EQ(answer.json()["error"]["status"], "INVALID_ARGUMENT") << answer.body;
    EXPECT_THAT(answer.json()["error"]["message"].get<std::string>(), HasSubstr("min_validity"));
  }
}

TEST_F(HttpEndpointTest, WithoutTheTokenbrokerRequestHeaderIs403NamingIt) {
  StartStack({Client("c1")});
  Create("acme", "c1");
  for (const std::vector<std::string>& headers :
       {std::vector<std::string>{}, std::vector<std::string>{"Tokenbroker-Request: false"}}) {
    HttpAnswer answer = Curl(Url("/v1/integrations/acme/token"), headers);
    EXPECT_EQ(answer.status, 403) << answer.body;
    EXPECT_EQ(answer.json()["error"]["status"], "PERMISSION_DENIED");
    EXPECT_THAT(answer.json()["error"]["message"].get<std::string>(),
                HasSubstr("Tokenbroker-Request: true"));
    EXPECT_THAT(answer.json()["error"]["message"].get<std::string>(), HasSubstr("browser"));
  }
  EXPECT_EQ(ims_->Exchanges("c1"), 0);
}

TEST_F(HttpEndpointTest, BadIdIs400UnknownIs404UnknownPathIs404OtherMethodIs405) {
  StartStack({Client("c1")});
  HttpAnswer bad = Curl(Url("/v1/integrations/Bad_Id/token"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["reason"], "INVALID_FIELD") << bad.body;
  HttpAnswer unknown = Curl(Url("/v1/integrations/nobody/headers"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json()["error"]["reason"], "INTEGRATION_NOT_FOUND") << unknown.body;
  HttpAnswer path = Curl(Url("/v1/integrations/acme/secrets"));
  EXPECT_EQ(path.status, 404);
  EXPECT_EQ(path.json()["error"]["status"], "NOT_FOUND") << path.body;
  HttpAnswer post = Curl(Url("/v1/integrations/acme/token"), {kIntent, "--request=POST"});
  EXPECT_EQ(post.status, 405);
  EXPECT_TRUE(post.HasHeader("Allow: GET")) << post.headers;
  EXPECT_TRUE(post.HasHeader("Cache-Control: no-store")) << post.headers;
}

TEST_F(HttpEndpointTest, ImsDownIs503WithRetryAfter) {
  StartStack({Client("c1")}, {"--ims-max-attempts=1"});
  Create("acme", "c1");
  ims_->SetFaults({{"down", true}});
  HttpAnswer answer = Curl(Url("/v1/integrations/acme/token"));
  EXPECT_EQ(answer.status, 503) << answer.body;
  EXPECT_EQ(answer.json()["error"]["reason"], "IMS_UNAVAILABLE") << answer.body;
  std::vector<std::string> retry_after;
  for (absl::string_view line : absl::StrSplit(answer.headers, "\r\n")) {
    if (absl::ConsumePrefix(&line, "retry-after: ")) retry_after.emplace_back(line);
  }
  ASSERT_EQ(retry_after.size(), 1u) << answer.headers;
  int seconds = 0;
  EXPECT_TRUE(absl::SimpleAtoi(retry_after[0], &seconds) && seconds >= 1) << retry_after[0];
}

TEST_F(HttpEndpointTest, EveryCallIsAuditedWithTheHttpMethodName) {
  StartStack({Client("c1")});
  Create("acme", "c1");
  ASSERT_EQ(Curl(Url("/v1/integrations/acme/token"), {kIntent, "X-Request-Id: http-req-1"}).status,
            200);
  ASSERT_EQ(Curl(Url("/v1/integrations/acme/headers")).status, 200);
  ASSERT_EQ(Curl(Url("/v1/integrations/acme/token"), {}).status, 403);
  std::vector<nlohmann::json> lines = AuditLines();
  ASSERT_EQ(lines.size(), 4u);  // create, token, headers, refused
  EXPECT_EQ(lines[1]["method"], "GET /v1/integrations/{id}/token");
  EXPECT_EQ(lines[1]["request_id"], "http-req-1");
  EXPECT_EQ(lines[1]["integration"], "acme");
  EXPECT_EQ(lines[1]["code"], "OK");
  EXPECT_THAT(lines[1]["peer"].get<std::string>(), HasSubstr("ipv4:127.0.0.1:"));
  EXPECT_TRUE(lines[1].contains("token_fingerprint")) << lines[1];
  EXPECT_EQ(lines[2]["method"], "GET /v1/integrations/{id}/headers");
  EXPECT_EQ(lines[3]["code"], "PERMISSION_DENIED");
}

TEST_F(HttpEndpointTest, HttpsServesARotatedCertificateWithoutARestart) {
  StartStack({Client("c1")}, {"--tls-cert=" + dir_.File("server.pem"),
                              "--tls-key=" + dir_.File("server.key"), "--tls-reload-interval=1s"});
  const std::string url = Url("/v1/integrations/acme/token", /*https=*/true);
  const std::vector<std::string> trusts_old = {"--cacert=" + dir_.File("ca.pem"), kIntent};
  const std::vector<std::string> trusts_next = {"--cacert=" + dir_.File("next-ca.pem"), kIntent};
  EXPECT_EQ(Curl(url, trusts_old).status, 404);  // served; no such integration

  // Rotate to a certificate of a new CA, each file replaced by a rename.
  TestCa next("next CA");
  PemPair rotated = next.Issue(
      {.common_name = "tokenbroker", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
  WriteFile(dir_.File("next-ca.pem"), next.certificate());
  WriteFile(dir_.File("server.key.new"), rotated.private_key);
  WriteFile(dir_.File("server.pem.new"), rotated.certificate);
  ASSERT_EQ(std::rename(dir_.File("server.key.new").c_str(), dir_.File("server.key").c_str()), 0);
  ASSERT_EQ(std::rename(dir_.File("server.pem.new").c_str(), dir_.File("server.pem").c_str()), 0);

  EXPECT_TRUE(WaitUntil([&] { return Curl(url, trusts_next).status == 404; }, absl::Seconds(15),
                        "the rotated certificate to be served over HTTPS"))
      << broker_->log();
  HttpAnswer old = Curl(url, trusts_old);
  EXPECT_EQ(old.status, 0) << "the old certificate is still served";
  EXPECT_NE(old.curl_exit, 0);
  EXPECT_THAT(broker_->log(), HasSubstr("http token endpoint TLS files reloaded"));
}

TEST_F(HttpEndpointTest, NonLoopbackWithoutCallerAuthenticationIsRefusedAtStartUp) {
  auto broker = BrokerProcess::Start({"--http-listen=0.0.0.0:0"});
  ASSERT_FALSE(broker.ok());
  EXPECT_THAT(std::string(broker.status().message()),
              HasSubstr("0.0.0.0:0 is not a loopback address and no caller authentication is "
                        "configured: anyone who can reach it could take every integration's "
                        "tokens"));
}

// ---- Caller authentication -------------------------------------------------

std::string HashOf(const std::string& token) {
  // hmac-sha256:<salt>:<HMAC-SHA256(salt, token)>, with the openssl CLI.
  std::string salt = "00112233445566778899aabbccddeeff";
  CommandResult mac = RunCommand(
      {"/usr/bin/openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + salt}, token);
  std::string hex = mac.out.substr(mac.out.rfind(' ') + 1);
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  return "hmac-sha256:" + salt + ":" + hex;
}

class HttpEndpointAuthTest : public HttpEndpointTest {
 protected:
  // A reader token for "acme", a certificate identity reading "acme", and
  // an admin certificate that creates integrations over gRPC.
  void WritePolicy() {
    nlohmann::json policy = {
        {"version", 1},
        {"caller_tokens", {{{"identity", "svc-http"}, {"hash", HashOf(kReaderToken)}}}},
        {"bindings",
         {{{"identity", "svc-http"}, {"role", "reader"}, {"integrations", {"acme"}}},
          {{"identity", "spiffe://example.org/ns/app/sa/reader"},
           {"role", "reader"},
           {"integrations", {"acme"}}}}}};
    WriteFile(dir_.File("policy.json"), policy.dump());
  }
  // Writes a client certificate for `spec` and returns curl's TLS flags.
  std::vector<std::string> ClientCert(const CertSpec& spec) {
    PemPair pair = ca_.Issue(spec);
    WriteFile(dir_.File("client.pem"), pair.certificate);
    WriteFile(dir_.File("client.key"), pair.private_key);
    return {"--cacert=" + dir_.File("ca.pem"), "--cert=" + dir_.File("client.pem"),
            "--key=" + dir_.File("client.key"), kIntent};
  }
};

TEST_F(HttpEndpointAuthTest, PolicyWithCallerTokenNoTokenIs401WrongIntegration403RightOne200) {
  WritePolicy();
  StartStack({Client("c1")}, {"--policy-file=" + dir_.File("policy.json")});
  HttpAnswer none = Curl(Url("/v1/integrations/acme/token"));
  EXPECT_EQ(none.status, 401) << none.body;
  const std::string bearer = std::string("Authorization: Bearer ") + kReaderToken;
  HttpAnswer wrong_token = Curl(Url("/v1/integrations/acme/token"),
                                {kIntent, "Authorization: Bearer tbk_not_a_known_token_000000"});
  EXPECT_EQ(wrong_token.status, 401) << wrong_token.body;
  HttpAnswer other = Curl(Url("/v1/integrations/other/token"), {kIntent, bearer});
  EXPECT_EQ(other.status, 403) << other.body;
  // acme does not exist yet: admitted, then NOT_FOUND (the policy came first).
  HttpAnswer acme = Curl(Url("/v1/integrations/acme/token"), {kIntent, bearer});
  EXPECT_EQ(acme.status, 404) << acme.body;
  std::vector<nlohmann::json> lines = AuditLines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(lines[2]["caller"], "svc-http");
  EXPECT_EQ(lines[2]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(lines[3]["code"], "NOT_FOUND");
}

TEST_F(HttpEndpointAuthTest, CallerTokenReadsItsIntegration200) {
  WritePolicy();
  // An admin binding for the test's own gRPC calls, by caller token too.
  nlohmann::json policy = nlohmann::json::parse(ReadFile(dir_.File("policy.json")));
  policy["caller_tokens"].push_back({{"identity", "admin"}, {"hash", HashOf("tbk_admin_x")}});
  policy["bindings"].push_back({{"identity", "admin"}, {"role", "admin"}});
  WriteFile(dir_.File("policy.json"), policy.dump());
  StartStack({Client("c1")}, {"--policy-file=" + dir_.File("policy.json")});
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer tbk_admin_x");
  v1::CreateIntegrationResponse created;
  ASSERT_TRUE(broker_->integrations()
                  ->CreateIntegration(&ctx, OAuthIntegration("acme", "c1", kSecret, ""), &created)
                  .ok());
  HttpAnswer acme = Curl(Url("/v1/integrations/acme/token"),
                         {kIntent, std::string("Authorization: Bearer ") + kReaderToken});
  EXPECT_EQ(acme.status, 200) << acme.body;
  EXPECT_FALSE(acme.json()["access_token"].get<std::string>().empty());
}

TEST_F(HttpEndpointAuthTest, MutualTlsCertificateIdentityIsTheCaller) {
  WritePolicy();
  StartStack(
      {Client("c1")},
      {"--tls-cert=" + dir_.File("server.pem"), "--tls-key=" + dir_.File("server.key"),
       "--client-ca-file=" + dir_.File("ca.pem"), "--policy-file=" + dir_.File("policy.json")});
  std::vector<std::string> reader =
      ClientCert({.common_name = "reader", .uris = {"spiffe://example.org/ns/app/sa/reader"}});
  HttpAnswer other = Curl(Url("/v1/integrations/other/token", /*https=*/true), reader);
  EXPECT_EQ(other.status, 403) << other.body;  // identified, not allowed there
  HttpAnswer acme = Curl(Url("/v1/integrations/acme/token", true), reader);
  EXPECT_EQ(acme.status, 404) << acme.body;  // allowed; no such integration yet
  std::vector<std::string> stranger = ClientCert({.common_name = "stranger"});
  EXPECT_EQ(Curl(Url("/v1/integrations/acme/token", true), stranger).status, 403);
  // No certificate and no token: the policy makes certificates optional.
  HttpAnswer anonymous =
      Curl(Url("/v1/integrations/acme/token", true), {"--cacert=" + dir_.File("ca.pem"), kIntent});
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  std::vector<nlohmann::json> lines = AuditLines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[1]["caller"], "spiffe://example.org/ns/app/sa/reader");
}

TEST_F(HttpEndpointAuthTest, MutualTlsWithoutPolicyRequiresAClientCertificate) {
  StartStack({Client("c1")},
             {"--tls-cert=" + dir_.File("server.pem"), "--tls-key=" + dir_.File("server.key"),
              "--client-ca-file=" + dir_.File("ca.pem")});
  PemPair admin = ca_.Issue({.common_name = "admin"});
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_.certificate();
  ssl.pem_cert_chain = admin.certificate;
  ssl.pem_private_key = admin.private_key;
  auto channel = grpc::CreateChannel(broker_->address(), grpc::SslCredentials(ssl));
  grpc::ClientContext create_ctx;
  v1::CreateIntegrationResponse created;
  ASSERT_TRUE(
      v1::IntegrationService::NewStub(channel)
          ->CreateIntegration(&create_ctx, OAuthIntegration("acme", "c1", kSecret, ""), &created)
          .ok());
  grpc::ClientContext ctx;
  v1::GetAccessTokenRequest request;
  request.set_name("integrations/acme");
  v1::GetAccessTokenResponse grpc_token;
  ASSERT_TRUE(v1::TokenService::NewStub(channel)->GetAccessToken(&ctx, request, &grpc_token).ok());

  HttpAnswer with_cert = Curl(Url("/v1/integrations/acme/token", /*https=*/true),
                              ClientCert({.common_name = "workload"}));
  ASSERT_EQ(with_cert.status, 200) << with_cert.body;
  EXPECT_EQ(with_cert.json()["access_token"], grpc_token.token().access_token());
  // Without a certificate the handshake fails: no HTTP answer at all.
  HttpAnswer without =
      Curl(Url("/v1/integrations/acme/token", true), {"--cacert=" + dir_.File("ca.pem"), kIntent});
  EXPECT_EQ(without.status, 0);
  EXPECT_NE(without.curl_exit, 0);
  // Plain HTTP to the HTTPS port gets no token either.
  EXPECT_NE(Curl(Url("/v1/integrations/acme/token")).status, 200);
  std::vector<nlohmann::json> lines = AuditLines();
  ASSERT_EQ(lines.size(), 3u);  // create, gRPC token, HTTP token
  EXPECT_EQ(lines[2]["method"], "GET /v1/integrations/{id}/token");
  EXPECT_EQ(lines[2]["caller"], "workload");
}

}  // namespace
}  // namespace tokenbroker::testing
