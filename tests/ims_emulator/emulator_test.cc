// Integration tests of the ims-emulator binary: each test process starts the
// real binary on a free loopback port and talks to it over real TLS, trusting
// the certificate the emulator writes with --cert-out.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/ims_emulator/clients.h"
#include "tests/ims_emulator/crypto.h"
#include "tests/ims_emulator/ims_emulator.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace tokenbroker::emulator {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::tokenbroker::testing::BinDir;
using ::tokenbroker::testing::CommandResult;
using ::tokenbroker::testing::ReadFile;
using ::tokenbroker::testing::RunCommand;
using ::tokenbroker::testing::Subprocess;
using ::tokenbroker::testing::TempDir;
using ::tokenbroker::testing::WaitForPortFile;
using ::tokenbroker::testing::WaitUntil;
using ::tokenbroker::testing::WriteFile;

constexpr char kS2sClient[] = "s2s-client";
constexpr char kJwtClient[] = "jwt-client";
constexpr char kOrg[] = "0123456789ABCDEF@AdobeOrg";
constexpr char kTechAccount[] = "TECH0001@techacct.adobe.com";
constexpr char kMetascope[] = "ent_dataservices_sdk";

// The JWT signer's test double: an RSA key and its self-signed certificate,
// as a Developer Console JWT credential holds them.
struct JwtIdentity {
  EvpPkeyPtr key;
  std::string certificate_pem;

  static JwtIdentity Generate() {
    JwtIdentity identity;
    auto key = GenerateRsaKey(2048);
    EXPECT_TRUE(key.ok()) << key.status();
    auto cert = SelfSignedCertificate(key->get(), "jwt-test", {}, absl::Hours(24));
    EXPECT_TRUE(cert.ok()) << cert.status();
    identity.key = *std::move(key);
    identity.certificate_pem = CertificateToPem(cert->get());
    return identity;
  }
};

// header.payload.signature, RS256 over the raw JSON of `header` and `claims`.
std::string SignJwt(EVP_PKEY* key, const json& claims,
                    const json& header = {{"alg", "RS256"}, {"typ", "JWT"}}) {
  std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()));
  auto signature = SignRs256(key, input);
  EXPECT_TRUE(signature.ok()) << signature.status();
  return absl::StrCat(input, ".", Base64UrlEncode(signature.value_or("")));
}

json DecodeSegment(const std::string& token, int index) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return json();
  auto raw = Base64UrlDecode(parts[index]);
  return raw.has_value() ? json::parse(*raw, nullptr, false) : json();
}

json ParseBody(const httplib::Result& res) {
  return res ? json::parse(res->body, nullptr, false) : json();
}

// The JWT client's registration (JSON as in the --clients file).
json JwtClient(const std::string& certificate_pem) {
  return {{"client_id", kJwtClient},
          {"client_secrets", {"jwt-secret"}},
          {"org_id", kOrg},
          {"technical_account_id", kTechAccount},
          {"certificate_pem", certificate_pem},
          {"metascopes", {kMetascope, "ent_campaign_sdk"}}};
}

// One running ims-emulator.
class Emulator {
 public:
  // Starts the binary with the S2S client and, when `jwt_certificate_pem` is
  // set, the JWT client in its --clients file.
  static std::unique_ptr<Emulator> Start(const std::string& jwt_certificate_pem = "",
                                         std::vector<std::string> extra_args = {}) {
    auto emulator = std::unique_ptr<Emulator>(new Emulator());
    emulator->plain_http_ =
        std::find(extra_args.begin(), extra_args.end(), "--plain-http") != extra_args.end();
    const TempDir& dir = emulator->dir_;
    json clients = {{"clients",
                     {{{"client_id", kS2sClient},
                       {"client_secrets", {"first-secret", "second-secret"}},
                       {"org_id", kOrg},
                       {"technical_account_id", kTechAccount},
                       {"scopes", {"openid", "AdobeID", "read_organizations"}}}}}};
    if (!jwt_certificate_pem.empty()) {
      clients["clients"].push_back(JwtClient(jwt_certificate_pem));
    }
    WriteFile(dir.File("clients.json"), clients.dump());
    std::vector<std::string> argv = {
        BinDir() + "/ims-emulator", "--clients=" + dir.File("clients.json"),
        "--port-file=" + dir.File("port"), "--cert-out=" + dir.File("ca.pem"), "--log-requests"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto process = Subprocess::Start(argv, emulator->log_path());
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    emulator->process_ = *std::move(process);
    auto port = WaitForPortFile(dir.File("port"), absl::Seconds(20), emulator->process_.get());
    EXPECT_TRUE(port.ok()) << port.status() << "\n" << ReadFile(emulator->log_path());
    if (!port.ok()) return nullptr;
    emulator->port_ = *port;
    return emulator;
  }

  std::unique_ptr<httplib::Client> NewClient() const {
    std::unique_ptr<httplib::Client> client;
    if (plain_http_) {
      client = std::make_unique<httplib::Client>(absl::StrCat("http://127.0.0.1:", port_));
    } else {
      client = std::make_unique<httplib::Client>(absl::StrCat("https://127.0.0.1:", port_));
      client->set_ca_cert_path(ca_file());
      client->enable_server_certificate_verification(true);
    }
    client->set_tcp_nodelay(true);
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
    return client;
  }

  // The base URL IMS expects in aud and metascope claims (scheme + Host).
  std::string base_url() const {
    return absl::StrCat(plain_http_ ? "http" : "https", "://127.0.0.1:", port_);
  }
  std::string ca_file() const { return dir_.File("ca.pem"); }
  std::string log_path() const { return dir_.File("emulator.log"); }
  int port() const { return port_; }
  Subprocess& process() { return *process_; }

 private:
  Emulator() = default;
  TempDir dir_;
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
  bool plain_http_ = false;
};

httplib::Params S2sForm(const std::string& secret, const std::string& scope = "openid,AdobeID") {
  return {{"grant_type", "client_credentials"},
          {"client_id", kS2sClient},
          {"client_secret", secret},
          {"scope", scope}};
}

class ImsEmulatorTest : public ::testing::Test {
 protected:
  // One emulator per test process (CTest runs each test in its own process).
  static void SetUpTestSuite() { emulator_ = Emulator::Start().release(); }
  static void TearDownTestSuite() {
    delete emulator_;
    emulator_ = nullptr;
    delete identity_;
    identity_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(emulator_, nullptr);
    client_ = emulator_->NewClient();
  }

