// End-to-end tests of the tokenctl CLI: the real `tokenctl` binary against a
// real `tokenbroker` server (in-memory store) that gets its tokens over TLS
// from the real `ims-emulator`, all on free loopback ports.
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/secret.h"
#include "server/console/console_secrets.h"
#include "tests/testing/subprocess.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

namespace tokenbroker::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

// The client secret. It must never appear in any output or log.
constexpr char kSecret[] = "tokenctl-test-SECRET-MARKER-6c1f0e";
constexpr char kClientId[] = "tokenctl-test-client";
constexpr char kOrgId[] = "0123456789ABCDEF01234567@AdobeOrg";

bool Exists(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// One ims-emulator and one tokenbroker for the whole suite; each test uses its
// own integration ids.
class TokenctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    setup_error_ = new std::string(StartProcesses());
  }

  static void TearDownTestSuite() {
    server_.reset();
    emulator_.reset();
    delete setup_error_;
    delete dir_;
  }

  // Every test starts from the emulator's client as the file registers it:
  // a rotation test replaces its secret at the Console.
  // Every test starts with no injected IMS fault.
  void SetUp() override {
    ASSERT_THAT(*setup_error_, IsEmpty());
    ASSERT_THAT(EmulatorPost("/emulator/clients", EmulatorClient()), IsEmpty());
    ASSERT_THAT(EmulatorPost("/emulator/faults", nlohmann::json::object()), IsEmpty());
  }

  // POSTs `body` to the emulator's admin API; "" or what went wrong.
  static std::string EmulatorPost(const std::string& path, const nlohmann::json& body) {
    httplib::SSLClient client("127.0.0.1", emulator_port_);
    client.set_ca_cert_path(dir_->File("emulator.pem"));
    client.enable_server_certificate_verification(true);
    httplib::Result res = client.Post(path, body.dump(), "application/json");
    if (!res) return absl::StrCat("POST ", path, " failed");
    return res->status == 200 ? "" : absl::StrCat("POST ", path, ": ", res->status, " ", res->body);
  }

  static nlohmann::json EmulatorClient() {
    return {{"client_id", kClientId},
            {"client_secrets", {kSecret}},
            {"org_id", kOrgId},
            {"console_org_id", "25591412"},
            {"console_credential_id", "1"},
            {"scopes", absl::StrSplit(kConsoleSecretsScopes, ',')}};
  }

  // Starts the emulator and the server; returns "" or what went wrong.
  static std::string StartProcesses() {
    for (const char* binary : {"ims-emulator", "tokenbroker", "tokenctl"}) {
      std::string path = absl::StrCat(BinDir(), "/", binary);
      if (!Exists(path)) return absl::StrCat("missing ", path, ": build target ", binary);
    }
    nlohmann::json clients = {{"clients", {EmulatorClient()}}};
    WriteFile(dir_->File("clients.json"), clients.dump());

    // The server and the emulator parse their flags with absl, whose names
    // use underscores.
    auto emulator = Subprocess::Start(
        {absl::StrCat(BinDir(), "/ims-emulator"), "--listen=127.0.0.1:0",
         "--port_file=" + dir_->File("emulator.port"), "--cert_out=" + dir_->File("emulator.pem"),
         "--clients=" + dir_->File("clients.json")},
        dir_->File("emulator.log"));
    if (!emulator.ok()) return std::string(emulator.status().message());
    emulator_ = *std::move(emulator);
    absl::StatusOr<int> emulator_port =
        WaitForPortFile(dir_->File("emulator.port"), absl::Seconds(20), emulator_.get());
    if (!emulator_port.ok()) {
      return absl::StrCat("ims-emulator: ", emulator_port.status().message(), "\n",
                          ReadFile(dir_->File("emulator.log")));
    }
    emulator_port_ = *emulator_port;

    auto server =
        Subprocess::Start({absl::StrCat(BinDir(), "/tokenbroker"), "--listen=127.0.0.1:0",
                           "--port_file=" + dir_->File("server.port"), "--store=memory",
                           absl::StrCat("--ims_url=https://127.0.0.1:", emulator_port_),
                           absl::StrCat("--console_api_url=https://127.0.0.1:", emulator_port_),
                           "--ims_ca_file=" + dir_->File("emulator.pem")},
                          dir_->File("server.log"));
    if (!server.ok()) return std::string(server.status().message());
    server_ = *std::move(server);
    absl::StatusOr<int> server_port =
        WaitForPortFile(dir_->File("server.port"), absl::Seconds(20), server_.get());
    if (!server_port.ok()) {
      return absl::StrCat("tokenbroker: ", server_port.status().message(), "\n",
                          ReadFile(dir_->File("server.log")));
    }
    server_address_ = absl::StrCat("127.0.0.1:", *server_port);
    return "";
  }

  static std::vector<std::string> TokenctlArgv(const std::vector<std::string>& args) {
    // The server serves plaintext on loopback: tokenctl must be told.
    std::vector<std::string> argv = {absl::StrCat(BinDir(), "/tokenctl"),
                                     "--server=" + server_address_, "--plaintext"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Runs tokenctl against the server and checks that no output and no log
  // holds the secret.
  static CommandResult Tokenctl(const std::vector<std::string>& args,
                                const std::string& stdin_data = "") {
    CommandResult result = RunCommand(TokenctlArgv(args), stdin_data);
    std::string command = absl::StrJoin(args, " ");
    EXPECT_THAT(result.out, Not(HasSubstr(kSecret))) << command;
    EXPECT_THAT(result.err, Not(HasSubstr(kSecret))) << command;
    EXPECT_THAT(ReadFile(dir_->File("server.log")), Not(HasSubstr(kSecret))) << command;
    EXPECT_THAT(ReadFile(dir_->File("emulator.log")), Not(HasSubstr(kSecret))) << command;
    return result;
  }

  // Writes the secret file (with the trailing newline editors add).
  static std::string SecretFile() {
    std::string path = dir_->File("secret.txt");
    WriteFile(path, absl::StrCat(kSecret, "\n"));
    return path;
  }

  // `integrations create ID` for the emulator's client, secret from a file.
  static CommandResult CreateIntegration(const std::string& id,
                                         const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"integrations",
                                     "create",
                                     id,
                                     "--auth=oauth-s2s",
                                     absl::StrCat("--client-id=", kClientId),
                                     "--client-secret-file=" + SecretFile(),
                                     absl::StrCat("--org-id=", kOrgId),
                                     "--scopes=openid,AdobeID"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Tokenctl(args);
  }

  // The emulator's token exchanges so far (GET /emulator/stats).
  static int ImsExchanges() {
    httplib::SSLClient client("127.0.0.1", emulator_port_);
    client.set_ca_cert_path(dir_->File("emulator.pem"));
    client.enable_server_certificate_verification(true);
    httplib::Result response = client.Get("/emulator/stats");
    if (!response || response->status != 200) return -1;
    nlohmann::json stats = nlohmann::json::parse(response->body, nullptr, false);
    if (!stats.is_object() || !stats.contains("total_exchanges")) return -1;
    return stats["total_exchanges"].get<int>();
  }

  static TempDir* dir_;
  static std::string* setup_error_;
  static std::unique_ptr<Subprocess> emulator_;
  static std::unique_ptr<Subprocess> server_;
  static int emulator_port_;
  static std::string server_address_;
};

TempDir* TokenctlTest::dir_ = nullptr;
std::string* TokenctlTest::setup_error_ = nullptr;
std::unique_ptr<Subprocess> TokenctlTest::emulator_;
std::unique_ptr<Subprocess> TokenctlTest::server_;
int TokenctlTest::emulator_port_ = 0;
std::string TokenctlTest::server_address_;

TEST_F(TokenctlTest, CreateFromSecretFileSucceedsAndGetShowsFingerprintOnly) {
  CommandResult create = CreateIntegration("from-file", {"--display-name=From a file"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  EXPECT_THAT(create.out, HasSubstr("integrations/from-file"));

  CommandResult get = Tokenctl({"integrations", "get", "from-file"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_THAT(get.out, ContainsRegex("name: +integrations/from-file"));
  EXPECT_THAT(get.out, ContainsRegex("display_name: +From a file"));
  EXPECT_THAT(get.out, ContainsRegex("auth: +oauth-s2s"));
  EXPECT_THAT(get.out, ContainsRegex(absl::StrCat("client_id: +", kClientId)));
  EXPECT_THAT(get.out, ContainsRegex("state: +active"));
  // The trailing newline of the file is not part of the secret.
  EXPECT_THAT(get.out, ContainsRegex(absl::StrCat("client_secrets: +", Fingerprint(kSecret),
                                                  " stored [0-9-]+T[0-9:]+Z \\([0-9]+s ago\\)\n")));
  EXPECT_THAT(get.out, ContainsRegex("update_time: +[0-9-]+T[0-9:.]+Z"));
}

TEST_F(TokenctlTest, CreateFromStdinSucceeds) {
  CommandResult create =
      Tokenctl({"integrations", "create", "from-stdin", "--auth=oauth-s2s",
                absl::StrCat("--client-id=", kClientId), "--client-secret-file=-",
                absl::StrCat("--org-id=", kOrgId), "--scopes=openid,AdobeID", "--json"},
               absl::StrCat(kSecret, "\n"));
  ASSERT_EQ(create.exit_code, 0) << create.err;
  nlohmann::json json = nlohmann::json::parse(create.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << create.out;
  EXPECT_EQ(json["name"], "integrations/from-stdin");
  EXPECT_EQ(json["client_secret_fingerprints"], nlohmann::json::array({Fingerprint(kSecret)}));

  // The secret arrived intact: IMS accepts it.
  CommandResult token = Tokenctl({"token", "get", "from-stdin"});
  EXPECT_EQ(token.exit_code, 0) << token.err;
}

TEST_F(TokenctlTest, ListFollowsPagesAndPrintsTableAndJson) {
  ASSERT_EQ(CreateIntegration("list-a").exit_code, 0);
  ASSERT_EQ(CreateIntegration("list-b").exit_code, 0);

  CommandResult table = Tokenctl({"integrations", "list", "--page-size=1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::vector<std::string> lines = absl::StrSplit(table.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u) << table.out;
  EXPECT_THAT(lines[0], MatchesRegex("ID +AUTH +CLIENT ID +ORG +STATE +UPDATED"));
  EXPECT_THAT(table.out, ContainsRegex(absl::StrCat("\nlist-a +oauth-s2s +", kClientId, " +",
                                                    kOrgId, " +active +[0-9-]+T[0-9:.]+Z\n")));
  EXPECT_THAT(table.out, ContainsRegex("\nlist-b +oauth-s2s "));

  CommandResult json_out = Tokenctl({"--json", "integrations", "list", "--page-size=1"});
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  nlohmann::json json = nlohmann::json::parse(json_out.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << json_out.out;
  std::vector<std::string> ids;
  for (const auto& integration : json["integrations"])
    ids.push_back(integration["id"].get<std::string>());
  EXPECT_THAT(ids, ::testing::IsSupersetOf({"list-a", "list-b"}));
}

TEST_F(TokenctlTest, NonUtf8IdIsAUsageErrorAndNothingIsSent) {
  // Before: the request reached a server that cannot parse it (UNIMPLEMENTED,
  // empty message) and libprotobuf printed an error line.
  CommandResult token = Tokenctl({"token", "get", "\xff\xfe"});
  EXPECT_EQ(token.exit_code, 2) << token.err;
  EXPECT_THAT(token.err, HasSubstr("invalid ID '\\xff\\xfe'"));
  EXPECT_THAT(token.err, Not(HasSubstr("libprotobuf")));
  EXPECT_THAT(token.err, Not(HasSubstr("UNIMPLEMENTED")));
}

TEST_F(TokenctlTest, TokenGetPrintsOnlyTheToken) {
  ASSERT_EQ(CreateIntegration("token-get").exit_code, 0);
  int exchanges_before = ImsExchanges();

  CommandResult token = Tokenctl({"token", "get", "token-get", "--min-validity=5m"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  EXPECT_THAT(token.out, MatchesRegex("[^ \n]+\n"));
  std::string access_token = token.out.substr(0, token.out.size() - 1);
  EXPECT_GT(ImsExchanges(), exchanges_before);

  // The second call is served from the broker's cache: the same token.
  CommandResult json_out = Tokenctl({"token", "get", "token-get", "--json"});
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  nlohmann::json json = nlohmann::json::parse(json_out.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << json_out.out;
  EXPECT_EQ(json["access_token"], access_token);
  EXPECT_THAT(json["expire_time"].get<std::string>(), MatchesRegex("[0-9-]+T[0-9:.]+Z"));
}

// tokenctl's deadline is the SDKs' 10 s (client/BEHAVIOUR.md); a slower IMS ends the call with
// DEADLINE_EXCEEDED and a line saying what to do.
TEST_F(TokenctlTest, SlowImsEndsInDeadlineExceededWithAHint) {
  ASSERT_EQ(CreateIntegration("slow-ims").exit_code, 0);
  ASSERT_THAT(EmulatorPost("/emulator/faults", {{"latency_ms", 3000}}), IsEmpty());

  CommandResult token = Tokenctl({"token", "get", "slow-ims", "--timeout=300ms"});

  EXPECT_EQ(token.exit_code, 1) << token.err;
  EXPECT_THAT(token.out, IsEmpty());
  EXPECT_THAT(token.err, StartsWith("tokenctl: DEADLINE_EXCEEDED"));
  EXPECT_THAT(token.err, HasSubstr("no answer within --timeout=300ms"));
}

TEST_F(TokenctlTest, TokenHeadersHaveAuthorizationAndApiKey) {
  ASSERT_EQ(CreateIntegration("headers").exit_code, 0);
  CommandResult token = Tokenctl({"token", "get", "headers"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::string access_token = token.out.substr(0, token.out.size() - 1);

  CommandResult headers = Tokenctl({"token", "headers", "headers"});
  ASSERT_EQ(headers.exit_code, 0) << headers.err;
  EXPECT_THAT(headers.out, HasSubstr(absl::StrCat("Authorization: Bearer ", access_token, "\n")));
  EXPECT_THAT(headers.out, HasSubstr(absl::StrCat("x-api-key: ", kClientId, "\n")));

  CommandResult json_out = Tokenctl({"token", "headers", "headers", "--json"});
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  nlohmann::json json = nlohmann::json::parse(json_out.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << json_out.out;
  EXPECT_EQ(json["Authorization"], absl::StrCat("Bearer ", access_token));
  EXPECT_EQ(json["x-api-key"], kClientId);
}

TEST_F(TokenctlTest, RefreshAndWatchShowFingerprintNotToken) {
  ASSERT_EQ(CreateIntegration("watched").exit_code, 0);
  CommandResult refresh = Tokenctl({"token", "refresh", "watched"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  EXPECT_THAT(refresh.out, ContainsRegex("expire_time=[0-9-]+T[0-9:.]+Z fingerprint=sha256:"));
  CommandResult token = Tokenctl({"token", "get", "watched"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::string access_token = token.out.substr(0, token.out.size() - 1);
  EXPECT_THAT(refresh.out, Not(HasSubstr(access_token)));

  std::string log = dir_->File("watch.log");
  auto watch = Subprocess::Start(TokenctlArgv({"token", "watch", "watched"}), log);
  ASSERT_TRUE(watch.ok()) << watch.status();
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!absl::StrContains(ReadFile(log), "fingerprint=") && absl::Now() < deadline &&
         (*watch)->Running()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  // Ctrl-C ends the watch cleanly.
  int status = (*watch)->Stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ReadFile(log);
  std::string watched = ReadFile(log);
  EXPECT_THAT(watched, ContainsRegex(absl::StrCat("[0-9-]+T[0-9:]+Z expire_time=[0-9-]+T[0-9:.]+Z "
                                                  "fingerprint=",
                                                  Fingerprint(access_token), "\n")));
  EXPECT_THAT(watched, Not(HasSubstr(access_token)));
}

TEST_F(TokenctlTest, UpdateChangesOnlyTheGivenField) {
  ASSERT_EQ(CreateIntegration("updated", {"--display-name=Before", "--sandbox=prod"}).exit_code, 0);
  CommandResult update = Tokenctl({"integrations", "update", "updated", "--display-name=After"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_THAT(update.out, ContainsRegex("display_name: +After"));

  CommandResult get = Tokenctl({"integrations", "get", "updated", "--json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  nlohmann::json json = nlohmann::json::parse(get.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << get.out;
  EXPECT_EQ(json["display_name"], "After");
  EXPECT_EQ(json["sandbox"], "prod");
  EXPECT_EQ(json["scopes"], nlohmann::json::array({"openid", "AdobeID"}));

  CommandResult nothing = Tokenctl({"integrations", "update", "updated"});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_THAT(nothing.err, HasSubstr("nothing to update"));
}

TEST_F(TokenctlTest, DeleteThenGetIsNotFound) {
  ASSERT_EQ(CreateIntegration("deleted").exit_code, 0);
  CommandResult del = Tokenctl({"integrations", "delete", "deleted"});
  ASSERT_EQ(del.exit_code, 0) << del.err;

  CommandResult get = Tokenctl({"integrations", "get", "deleted"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_THAT(get.out, IsEmpty());
  EXPECT_THAT(get.err, StartsWith("tokenctl: NOT_FOUND: "));
  EXPECT_THAT(get.err, HasSubstr("deleted"));

  CommandResult token = Tokenctl({"token", "get", "deleted"});
  EXPECT_EQ(token.exit_code, 1);
  EXPECT_THAT(token.err, StartsWith("tokenctl: NOT_FOUND: "));
}

TEST_F(TokenctlTest, AlreadyExistsIsAnRpcError) {
  ASSERT_EQ(CreateIntegration("twice").exit_code, 0);
  CommandResult again = CreateIntegration("twice");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, StartsWith("tokenctl: ALREADY_EXISTS: "));
}

TEST_F(TokenctlTest, UsageErrorsExitWithTwoAndNameTheProblem) {
  CommandResult unknown = Tokenctl({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'frobnicate'"));

  CommandResult missing_flag = Tokenctl({"integrations", "create", "x", "--auth=oauth-s2s",
                                         "--client-secret-file=" + SecretFile(),
                                         absl::StrCat("--org-id=", kOrgId), "--scopes=openid"});
  EXPECT_EQ(missing_flag.exit_code, 2);
  EXPECT_THAT(missing_flag.err, HasSubstr("missing required flag --client-id"));

  CommandResult missing_id = Tokenctl({"token", "get"});
  EXPECT_EQ(missing_id.exit_code, 2);
  EXPECT_THAT(missing_id.err, HasSubstr("missing ID"));

  // There is no way to pass a secret on the command line.
  CommandResult secret_flag =
      Tokenctl({"integrations", "create", "x", "--auth=oauth-s2s",
                absl::StrCat("--client-id=", kClientId), "--client-secret=not-the-marker"});
  EXPECT_EQ(secret_flag.exit_code, 2);
  EXPECT_THAT(secret_flag.err, HasSubstr("--client-secret-file"));

  CommandResult wrong_flag = Tokenctl({"token", "get", "x", "--scopes=openid"});
  EXPECT_EQ(wrong_flag.exit_code, 2);
  EXPECT_THAT(wrong_flag.err, HasSubstr("--scopes"));

  CommandResult unreadable = Tokenctl({"integrations", "create", "x", "--auth=oauth-s2s",
                                       absl::StrCat("--client-id=", kClientId),
                                       "--client-secret-file=" + dir_->File("no-such-file"),
                                       absl::StrCat("--org-id=", kOrgId), "--scopes=openid"});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_THAT(unreadable.err, HasSubstr("no-such-file"));

  CommandResult help = Tokenctl({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("integrations create ID --auth=oauth-s2s"));
  EXPECT_THAT(help.out, HasSubstr("token watch ID"));
  EXPECT_THAT(help.out, HasSubstr("health [--service=NAME]"));
}

TEST_F(TokenctlTest, HealthIsServingAndExitsZero) {
  CommandResult health = Tokenctl({"health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");

  CommandResult json_out = Tokenctl({"health", "--service=", "--json"});
  EXPECT_EQ(json_out.exit_code, 0) << json_out.err;
  nlohmann::json json = nlohmann::json::parse(json_out.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << json_out.out;
  EXPECT_EQ(json["service"], "");
  EXPECT_EQ(json["status"], "SERVING");
}

TEST_F(TokenctlTest, HealthOfUnknownServiceExitsOne) {
  CommandResult health = Tokenctl({"health", "--service=no.such.Service"});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_EQ(health.out, "SERVICE_UNKNOWN\n");
  EXPECT_THAT(health.err, StartsWith("tokenctl: NOT_FOUND: "));
}

TEST_F(TokenctlTest, HealthOfUnreachableServerExitsOneAndSaysSo) {
  CommandResult health = RunCommand(
      {absl::StrCat(BinDir(), "/tokenctl"), "--server=127.0.0.1:1", "--timeout=5s", "health"});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_THAT(health.out, IsEmpty());
  EXPECT_THAT(health.err, StartsWith("tokenctl: UNAVAILABLE: "));
  EXPECT_THAT(health.err, HasSubstr("no answer from 127.0.0.1:1"));

  CommandResult extra = Tokenctl({"health", "extra"});
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_THAT(extra.err, HasSubstr("unexpected argument 'extra'"));
}

TEST_F(TokenctlTest, TlsIsTheDefaultAndNeverFallsBackToPlaintext) {
  // The server serves no TLS: without --plaintext, tokenctl's TLS handshake
  // fails, and the error says what to do.
  CommandResult health = RunCommand({absl::StrCat(BinDir(), "/tokenctl"),
                                     "--server=" + server_address_, "--timeout=5s", "health"});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_THAT(health.err, StartsWith("tokenctl: UNAVAILABLE: "));
  EXPECT_THAT(health.err, HasSubstr("over TLS"));
  EXPECT_THAT(health.err, HasSubstr("--plaintext"));

  CommandResult both = Tokenctl({"--ca-file=" + dir_->File("emulator.pem"), "health"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--plaintext excludes --ca-file"));
}

// A Developer Console download holding the emulator's credential under two
// names, and a JWT-only credential (skipped).
nlohmann::json ConsoleDownload(const std::string& first_name, const std::string& second_name) {
  auto s2s = [](const std::string& id, const std::string& name) {
    return nlohmann::json{{"id", id},
                          {"name", name},
                          {"integration_type", "oauth_server_to_server"},
                          {"oauth_server_to_server",
                           {{"client_id", kClientId},
                            {"client_secrets", {kSecret}},
                            {"scopes", {"openid", "AdobeID"}}}}};
  };
  nlohmann::json jwt = {{"id", "3"},
                        {"name", "Legacy"},
                        {"integration_type", "service"},
                        {"jwt", {{"client_id", "x"}, {"client_secret", kSecret}}}};
  return {
      {"project",
       {{"org", {{"id", "25591412"}, {"ims_org_id", kOrgId}}},
        {"workspace",
         {{"details", {{"credentials", {s2s("1", first_name), jwt, s2s("2", second_name)}}}}}}}}};
}

TEST_F(TokenctlTest, ImportCreatesEveryCredentialOfAConsoleDownloadAndItsTokensWork) {
  WriteFile(dir_->File("console.json"), ConsoleDownload("Import Billing", "Import Reports").dump());
  CommandResult dry = Tokenctl({"integrations", "import", dir_->File("console.json"), "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, ContainsRegex("would create +import-billing +oauth-s2s"));
  EXPECT_THAT(dry.out, HasSubstr("dry run: nothing was written"));
  EXPECT_EQ(Tokenctl({"integrations", "get", "import-billing"}).exit_code, 1);

  CommandResult import = Tokenctl({"integrations", "import", dir_->File("console.json")});
  ASSERT_EQ(import.exit_code, 0) << import.err;
  EXPECT_THAT(import.out, ContainsRegex("created +import-billing .*credentials\\[0\\]"));
  EXPECT_THAT(import.out, ContainsRegex("created +import-reports .*credentials\\[2\\]"));
  EXPECT_THAT(import.out, HasSubstr("skipped project.workspace.details.credentials[1] (Legacy)"));

  CommandResult get = Tokenctl({"integrations", "get", "import-reports", "--json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  nlohmann::json json = nlohmann::json::parse(get.out, nullptr, false);
  EXPECT_EQ(json["console_credential"]["credential_id"], "2") << get.out;
  EXPECT_EQ(json["org_header"], true);
  EXPECT_EQ(Tokenctl({"token", "get", "import-billing"}).exit_code, 0);  // minted at IMS

  CommandResult again = Tokenctl({"integrations", "import", dir_->File("console.json")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("ALREADY_EXISTS"));
  CommandResult update =
      Tokenctl({"integrations", "import", dir_->File("console.json"), "--update", "--json"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_THAT(update.out, HasSubstr("\"action\": \"replaced\""));
}

TEST_F(TokenctlTest, SecretsListShowsTheConsoleSecretTokenbrokerHoldsAndUses) {
  WriteFile(dir_->File("secrets.json"), ConsoleDownload("Secrets One", "Secrets Two").dump());
  ASSERT_EQ(Tokenctl({"integrations", "import", dir_->File("secrets.json")}).exit_code, 0);

  CommandResult list = Tokenctl({"secrets", "list", "secrets-one"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, ContainsRegex("UUID +CREATED +LAST USED +HELD +IN USE +FINGERPRINT"));
  EXPECT_THAT(list.out, ContainsRegex(absl::StrCat(" yes +yes +", Fingerprint(kSecret))));

  CommandResult json = Tokenctl({"secrets", "list", "secrets-one", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json parsed = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_EQ(parsed["client_secrets"].size(), 1u) << json.out;
  EXPECT_EQ(parsed["client_secrets"][0]["in_use"], true);
  // Minting the Console's token used the secret: Adobe records it.
  EXPECT_NE(parsed["client_secrets"][0]["last_use_time"], "");

  // The Console does not know credential 2 of that org.
  CommandResult unknown = Tokenctl({"secrets", "list", "secrets-two"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

// Rotations with --now while callers keep asking for tokens: no call fails,
// and each rotation ends with one secret at the Console, stored and in use.
TEST_F(TokenctlTest, SecretsRotateNowUnderLoadFailsNoCallAndLeavesOneSecret) {
  WriteFile(dir_->File("rotate.json"), ConsoleDownload("Rotate Me", "Rotate Other").dump());
  ASSERT_EQ(Tokenctl({"integrations", "import", dir_->File("rotate.json")}).exit_code, 0);
  CommandResult before = Tokenctl({"secrets", "list", "rotate-me", "--json"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  std::string first_uuid = nlohmann::json::parse(before.out)["client_secrets"][0]["uuid"];

  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0};
  std::string last_error;
  std::thread caller([&] {
    auto stub = v1::TokenService::NewStub(
        grpc::CreateChannel(server_address_, grpc::InsecureChannelCredentials()));
    while (!stop.load()) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::GetAccessTokenRequest request;
      request.set_name("integrations/rotate-me");
      v1::GetAccessTokenResponse response;
      grpc::Status status = stub->GetAccessToken(&context, request, &response);
      ++calls;
      if (!status.ok()) {
        ++failures;
        last_error = status.error_message();
      }
    }
  });
  std::vector<std::string> fingerprints;
  for (int i = 0; i < 2; ++i) {
    CommandResult rotate = Tokenctl({"secrets", "rotate", "rotate-me", "--now", "--json"});
    ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
    nlohmann::json result = nlohmann::json::parse(rotate.out, nullptr, false);
    EXPECT_EQ(result["state"], "done") << rotate.out;
    fingerprints.push_back(result["fingerprint"]);
  }
  stop = true;
  caller.join();
  EXPECT_GT(calls.load(), 10);
  EXPECT_EQ(failures.load(), 0) << last_error;
  EXPECT_NE(fingerprints[0], fingerprints[1]);

  CommandResult after = Tokenctl({"secrets", "list", "rotate-me", "--json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  nlohmann::json secrets = nlohmann::json::parse(after.out)["client_secrets"];
  ASSERT_EQ(secrets.size(), 1u) << after.out;
  EXPECT_NE(secrets[0]["uuid"], first_uuid);
  EXPECT_EQ(secrets[0]["in_use"], true);
  EXPECT_EQ(secrets[0]["fingerprint"], fingerprints[1]);
  CommandResult get = Tokenctl({"integrations", "get", "rotate-me", "--json"});
  EXPECT_NE(nlohmann::json::parse(get.out)["last_secret_rotation_time"], "");
}

TEST_F(TokenctlTest, SecretsRotateWithoutNowWaitsForTheOldSecretToGoUnused) {
  WriteFile(dir_->File("wait.json"), ConsoleDownload("Wait Rotate", "Wait Other").dump());
  ASSERT_EQ(Tokenctl({"integrations", "import", dir_->File("wait.json")}).exit_code, 0);
  CommandResult rotate = Tokenctl({"secrets", "rotate", "wait-rotate"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_THAT(rotate.out, StartsWith("waiting: the new secret is in use"));
  EXPECT_THAT(rotate.out, HasSubstr("run 'tokenctl secrets rotate wait-rotate' again"));
  CommandResult list = Tokenctl({"secrets", "list", "wait-rotate", "--json"});
  nlohmann::json secrets = nlohmann::json::parse(list.out)["client_secrets"];
  ASSERT_EQ(secrets.size(), 2u) << list.out;  // the peak: exactly 2
  int in_use = secrets[0]["in_use"].get<bool>() + secrets[1]["in_use"].get<bool>();
  EXPECT_EQ(in_use, 1);
  // Finishing needs the grace period (15m here): --now finishes at once.
  CommandResult finish = Tokenctl({"secrets", "rotate", "wait-rotate", "--now"});
  EXPECT_THAT(finish.out, StartsWith("done: "));
}

TEST_F(TokenctlTest, SecretsListOfAnIntegrationWithoutConsoleIdsSaysHowToSetThem) {
  WriteFile(dir_->File("manual.secret"), kSecret);
  ASSERT_EQ(Tokenctl({"integrations", "create", "manual-secrets", "--auth=oauth-s2s",
                      absl::StrCat("--client-id=", kClientId),
                      "--client-secret-file=" + dir_->File("manual.secret"),
                      absl::StrCat("--org-id=", kOrgId), "--scopes=openid"})
                .exit_code,
            0);
  CommandResult list = Tokenctl({"secrets", "list", "manual-secrets"});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_THAT(list.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(list.err, HasSubstr("--console-credential=ORG/CRED"));

  ASSERT_EQ(
      Tokenctl({"integrations", "update", "manual-secrets", "--console-credential=25591412/1"})
          .exit_code,
      0);
  CommandResult after = Tokenctl({"secrets", "list", "manual-secrets"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  CommandResult bad =
      Tokenctl({"integrations", "update", "manual-secrets", "--console-credential=1"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST_F(TokenctlTest, ImportOfABrokenFileCreatesNothingAndNamesTheJsonPath) {
  nlohmann::json file = ConsoleDownload("Broken One", "Broken Two");
  file["project"]["workspace"]["details"]["credentials"][2]["oauth_server_to_server"]
      ["client_secrets"] = nlohmann::json::array();
  WriteFile(dir_->File("broken.json"), file.dump());
  CommandResult import = Tokenctl({"integrations", "import", dir_->File("broken.json")});
  EXPECT_EQ(import.exit_code, 1);
  EXPECT_THAT(import.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(import.err,
              HasSubstr("project.workspace.details.credentials[2].oauth_server_to_server."
                        "client_secrets"));
  EXPECT_EQ(Tokenctl({"integrations", "get", "broken-one"}).exit_code, 1);

  WriteFile(dir_->File("not-json.txt"), "client_secret=abc");
  CommandResult usage = Tokenctl({"integrations", "import", dir_->File("not-json.txt")});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("not a JSON object"));
}

TEST_F(TokenctlTest, UnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  CommandResult result = RunCommand({absl::StrCat(BinDir(), "/tokenctl"), "--server=127.0.0.1:1",
                                     "--timeout=5s", "integrations", "list"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("tokenctl: UNAVAILABLE: "));
}

}  // namespace
}  // namespace tokenbroker::testing
