// tokenbroker behind a real Envoy: the ext_authz server (--ext-authz-listen)
// as Envoy's envoy.filters.http.ext_authz filter calls it, over mutual TLS.
//
// The deployment the test builds on loopback, every port chosen by the system:
//
//   curl (workload cert, spiffe://test.local/app)
//     --HTTPS, client cert required--> Envoy listener "workloads"
//        ext_authz --gRPC, mTLS (Envoy's cert, spiffe://test.local/envoy)--> tokenbroker
//        router    --HTTPS--> RecordingHttpsServer (the "Adobe API")
//
// The policy makes Envoy's identity a `proxy`, so the broker decides on the
// workload identity Envoy reports (attributes.source.principal, the URI SAN
// of the workload's certificate): spiffe://test.local/app reads integration
// `acme`, spiffe://test.local/other reads nothing here. The route names the
// integration in check_settings.context_extensions.
//
// Envoy is the pinned binary `make envoy` installs (tests/edge/install-envoy.sh);
// CTest passes its path in TOKENBROKER_ENVOY. A missing Envoy fails the test.
#include <httplib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/certs.h"
#include "tests/testing/recording_https_server.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using json = nlohmann::json;

constexpr char kSecret[] = "ENVOY-TEST-SECRET-7c1e";
constexpr char kClientId[] = "c1";
constexpr char kOrgId[] = "ORG1@AdobeOrg";  // OAuthIntegration's
constexpr char kIntegration[] = "acme";
constexpr char kColdIntegration[] = "cold";  // no token until a request needs one
constexpr char kEnvoyIdentity[] = "spiffe://test.local/envoy";
constexpr char kAppIdentity[] = "spiffe://test.local/app";
constexpr char kOtherIdentity[] = "spiffe://test.local/other";

// The Envoy binary CTest names, or "" with a failure that says how to get it.
std::string EnvoyBinary() {
  const char* path = std::getenv("TOKENBROKER_ENVOY");
  if (path == nullptr || *path == '\0') {
    ADD_FAILURE() << "TOKENBROKER_ENVOY is not set: run this test with ctest (make "
                     "test-integration), which sets it";
    return "";
  }
  if (access(path, X_OK) != 0) {
    ADD_FAILURE() << "no Envoy at " << path << " (TOKENBROKER_ENVOY): run `make envoy`";
    return "";
  }
  return path;
}

json TlsCertificate(const std::string& cert_file, const std::string& key_file) {
  return {{"certificate_chain", {{"filename", cert_file}}},
          {"private_key", {{"filename", key_file}}}};
}

json StaticCluster(const std::string& name, int port, json upstream_tls) {
  return {
      {"name", name},
      {"type", "STATIC"},
      {"connect_timeout", "2s"},
      {"load_assignment",
       {{"cluster_name", name},
        {"endpoints",
         {{{"lb_endpoints",
            {{{"endpoint",
               {{"address",
                 {{"socket_address", {{"address", "127.0.0.1"}, {"port_value", port}}}}}}}}}}}}}}},
      {"transport_socket",
       {{"name", "envoy.transport_sockets.tls"}, {"typed_config", std::move(upstream_tls)}}}};
}