  // The JWT client's private key. The key pair is generated and the client
  // registered through POST /emulator/clients on first use only: RSA key
  // generation is the slowest step of these tests.
  EVP_PKEY* JwtKey() {
    if (identity_ == nullptr) {
      identity_ = new JwtIdentity(JwtIdentity::Generate());
      auto res = client_->Post("/emulator/clients", JwtClient(identity_->certificate_pem).dump(),
                               "application/json");
      EXPECT_TRUE(res && res->status == 200);
    }
    return identity_->key.get();
  }

  json ValidClaims() const {
    return {{"exp", absl::ToUnixSeconds(absl::Now() + absl::Minutes(5))},
            {"iss", kOrg},
            {"sub", kTechAccount},
            {"aud", absl::StrCat(emulator_->base_url(), "/c/", kJwtClient)},
            {absl::StrCat(emulator_->base_url(), "/s/", kMetascope), true}};
  }

  // Posts a JWT exchange as multipart/form-data (as Adobe documents it).
  httplib::Result ExchangeJwt(const std::string& jwt, const std::string& secret = "jwt-secret") {
    JwtKey();  // Registers the JWT client.
    httplib::MultipartFormDataItems items = {{"client_id", kJwtClient, "", ""},
                                             {"client_secret", secret, "", ""},
                                             {"jwt_token", jwt, "", ""}};
    return client_->Post("/ims/exchange/jwt", items);
  }

  void ExpectError(const httplib::Result& res, int status, const std::string& error,
                   const std::string& description_fragment = "") {
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, status) << res->body;
    json body = ParseBody(res);
    EXPECT_EQ(body.value("error", ""), error) << res->body;
    EXPECT_THAT(body.value("error_description", ""), HasSubstr(description_fragment));
    EXPECT_TRUE(res->has_header("x-debug-id"));
  }

  json Stats() {
    auto res = client_->Get("/emulator/stats");
    return res && res->status == 200 ? ParseBody(res) : json();
  }

  void SetFaults(const json& faults) {
    auto res = client_->Post("/emulator/faults", faults.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  static JwtIdentity* identity_;
  static Emulator* emulator_;
  std::unique_ptr<httplib::Client> client_;
};

JwtIdentity* ImsEmulatorTest::identity_ = nullptr;
Emulator* ImsEmulatorTest::emulator_ = nullptr;

TEST_F(ImsEmulatorTest, StartWritesPortFileAndListeningLine) {
  EXPECT_THAT(ReadFile(emulator_->log_path()),
              HasSubstr(absl::StrCat(
                  "ims-emulator listening on https://127.0.0.1:", emulator_->port(), "\n")));
  EXPECT_THAT(ReadFile(emulator_->ca_file()), StartsWith("-----BEGIN CERTIFICATE-----"));
}

TEST_F(ImsEmulatorTest, ClientCredentialsSucceedsWithSecondsAndJwtShapedToken) {
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  json body = ParseBody(res);
  EXPECT_EQ(body["token_type"], "bearer");
  EXPECT_EQ(body["expires_in"], 86400);  // Seconds in this flow.
  std::string token = body["access_token"];
  json header = DecodeSegment(token, 0);
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["kid"], "ims_na1-key-at-1");
  EXPECT_EQ(header["itt"], "at");
  json payload = DecodeSegment(token, 1);
  EXPECT_EQ(payload["type"], "access_token");
  EXPECT_EQ(payload["client_id"], kS2sClient);
  EXPECT_EQ(payload["org"], kOrg);
  EXPECT_EQ(payload["expires_in"], "86400000");  // Milliseconds, as a string.
  EXPECT_EQ(payload["scope"], "openid,AdobeID");
  EXPECT_TRUE(payload["created_at"].is_string());

  auto again = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  ASSERT_TRUE(again);
  EXPECT_NE(ParseBody(again)["access_token"], body["access_token"]);
}

TEST_F(ImsEmulatorTest, ClientCredentialsSucceedsWithSecondSecretOnV2Multipart) {
  httplib::MultipartFormDataItems items = {{"grant_type", "client_credentials", "", ""},
                                           {"client_id", kS2sClient, "", ""},
                                           {"client_secret", "second-secret", "", ""},
                                           {"scope", "openid", "", ""},
                                           {"org_id", kOrg, "", ""}};
  auto res = client_->Post("/ims/token/v2", items);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(ImsEmulatorTest, ClientCredentialsFailsWith401OnWrongSecret) {
  ExpectError(client_->Post("/ims/token/v3", S2sForm("wrong")), 401, "invalid_client");
}

TEST_F(ImsEmulatorTest, ClientCredentialsFailsWith400OnUnknownClient) {
  httplib::Params form = S2sForm("first-secret");
  form.erase("client_id");
  form.emplace("client_id", "nobody");
  ExpectError(client_->Post("/ims/token/v3", form), 400, "invalid_client", "unknown");
}

TEST_F(ImsEmulatorTest, ClientCredentialsFailsOnScopeNotGranted) {
  ExpectError(client_->Post("/ims/token/v3", S2sForm("first-secret", "openid,admin")), 400,
              "invalid_scope", "admin");
}

TEST_F(ImsEmulatorTest, ClientCredentialsFailsOnWrongGrantType) {
  httplib::Params form = S2sForm("first-secret");
  form.erase("grant_type");
  form.emplace("grant_type", "password");
  ExpectError(client_->Post("/ims/token/v3", form), 400, "unsupported_grant_type");
}

TEST_F(ImsEmulatorTest, JwtExchangeSucceedsWithMilliseconds) {
  auto res = ExchangeJwt(SignJwt(JwtKey(), ValidClaims()));
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  json body = ParseBody(res);
  EXPECT_EQ(body["token_type"], "bearer");
  EXPECT_EQ(body["expires_in"], 86400000);  // Milliseconds in this flow.
  json payload = DecodeSegment(body["access_token"], 1);
  EXPECT_EQ(payload["client_id"], kJwtClient);
  EXPECT_EQ(payload["user_id"], kTechAccount);
  EXPECT_EQ(payload["scope"], kMetascope);
}

TEST_F(ImsEmulatorTest, JwtExchangeSucceedsUrlEncoded) {
  auto res = client_->Post("/ims/exchange/jwt",
                           httplib::Params{{"client_id", kJwtClient},
                                           {"client_secret", "jwt-secret"},
                                           {"jwt_token", SignJwt(JwtKey(), ValidClaims())}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnWrongSecret) {
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), ValidClaims()), "nope"), 401, "invalid_client");
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnSignatureByAnotherKey) {
  auto other = GenerateRsaKey(1024);  // Any other RSA key; small is quick.
  ASSERT_TRUE(other.ok());
  ExpectError(ExchangeJwt(SignJwt(other->get(), ValidClaims())), 400, "invalid_signature");
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnTamperedPayload) {
  std::string jwt = SignJwt(JwtKey(), ValidClaims());
  std::vector<std::string> parts = absl::StrSplit(jwt, '.');
  json claims = ValidClaims();
  claims["sub"] = "someone-else@techacct.adobe.com";
  parts[1] = Base64UrlEncode(claims.dump());
  ExpectError(ExchangeJwt(absl::StrJoin(parts, ".")), 400, "invalid_signature");
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnNonIntegerExp) {
  json claims = ValidClaims();
  claims["exp"] = static_cast<double>(claims["exp"].get<int64_t>()) + 0.5;
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_token",
              "JWT token is incorrectly formatted");
  claims["exp"] = absl::StrCat(absl::ToUnixSeconds(absl::Now() + absl::Minutes(5)));
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_token",
              "JWT token is incorrectly formatted");
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnExpiredOrFarFutureExp) {
  json claims = ValidClaims();
  claims["exp"] = absl::ToUnixSeconds(absl::Now() - absl::Minutes(1));
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_token", "expired");
  claims["exp"] = absl::ToUnixSeconds(absl::Now() + absl::Hours(25));
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_token", "ahead");
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnWrongAudIssOrSub) {
  json claims = ValidClaims();
  claims["aud"] = absl::StrCat("https://ims-na1.adobelogin.com/c/", kJwtClient);
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_token", "aud");
  claims = ValidClaims();
  claims["iss"] = "OTHER@AdobeOrg";
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_token", "iss");
  claims = ValidClaims();
  claims["sub"] = "OTHER@techacct.adobe.com";
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_token", "sub");
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnUnknownOrMissingMetascope) {
  json claims = ValidClaims();
  claims[absl::StrCat(emulator_->base_url(), "/s/ent_marketing_sdk")] = true;
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_scope", "ent_marketing_sdk");
  claims = ValidClaims();
  claims.erase(absl::StrCat(emulator_->base_url(), "/s/", kMetascope));
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_scope");
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnReusedJti) {
  json claims = ValidClaims();
  claims["jti"] = "jti-" + RandomHex(8);
  auto first = ExchangeJwt(SignJwt(JwtKey(), claims));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200) << first->body;
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), claims)), 400, "invalid_jti");
  claims["jti"] = "jti-" + RandomHex(8);
  auto fresh = ExchangeJwt(SignJwt(JwtKey(), claims));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->status, 200) << fresh->body;
}