// A real Envoy, started from a configuration file, on a dynamic base id so
// that parallel runs do not collide; stopped (SIGTERM) by the destructor.
class EnvoyProcess {
 public:
  // Starts Envoy with `config` and waits until it is live and its listener
  // `listener` is bound. Errors: what failed, with Envoy's log.
  static absl::StatusOr<std::unique_ptr<EnvoyProcess>> Start(const std::string& binary,
                                                             const json& config,
                                                             const std::string& listener) {
    std::unique_ptr<EnvoyProcess> envoy(new EnvoyProcess());
    WriteFile(envoy->dir_.File("envoy.json"), config.dump(2));
    auto process =
        Subprocess::Start({binary, "--config-path", envoy->dir_.File("envoy.json"),
                           "--admin-address-path", envoy->dir_.File("admin-address"),
                           "--use-dynamic-base-id", "--concurrency", "1", "--log-level", "info"},
                          envoy->dir_.File("envoy.log"));
    if (!process.ok()) return process.status();
    envoy->process_ = std::move(*process);
    auto fail = [&envoy](const std::string& what) {
      return absl::UnavailableError(absl::StrCat(what, "; Envoy's log:\n", envoy->log()));
    };
    if (!WaitUntil([&] { return envoy->AdminPort() > 0 || !envoy->process_->Running(); },
                   absl::Seconds(30), "Envoy's admin address file")) {
      return fail("no admin address");
    }
    if (!envoy->process_->Running()) return fail("Envoy exited");
    if (!WaitUntil([&] { return envoy->Admin("/ready") == "LIVE\n"; }, absl::Seconds(30),
                   "Envoy /ready to answer LIVE")) {
      return fail("Envoy not live");
    }
    json listeners = json::parse(envoy->Admin("/listeners?format=json"), nullptr, false);
    if (listeners.is_object()) {
      for (const json& status : listeners.value("listener_statuses", json::array())) {
        if (status.value("name", "") == listener) {
          envoy->listener_port_ = status["local_address"]["socket_address"]["port_value"];
        }
      }
    }
    if (envoy->listener_port_ <= 0) return fail("no port for listener " + listener);
    return envoy;
  }

  int listener_port() const { return listener_port_; }
  std::string log() const { return ReadFile(dir_.File("envoy.log")); }

  // Counter `name` from the admin /stats (e.g. http.workloads.ext_authz.denied);
  // -1 when Envoy does not report it.
  int64_t Counter(const std::string& name) const {
    std::string line = Admin("/stats?usedonly&filter=^" + name + "$");  // "name: 3\n"
    size_t colon = line.find(": ");
    int64_t value = -1;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(colon + 2)), &value)) {
      return -1;
    }
    return value;
  }

 private:
  EnvoyProcess() = default;

  int AdminPort() const {
    std::string address = ReadFile(dir_.File("admin-address"));  // "127.0.0.1:PORT"
    size_t colon = address.rfind(':');
    return colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
  }

  // GET `path` on the admin port; "" when it does not answer 200.
  std::string Admin(const std::string& path) const {
    httplib::Client admin("127.0.0.1", AdminPort());
    admin.set_connection_timeout(2);
    auto res = admin.Get(path);
    return res && res->status == 200 ? res->body : "";
  }

  TempDir dir_;
  std::unique_ptr<Subprocess> process_;
  int listener_port_ = 0;
};

// A workload's HTTPS request through Envoy, made by the curl binary.
struct CurlResult {
  int http_status = 0;  // 0: no HTTP answer
  std::string headers;  // the response's status line and headers, as received
  std::string body;
  std::string error;  // curl's stderr
};

class EnvoyExtAuthzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    envoy_binary_ = EnvoyBinary();
    ASSERT_FALSE(envoy_binary_.empty());

    auto ims = ImsEmulatorProcess::Start({json{{"client_id", kClientId},
                                               {"client_secrets", {kSecret}},
                                               {"org_id", kOrgId},
                                               {"scopes", {"openid", "AdobeID"}}}});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);

    WriteFile(dir_.File("ca.pem"), ca_.certificate());
    // Servers: the broker, Envoy's workload listener and the API stub.
    for (const char* server : {"broker", "envoy-listener", "api"}) {
      WritePair(server, ca_.Issue({.common_name = server,
                                   .dns_names = {"localhost"},
                                   .ip_addresses = {"127.0.0.1"}}));
    }
    // Clients: Envoy towards the broker, the admin, and two workloads.
    WritePair("envoy", ca_.Issue({.common_name = "envoy", .uris = {kEnvoyIdentity}}));
    WritePair("admin", ca_.Issue({.common_name = "admin", .dns_names = {"admin.test.local"}}));
    WritePair("app", ca_.Issue({.common_name = "app", .uris = {kAppIdentity}}));
    WritePair("other", ca_.Issue({.common_name = "other", .uris = {kOtherIdentity}}));

    json policy = {
        {"version", 1},
        {"bindings",
         {{{"identity", kEnvoyIdentity}, {"role", "proxy"}},
          {{"identity", kAppIdentity},
           {"role", "reader"},
           {"integrations", {kIntegration, kColdIntegration}}},
          {{"identity", kOtherIdentity}, {"role", "reader"}, {"integrations", {"other-*"}}},
          {{"identity", "admin.test.local"}, {"role", "admin"}}}}};
    WriteFile(dir_.File("policy.json"), policy.dump(2));

    auto broker = BrokerProcess::Start(
        {"--tls-cert=" + dir_.File("broker.pem"), "--tls-key=" + dir_.File("broker.key"),
         "--client-ca-file=" + dir_.File("ca.pem"), "--policy-file=" + dir_.File("policy.json"),
         "--ext-authz-listen=127.0.0.1:0", "--ims-url=" + ims_->url(),
         "--ims-ca-file=" + ims_->ca_file()});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    ASSERT_GT(broker_->ext_authz_port(), 0) << broker_->log();

    auto admin = v1::IntegrationService::NewStub(ChannelAs("admin"));
    for (const char* id : {kIntegration, kColdIntegration}) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::CreateIntegrationRequest create = OAuthIntegration(id, kClientId, kSecret, "");
      create.mutable_integration()->set_include_org_header(true);
      v1::CreateIntegrationResponse created;
      grpc::Status status = admin->CreateIntegration(&ctx, create, &created);
      ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << broker_->log();
    }

    auto stub = RecordingHttpsServer::Start(dir_.File("api.pem"), dir_.File("api.key"));
    ASSERT_TRUE(stub.ok()) << stub.status();
    api_ = std::move(*stub);

    auto envoy = EnvoyProcess::Start(envoy_binary_, EnvoyConfig(), "workloads");
    ASSERT_TRUE(envoy.ok()) << envoy.status();
    envoy_ = std::move(*envoy);
  }

  void TearDown() override {
    if (HasFailure() && broker_ != nullptr) std::cerr << "broker log:\n" << broker_->log();
    if (HasFailure() && envoy_ != nullptr) std::cerr << "Envoy log:\n" << envoy_->log();
  }

  void WritePair(const std::string& name, const PemPair& pair) {
    WriteFile(dir_.File(name + ".pem"), pair.certificate);
    WriteFile(dir_.File(name + ".key"), pair.private_key);
  }

  // Envoy: one HTTPS listener for workloads (client certificates required,
  // so that source.principal is the workload's URI SAN), ext_authz to the
  // broker's ext_authz port over mTLS with failure_mode_allow off, and a route
  // to the API stub naming integration `acme` in its context extensions.
  json EnvoyConfig() {
    std::string ca = dir_.File("ca.pem");
    json downstream_tls = {
        {"@type",
         "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"},
        {"require_client_certificate", true},
        {"common_tls_context",
         {{"tls_certificates",
           {TlsCertificate(dir_.File("envoy-listener.pem"), dir_.File("envoy-listener.key"))}},
          {"validation_context", {{"trusted_ca", {{"filename", ca}}}}}}}};
    // The route for `prefix` names `integration`.
    auto route = [](const std::string& prefix, const std::string& integration) {
      return json{
          {"match", {{"prefix", prefix}}},
          {"route", {{"cluster", "adobe_api"}}},
          {"typed_per_filter_config",
           {{"envoy.filters.http.ext_authz",
             {{"@type",
               "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute"},
              {"check_settings",
               {{"context_extensions", {{"tokenbroker.integration", integration}}}}}}}}}};
    };
    json ext_authz = {
        {"@type", "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"},
        {"transport_api_version", "V3"},
        {"failure_mode_allow", false},
        {"status_on_error", {{"code", "ServiceUnavailable"}}},
        {"grpc_service",
         {{"envoy_grpc", {{"cluster_name", "tokenbroker_ext_authz"}}}, {"timeout", "5s"}}}};
    json connection_manager = {
        {"@type",
         "type.googleapis.com/"
         "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"},
        {"stat_prefix", "workloads"},
        {"route_config",
         {{"name", "api"},
          {"virtual_hosts",
           {{{"name", "api"},
             {"domains", {"*"}},
             {"routes", {route("/cold/", kColdIntegration), route("/", kIntegration)}}}}}}},
        {"http_filters",
         {{{"name", "envoy.filters.http.ext_authz"}, {"typed_config", ext_authz}},
          {{"name", "envoy.filters.http.router"},
           {"typed_config",
            {{"@type", "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}}}}}};
    json listener = {
        {"name", "workloads"},
        {"address", {{"socket_address", {{"address", "127.0.0.1"}, {"port_value", 0}}}}},
        {"filter_chains",
         {{{"transport_socket",
            {{"name", "envoy.transport_sockets.tls"}, {"typed_config", downstream_tls}}},
           {"filters",
            {{{"name", "envoy.filters.network.http_connection_manager"},
              {"typed_config", connection_manager}}}}}}}};

    auto upstream_tls = [&ca](json tls_certificates, json alpn) {
      return json{
          {"@type",
           "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"},
          {"sni", "localhost"},
          {"common_tls_context",
           {{"tls_certificates", std::move(tls_certificates)},
            {"alpn_protocols", std::move(alpn)},
            {"validation_context",
             {{"trusted_ca", {{"filename", ca}}},
              {"match_typed_subject_alt_names",
               {{{"san_type", "DNS"}, {"matcher", {{"exact", "localhost"}}}}}}}}}}};
    };
    json broker_cluster = StaticCluster(
        "tokenbroker_ext_authz", broker_->ext_authz_port(),
        upstream_tls({TlsCertificate(dir_.File("envoy.pem"), dir_.File("envoy.key"))}, {"h2"}));
    broker_cluster["typed_extension_protocol_options"] = {
        {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
         {{"@type", "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"},
          {"explicit_http_config", {{"http2_protocol_options", json::object()}}}}}};
    json api_cluster =
        StaticCluster("adobe_api", api_->port(), upstream_tls(json::array(), {"http/1.1"}));
    return {{"admin",
             {{"address", {{"socket_address", {{"address", "127.0.0.1"}, {"port_value", 0}}}}}}},
            {"static_resources",
             {{"listeners", {listener}}, {"clusters", {broker_cluster, api_cluster}}}}};
  }

  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& name) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_.certificate();
    ssl.pem_cert_chain = ReadFile(dir_.File(name + ".pem"));
    ssl.pem_private_key = ReadFile(dir_.File(name + ".key"));
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(broker_->address(), grpc::SslCredentials(ssl), args);
  }

  // The broker's current token for `acme`, asked over gRPC as the workload.
  std::string CurrentToken() {
    auto tokens = v1::TokenService::NewStub(ChannelAs("app"));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetAccessTokenRequest request;
    request.set_name(absl::StrCat("integrations/", kIntegration));
    v1::GetAccessTokenResponse response;
    grpc::Status status = tokens->GetAccessToken(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.token().access_token();
  }

  // GET `path` through Envoy as workload `who` ("app" or "other"), with the
  // placeholder Authorization header the app sends.
  CurlResult Get(const std::string& who, const std::string& path) {
    std::string body_file = dir_.File("curl-body");
    std::string headers_file = dir_.File("curl-headers");
    std::remove(body_file.c_str());
    std::remove(headers_file.c_str());
    CommandResult run =
        RunCommand({"/usr/bin/curl",
                    "--silent",
                    "--show-error",
                    "--max-time",
                    "20",
                    "--cacert",
                    dir_.File("ca.pem"),
                    "--cert",
                    dir_.File(who + ".pem"),
                    "--key",
                    dir_.File(who + ".key"),
                    "--header",
                    "Authorization: Bearer placeholder",
                    "--dump-header",
                    headers_file,
                    "--output",
                    body_file,
                    "--write-out",
                    "%{http_code}",
                    absl::StrCat("https://127.0.0.1:", envoy_->listener_port(), path)});
    return {std::atoi(run.out.c_str()), ReadFile(headers_file), ReadFile(body_file), run.err};
  }

  std::string envoy_binary_;
  TempDir dir_;
  TestCa ca_{"envoy test CA"};
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<RecordingHttpsServer> api_;
  std::unique_ptr<EnvoyProcess> envoy_;  // stopped first
};

TEST_F(EnvoyExtAuthzTest, AllowedWorkloadReachesApiWithBrokerTokenInsteadOfPlaceholder) {
  CurlResult result = Get("app", "/v1/things?page=1");
  ASSERT_EQ(result.http_status, 200) << result.error << result.body;
  EXPECT_EQ(envoy_->Counter("http.workloads.ext_authz.ok"), 1);

  std::vector<RecordedRequest> seen = api_->Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/things?page=1");
  std::string token = CurrentToken();
  ASSERT_FALSE(token.empty());
  // One Authorization header, the broker's: the app's placeholder is overwritten, not kept.
  EXPECT_THAT(seen[0].Values("authorization"), ElementsAre("Bearer " + token));
  EXPECT_THAT(seen[0].Values("x-api-key"), ElementsAre(kClientId));
  EXPECT_THAT(seen[0].Values("x-gw-ims-org-id"), ElementsAre(kOrgId));
}

TEST_F(EnvoyExtAuthzTest, WorkloadWithoutReaderRoleGets403AndApiReceivesNothing) {
  CurlResult result = Get("other", "/v1/things");
  EXPECT_EQ(result.http_status, 403) << result.error << result.body;
  EXPECT_TRUE(json::parse(result.body, nullptr, false).is_object()) << result.body;
  EXPECT_THAT(api_->Requests(), IsEmpty());
  // The broker answered and said no (not an ext_authz error Envoy turned into a denial).
  EXPECT_EQ(envoy_->Counter("http.workloads.ext_authz.denied"), 1);
  EXPECT_EQ(envoy_->Counter("http.workloads.ext_authz.error"), -1);
}

TEST_F(EnvoyExtAuthzTest, BrokerStoppedFailsClosed) {
  broker_->process()->Stop();
  CurlResult result = Get("app", "/v1/things");
  EXPECT_NE(result.http_status, 200) << result.body;
  EXPECT_EQ(result.http_status, 503) << result.error << result.body;  // status_on_error
  EXPECT_THAT(api_->Requests(), IsEmpty());
  EXPECT_EQ(envoy_->Counter("http.workloads.ext_authz.error"), 1);
}

TEST_F(EnvoyExtAuthzTest, ImsDownWithNoTokenGives503WithRetryAfterAndApiReceivesNothing) {
  ims_->SetFaults({{"down", true}});
  CurlResult result = Get("app", "/cold/v1/things");
  EXPECT_EQ(result.http_status, 503) << result.error << result.body;
  EXPECT_THAT(absl::AsciiStrToLower(result.headers), HasSubstr("\nretry-after: "))
      << result.headers;
  EXPECT_THAT(api_->Requests(), IsEmpty());
  // The broker's answer, not Envoy's status_on_error: the check did not fail.
  EXPECT_EQ(envoy_->Counter("http.workloads.ext_authz.denied"), 1);
}

TEST_F(EnvoyExtAuthzTest, ForcedRefreshReachesTheNextRequest) {
  ASSERT_EQ(Get("app", "/first").http_status, 200);
  std::string before = CurrentToken();

  auto tokens = v1::TokenService::NewStub(ChannelAs("app"));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::RefreshAccessTokenRequest request;
  request.set_name(absl::StrCat("integrations/", kIntegration));
  v1::RefreshAccessTokenResponse refreshed;
  grpc::Status status = tokens->RefreshAccessToken(&ctx, request, &refreshed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::string after = refreshed.token().access_token();
  ASSERT_NE(after, before);

  ASSERT_EQ(Get("app", "/second").http_status, 200);
  std::vector<RecordedRequest> seen = api_->Requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_THAT(seen[0].Values("authorization"), ElementsAre("Bearer " + before));
  EXPECT_THAT(seen[1].Values("authorization"), ElementsAre("Bearer " + after));
}

}  // namespace
}  // namespace tokenbroker::testing