TEST_F(ImsEmulatorTest, JwtExchangeFailsOnGarbageToken) {
  ExpectError(ExchangeJwt("not-a-jwt"), 400, "invalid_token", "incorrectly formatted");
  ExpectError(ExchangeJwt(SignJwt(JwtKey(), ValidClaims(), {{"alg", "HS256"}})), 400,
              "invalid_token", "RS256");
}

TEST_F(ImsEmulatorTest, EveryResponseHasUniqueDebugId) {
  std::set<std::string> ids;
  std::vector<httplib::Result> results;
  results.push_back(client_->Post("/ims/token/v3", S2sForm("first-secret")));
  results.push_back(client_->Post("/ims/token/v3", S2sForm("wrong")));
  results.push_back(client_->Get("/no/such/path"));
  results.push_back(client_->Get("/emulator/stats"));
  for (const auto& res : results) {
    ASSERT_TRUE(res);
    std::string id = res->get_header_value("x-debug-id");
    EXPECT_FALSE(id.empty()) << res->status;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), results.size());
}

TEST_F(ImsEmulatorTest, StatsCountExchangesAndRejectionsUntilReset) {
  ASSERT_TRUE(client_->Post("/emulator/reset", "", "application/json"));
  ASSERT_EQ(client_->Post("/ims/token/v3", S2sForm("first-secret"))->status, 200);
  ASSERT_EQ(client_->Post("/ims/token/v3", S2sForm("second-secret"))->status, 200);
  ASSERT_EQ(ExchangeJwt(SignJwt(JwtKey(), ValidClaims()))->status, 200);
  ASSERT_EQ(client_->Post("/ims/token/v3", S2sForm("wrong"))->status, 401);
  json stats = Stats();
  EXPECT_EQ(stats["total_exchanges"], 3) << stats.dump();
  EXPECT_EQ(stats["rejected"], 1);
  EXPECT_EQ(stats["exchanges"][kS2sClient], 2);
  EXPECT_EQ(stats["exchanges"][kJwtClient], 1);
  EXPECT_EQ(stats["token_requests"], 4);

  ASSERT_TRUE(client_->Post("/emulator/reset", "", "application/json"));
  stats = Stats();
  EXPECT_EQ(stats["total_exchanges"], 0) << stats.dump();
  EXPECT_EQ(stats["rejected"], 0);
  EXPECT_EQ(stats["token_requests"], 0);
  EXPECT_TRUE(stats["exchanges"].empty());
}

TEST_F(ImsEmulatorTest, Fault429CarriesRetryAfter) {
  SetFaults({{"rate_429", 1.0}, {"retry_after_seconds", 7}});
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  SetFaults(json::object());
  ExpectError(res, 429, "too_many_requests");
  EXPECT_EQ(res->get_header_value("Retry-After"), "7");
  EXPECT_EQ(client_->Post("/ims/token/v3", S2sForm("first-secret"))->status, 200);
}

TEST_F(ImsEmulatorTest, FaultDownAnswers503UntilCleared) {
  SetFaults({{"down", true}});
  auto s2s = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  auto jwt = ExchangeJwt(SignJwt(JwtKey(), ValidClaims()));
  auto stats = client_->Get("/emulator/stats");  // Admin endpoints keep working.
  SetFaults(json::object());
  ExpectError(s2s, 503, "service_unavailable");
  ExpectError(jwt, 503, "service_unavailable");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->status, 200);
  EXPECT_EQ(client_->Post("/ims/token/v3", S2sForm("first-secret"))->status, 200);
}

TEST_F(ImsEmulatorTest, FaultErrorAnd5xxRates) {
  SetFaults({{"error_rate", 1.0}});
  ExpectError(client_->Post("/ims/token/v3", S2sForm("first-secret")), 500, "server_error");
  SetFaults({{"rate_5xx", 1.0}});
  ExpectError(client_->Post("/ims/token/v3", S2sForm("first-secret")), 503, "service_unavailable");
  SetFaults(json::object());
}

TEST_F(ImsEmulatorTest, FaultMalformedAnswers200WithNonJsonBody) {
  SetFaults({{"malformed_rate", 1.0}});
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  SetFaults(json::object());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(json::parse(res->body, nullptr, false).is_discarded()) << res->body;
}

TEST_F(ImsEmulatorTest, FaultDropClosesConnectionWithoutResponse) {
  SetFaults({{"drop_rate", 1.0}});
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  SetFaults(json::object());
  EXPECT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::Read) << httplib::to_string(res.error());
  EXPECT_EQ(client_->Post("/ims/token/v3", S2sForm("first-secret"))->status, 200);
}

// A reset is a TCP RST (curl: "Connection reset by peer", exit 56), not the
// FIN of a drop (curl: "Empty reply from server", exit 52).
TEST_F(ImsEmulatorTest, FaultResetSendsRstNotFin) {
  auto curl = [&] {
    return RunCommand({"/usr/bin/curl", "-sS", "--cacert", emulator_->ca_file(), "-d",
                       absl::StrCat("grant_type=client_credentials&client_id=", kS2sClient,
                                    "&client_secret=first-secret&scope=openid"),
                       emulator_->base_url() + "/ims/token/v3"});
  };
  SetFaults({{"reset_rate", 1.0}});
  CommandResult reset = curl();
  SetFaults({{"drop_rate", 1.0}});
  CommandResult dropped = curl();
  SetFaults(json::object());
  EXPECT_EQ(reset.exit_code, 56) << reset.err;
  EXPECT_THAT(reset.err, HasSubstr("reset by peer"));
  EXPECT_EQ(dropped.exit_code, 52) << dropped.err;
  EXPECT_EQ(curl().exit_code, 0);
}

TEST_F(ImsEmulatorTest, FaultHangWaitsThenResets) {
  // httplib writes to the reset socket without MSG_NOSIGNAL when it closes
  // the connection: that SIGPIPE must not end the test process.
  signal(SIGPIPE, SIG_IGN);
  SetFaults({{"hang_rate", 1.0}, {"hang_ms", 300}});
  absl::Time start = absl::Now();
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  absl::Duration elapsed = absl::Now() - start;
  SetFaults(json::object());
  EXPECT_FALSE(res);
  EXPECT_GE(elapsed, absl::Milliseconds(300));
}

TEST_F(ImsEmulatorTest, FaultSlowAnswersNormallyAfterTheDelay) {
  SetFaults({{"slow_rate", 1.0}, {"slow_ms", 200}});
  absl::Time start = absl::Now();
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  absl::Duration elapsed = absl::Now() - start;
  SetFaults(json::object());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_GE(elapsed, absl::Milliseconds(200));
}

// Each rate is the fraction of requests that get that fault: one draw, the
// rates stacked (20,000 draws: 5 standard deviations are under 1.6 points).
TEST(FaultDrawTest, RatesAreFractionsOfRequests) {
  auto key = GenerateRsaKey(1024);
  ASSERT_TRUE(key.ok());
  auto emulator = ImsEmulator::New({}, *std::move(key), {});
  ASSERT_TRUE(emulator.ok());
  auto faults =
      ParseFaultSettings(R"({"error_rate":0.10,"rate_5xx":0.15,"rate_429":0.10,"hang_rate":0.05,)"
                         R"("reset_rate":0.05,"malformed_rate":0.03,"slow_rate":0.02})");
  ASSERT_TRUE(faults.ok()) << faults.status();
  (*emulator)->SetFaults(*faults);
  std::map<Fault, int> drawn;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) ++drawn[(*emulator)->DrawFault("any")];
  const std::map<Fault, double> expected = {
      {Fault::kServerError, 0.10}, {Fault::kUnavailable, 0.15}, {Fault::kTooManyRequests, 0.10},
      {Fault::kHang, 0.05},        {Fault::kReset, 0.05},       {Fault::kMalformed, 0.03},
      {Fault::kSlow, 0.02},        {Fault::kNone, 0.50}};
  for (const auto& [fault, rate] : expected) {
    EXPECT_NEAR(static_cast<double>(drawn[fault]) / kDraws, rate, 0.016) << FaultName(fault);
  }
}

// "count": the faults hit the next N requests of the listed clients only, then clear.
TEST(FaultDrawTest, CountLimitsFaultsToTheNextRequests) {
  auto key = GenerateRsaKey(1024);
  ASSERT_TRUE(key.ok());
  auto emulator = ImsEmulator::New({}, *std::move(key), {});
  ASSERT_TRUE(emulator.ok());
  auto faults = ParseFaultSettings(R"({"rate_429":1,"count":2,"clients":["a"]})");
  ASSERT_TRUE(faults.ok()) << faults.status();
  (*emulator)->SetFaults(*faults);
  EXPECT_EQ((*emulator)->DrawFault("b"), Fault::kNone);
  EXPECT_EQ((*emulator)->DrawFault("a"), Fault::kTooManyRequests);
  EXPECT_EQ((*emulator)->faults().count, 1);
  EXPECT_EQ((*emulator)->DrawFault("a"), Fault::kTooManyRequests);
  EXPECT_EQ((*emulator)->DrawFault("a"), Fault::kNone);
  EXPECT_EQ((*emulator)->faults().rate_429, 0);
  EXPECT_FALSE(ParseFaultSettings(R"({"count":-1})").ok());
}

TEST_F(ImsEmulatorTest, FaultLatencyDelaysTokenResponses) {
  SetFaults({{"latency_ms", 150}});
  absl::Time start = absl::Now();
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  absl::Duration elapsed = absl::Now() - start;
  SetFaults(json::object());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(elapsed, absl::Milliseconds(150));
}

TEST_F(ImsEmulatorTest, FaultsEndpointRejectsUnknownSetting) {
  auto res = client_->Post("/emulator/faults", R"({"rate_42": 1})", "application/json");
  ExpectError(res, 400, "bad_request", "rate_42");
}

TEST_F(ImsEmulatorTest, ClientsEndpointRegistersClientAtRuntime) {
  json client = {{"client_id", "late-client"},
                 {"client_secrets", {"late-secret"}},
                 {"org_id", kOrg},
                 {"scopes", {"openid"}},
                 {"token_lifetime_seconds", 600}};
  auto put = client_->Post("/emulator/clients", client.dump(), "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  auto res = client_->Post("/ims/token/v3", httplib::Params{{"grant_type", "client_credentials"},
                                                            {"client_id", "late-client"},
                                                            {"client_secret", "late-secret"},
                                                            {"scope", "openid"}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(ParseBody(res)["expires_in"], 600);

  client["client_secrets"] = {"a", "b", "c"};
  ExpectError(client_->Post("/emulator/clients", client.dump(), "application/json"), 400,
              "bad_request", "client_secrets");
}

TEST_F(ImsEmulatorTest, ConsoleSecretsApiRotatesASecretOverHttps) {
  json client = {
      {"client_id", "console-client"},
      {"client_secrets", {"console-first"}},
      {"org_id", kOrg},
      {"scopes", {"openid", "adobeio_api", "read_client_secret", "manage_client_secrets"}},
      {"console_org_id", "25591412"},
      {"console_credential_id", "17606512"}};
  ASSERT_EQ(client_->Post("/emulator/clients", client.dump(), "application/json")->status, 200);
  auto mint = [this](const std::string& secret) {
    return client_->Post("/ims/token/v3", httplib::Params{{"grant_type", "client_credentials"},
                                                          {"client_id", "console-client"},
                                                          {"client_secret", secret}});
  };
  auto token = mint("console-first");
  ASSERT_TRUE(token);
  ASSERT_EQ(token->status, 200) << token->body;
  httplib::Headers headers = {
      {"Authorization", "Bearer " + ParseBody(token)["access_token"].get<std::string>()},
      {"x-api-key", "console-client"}};
  const std::string secrets = "/console/organizations/25591412/credentials/17606512/secrets";

  auto listed = client_->Get(secrets, headers);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  std::string old_uuid = ParseBody(listed)["client_secrets"][0]["uuid"];
  auto added = client_->Post(secrets, headers, "", "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;
  std::string fresh = ParseBody(added)["client_secret"];
  auto deleted = client_->Delete(secrets + "/" + old_uuid, headers);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204) << deleted->body;

  EXPECT_EQ(mint("console-first")->status, 401);
  EXPECT_EQ(mint(fresh)->status, 200);
  EXPECT_EQ(client_->Get(secrets, httplib::Headers{{"x-api-key", "console-client"}})->status, 401);
  EXPECT_EQ(client_->Get("/console/organizations/1/credentials/2/secrets", headers)->status, 404);
  std::string log = ReadFile(emulator_->log_path());
  EXPECT_THAT(log, HasSubstr("DELETE " + secrets + "/" + old_uuid + " 204"));
  EXPECT_THAT(log, Not(HasSubstr(fresh)));
}

// The hold of a test that kills the broker mid-rotation: an add held after
// Adobe created the secret is never answered, so its caller never learns the
// value; a token request held before its effect mints nothing.
TEST_F(ImsEmulatorTest, HoldLeavesTheChosenRequestUnansweredWithOrWithoutItsEffect) {
  signal(SIGPIPE, SIG_IGN);  // httplib writes to the dropped socket
  json client = {
      {"client_id", "hold-client"},
      {"client_secrets", {"hold-first"}},
      {"org_id", kOrg},
      {"scopes", {"openid", "adobeio_api", "read_client_secret", "manage_client_secrets"}},
      {"console_org_id", "25591412"},
      {"console_credential_id", "424242"}};
  ASSERT_EQ(client_->Post("/emulator/clients", client.dump(), "application/json")->status, 200);
  httplib::Params form = {{"grant_type", "client_credentials"},
                          {"client_id", "hold-client"},
                          {"client_secret", "hold-first"}};
  auto token = client_->Post("/ims/token/v3", form);
  ASSERT_EQ(token->status, 200) << token->body;
  httplib::Headers headers = {
      {"Authorization", "Bearer " + ParseBody(token)["access_token"].get<std::string>()},
      {"x-api-key", "hold-client"}};
  auto held_now = [this] { return ParseBody(client_->Get("/emulator/hold"))["held_now"]; };
  auto set_hold = [this](const json& hold) {
    return ParseBody(client_->Post("/emulator/hold", hold.dump(), "application/json"));
  };

  EXPECT_EQ(
      set_hold(
          {{"endpoint", "add"}, {"client", "hold-client"}, {"after", true}})["hold"]["endpoint"],
      "add");
  bool added = true;  // whether the add got any answer
  std::thread adder([&] {
    added = static_cast<bool>(
        emulator_->NewClient()->Post("/console/organizations/25591412/credentials/424242/secrets",
                                     headers, "", "application/json"));
  });
  ASSERT_TRUE(WaitUntil([&] { return held_now() == 1; }, absl::Seconds(10), "add held"));
  EXPECT_EQ(ParseBody(client_->Get("/emulator/stats"))["held_now"], 1);
  json secrets = ParseBody(client_->Get("/emulator/secrets?client_id=hold-client"))["secrets"];
  EXPECT_EQ(secrets.size(), 2u) << secrets;  // added before the hold
  EXPECT_TRUE(set_hold(json::object())["hold"].is_null());
  adder.join();
  EXPECT_FALSE(added) << "a held request is never answered";
  EXPECT_EQ(held_now(), 0);

  json stats_before = ParseBody(client_->Get("/emulator/stats"));
  set_hold({{"endpoint", "token"}, {"client", "hold-client"}});
  bool minted = true;
  std::thread minter(
      [&] { minted = static_cast<bool>(emulator_->NewClient()->Post("/ims/token/v3", form)); });
  ASSERT_TRUE(WaitUntil([&] { return held_now() == 1; }, absl::Seconds(10), "token held"));
  set_hold(json::object());
  minter.join();
  EXPECT_FALSE(minted);
  EXPECT_EQ(ParseBody(client_->Get("/emulator/stats"))["exchanges"]["hold-client"],
            stats_before["exchanges"]["hold-client"]);
  ExpectError(client_->Post("/emulator/hold", R"({"endpoint":"mint"})", "application/json"), 400,
              "bad_request", "endpoint");
}

TEST_F(ImsEmulatorTest, RequestLogNeverContainsSecretsOrTokens) {
  auto res = client_->Post("/ims/token/v3", S2sForm("first-secret"));
  ASSERT_TRUE(res);
  std::string token = ParseBody(res)["access_token"];
  std::string log = ReadFile(emulator_->log_path());
  EXPECT_THAT(log, HasSubstr("POST /ims/token/v3 200"));
  EXPECT_THAT(log, Not(HasSubstr("first-secret")));
  EXPECT_THAT(log, Not(HasSubstr(token.substr(0, 200))));
}

TEST_F(ImsEmulatorTest, SigtermExitsZero) {
  auto own = Emulator::Start();
  ASSERT_NE(own, nullptr);
  auto client = own->NewClient();
  ASSERT_TRUE(client->Get("/emulator/stats"));  // Leaves an idle keep-alive connection.
  absl::Time start = absl::Now();
  int status = own->process().Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(ImsEmulatorTest, ConcurrentClientsGetUniqueTokens) {
  ASSERT_TRUE(client_->Post("/emulator/reset", "", "application/json"));
  constexpr int kThreads = 4;
  constexpr int kRequests = 10;
  std::vector<std::vector<std::string>> tokens(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = emulator_->NewClient();  // One keep-alive connection per thread.
      for (int i = 0; i < kRequests; ++i) {
        auto res = client->Post("/ims/token/v3", S2sForm("first-secret"));
        if (res && res->status == 200) tokens[t].push_back(ParseBody(res)["access_token"]);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> unique;
  for (const auto& list : tokens) unique.insert(list.begin(), list.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kRequests));
  EXPECT_EQ(Stats()["exchanges"][kS2sClient], kThreads * kRequests);
}

// The core without HTTP: what --public-url and a certificate_file change.
TEST(ImsEmulatorCoreTest, ExchangeJwtChecksClaimsAgainstGivenBaseUrl) {
  auto signer = GenerateRsaKey(1024);  // Any RSA key: quick to generate.
  ASSERT_TRUE(signer.ok());
  auto cert = SelfSignedCertificate(signer->get(), "jwt-test", {}, absl::Hours(1));
  ASSERT_TRUE(cert.ok());
  TempDir dir;
  WriteFile(dir.File("cert.pem"), CertificateToPem(cert->get()));
  json client = JwtClient("");
  client.erase("certificate_pem");
  client["certificate_file"] = "cert.pem";  // Relative to the clients file.
  WriteFile(dir.File("clients.json"), json{{"clients", {client}}}.dump());
  auto clients = LoadClientsFile(dir.File("clients.json"));
  ASSERT_TRUE(clients.ok()) << clients.status();
  auto token_key = GenerateRsaKey(1024);
  ASSERT_TRUE(token_key.ok());
  auto core = ImsEmulator::New(EmulatorOptions(), *std::move(token_key), *std::move(clients));
  ASSERT_TRUE(core.ok()) << core.status();

  const std::string base = "https://ims-na1.adobelogin.com";
  absl::Time now = absl::Now();
  json claims = {{"exp", absl::ToUnixSeconds(now + absl::Minutes(5))},
                 {"iss", kOrg},
                 {"sub", kTechAccount},
                 {"aud", base + "/c/" + kJwtClient},
                 {base + "/s/" + kMetascope, true},
                 {"jti", "once"}};
  Form form = {{"client_id", kJwtClient},
               {"client_secret", "jwt-secret"},
               {"jwt_token", SignJwt(signer->get(), claims)}};
  Reply ok = (*core)->ExchangeJwt(form, base, now);
  EXPECT_EQ(ok.status, 200) << ok.body;
  Reply reused = (*core)->ExchangeJwt(form, base, now);
  EXPECT_EQ(reused.status, 400);
  EXPECT_THAT(reused.body, HasSubstr("invalid_jti"));
  // Later the same JWT is rejected for its exp, before its jti is looked at.
  Reply later = (*core)->ExchangeJwt(form, base, now + absl::Minutes(6));
  EXPECT_THAT(later.body, HasSubstr("expired"));

  claims.erase("jti");
  form["jwt_token"] = SignJwt(signer->get(), claims);
  Reply wrong_base = (*core)->ExchangeJwt(form, "https://127.0.0.1:1", now);
  EXPECT_EQ(wrong_base.status, 400);
  EXPECT_THAT(wrong_base.body, HasSubstr("aud must be https://127.0.0.1:1/c/jwt-client"));
}

TEST(ImsEmulatorPlainHttpTest, ServesPlainHttpAndChecksHttpAud) {
  JwtIdentity identity = JwtIdentity::Generate();
  auto emulator = Emulator::Start(identity.certificate_pem, {"--plain-http"});
  ASSERT_NE(emulator, nullptr);
  EXPECT_THAT(ReadFile(emulator->log_path()),
              HasSubstr(absl::StrCat("listening on http://127.0.0.1:", emulator->port())));
  auto client = emulator->NewClient();
  auto s2s = client->Post("/ims/token/v3", S2sForm("first-secret"));
  ASSERT_TRUE(s2s) << httplib::to_string(s2s.error());
  EXPECT_EQ(s2s->status, 200) << s2s->body;

  json claims = {{"exp", absl::ToUnixSeconds(absl::Now() + absl::Minutes(5))},
                 {"iss", kOrg},
                 {"sub", kTechAccount},
                 {"aud", absl::StrCat(emulator->base_url(), "/c/", kJwtClient)},
                 {absl::StrCat(emulator->base_url(), "/s/", kMetascope), true}};
  auto jwt = client->Post("/ims/exchange/jwt",
                          httplib::Params{{"client_id", kJwtClient},
                                          {"client_secret", "jwt-secret"},
                                          {"jwt_token", SignJwt(identity.key.get(), claims)}});
  ASSERT_TRUE(jwt);
  EXPECT_EQ(jwt->status, 200) << jwt->body;

  // Drops work without TLS too (the socket is found by its addresses).
  ASSERT_EQ(client->Post("/emulator/faults", R"({"drop_rate":1})", "application/json")->status,
            200);
  auto dropped = client->Post("/ims/token/v3", S2sForm("first-secret"));
  EXPECT_FALSE(dropped);
  EXPECT_THAT(ReadFile(emulator->log_path()), Not(HasSubstr("socket not found")));
}

TEST(ImsEmulatorFlagsTest, InvalidClientsFileExitsWithCode2) {
  TempDir dir;
  WriteFile(dir.File("clients.json"),
            R"({"clients":[{"client_id":"c","client_secrets":["a","b","c"]}]})");
  auto result = RunCommand({BinDir() + "/ims-emulator", "--clients=" + dir.File("clients.json"),
                            "--cert-out=" + dir.File("ca.pem")});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("client_secrets"));

  WriteFile(dir.File("clients.json"), "{not json");
  result = RunCommand({BinDir() + "/ims-emulator", "--clients=" + dir.File("clients.json"),
                       "--cert-out=" + dir.File("ca.pem")});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("not valid JSON"));
}

TEST(ImsEmulatorFlagsTest, GeneratedCertificateNeedsCertOut) {
  auto result = RunCommand({BinDir() + "/ims-emulator"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("--cert-out"));
}

TEST(ImsEmulatorFlagsTest, HelpDocumentsEveryFlag) {
  auto result = RunCommand({BinDir() + "/ims-emulator", "--help"});
  for (const char* flag : {"listen",
                           "port_file",
                           "tls_cert",
                           "tls_key",
                           "cert_out",
                           "plain_http",
                           "clients",
                           "token_lifetime",
                           "jwt_max_exp_ahead",
                           "public_url",
                           "fault_error_rate",
                           "fault_latency",
                           "fault_429_rate",
                           "retry_after_seconds",
                           "fault_5xx_rate",
                           "fault_drop_rate",
                           "fault_malformed_rate",
                           "fault_hang_rate",
                           "fault_hang",
                           "fault_reset_rate",
                           "fault_slow_rate",
                           "fault_slow",
                           "log_requests",
                           "hold_timeout",
                           "threads"}) {
    EXPECT_THAT(result.out + result.err, HasSubstr(absl::StrCat("--", flag, " ("))) << flag;
  }
}

}  // namespace
}  // namespace tokenbroker::emulator
