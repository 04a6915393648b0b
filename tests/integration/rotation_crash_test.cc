// Crash safety of a client-secret rotation (issue 12): the real server, on a
// real SQLite file, is killed with SIGKILL while the IMS emulator holds one
// chosen request of `tokenctl secrets rotate --now` (POST /emulator/hold),
// then restarted on the same database. One more `rotate --now` must end with
// exactly one secret at Adobe, which tokenbroker stores, uses, and mints a
// fresh token with; no log or output may carry a secret value.
//
// A held request is never answered (tests/ims_emulator/hold_gate.h): held
// before its effect it never reached Adobe, held after it Adobe acted but the
// broker never heard. The emulator runs once for the suite; each crash point
// gets its own emulator client, database and servers.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/secret.h"
#include "server/console/console_secrets.h"
#include "tests/testing/stack.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kIntegration[] = "rotated";
constexpr char kConsoleOrg[] = "25591412";

// What the rotation after the restart finds.
enum class Resume {
  // Nothing reached Adobe: it rotates from the start.
  kStartsOver,
  // Adobe holds a secret tokenbroker never stored (it never saw the value):
  // deleted as an orphan, then a whole rotation.
  kDeletesOrphan,
  // The new secret was stored before the crash: it finishes that rotation.
  kFinishes,
};

struct CrashPoint {
  const char* name;
  // The request held (POST /emulator/hold), counted from the rotation's start.
  const char* endpoint;
  int nth;
  bool after;  // held after its effect (see above)
  Resume resume;
};

std::ostream& operator<<(std::ostream& out, const CrashPoint& point) {
  return out << point.name << " (" << point.endpoint << " #" << point.nth
             << (point.after ? ", after its effect)" : ", before its effect)");
}

// A rotation's requests in order: token #1 (the Console's token), list #1
// (reconcile), add, token #2 (mint with the new secret alone), list #2
// (before retiring the old one), delete (the old one).
const CrashPoint kCrashPoints[] = {
    {"ConsoleTokenMint", "token", 1, false, Resume::kStartsOver},
    {"ReconcileList", "list", 1, false, Resume::kStartsOver},
    {"AddBeforeAdobeCreatesIt", "add", 1, false, Resume::kStartsOver},
    {"AddAfterAdobeCreatedIt", "add", 1, true, Resume::kDeletesOrphan},
    {"MintWithNewSecret", "token", 2, false, Resume::kFinishes},
    {"MintWithNewSecretAnswerLost", "token", 2, true, Resume::kFinishes},
    {"RetireList", "list", 2, false, Resume::kFinishes},
    {"DeleteBeforeDeleting", "delete", 1, false, Resume::kFinishes},
    {"DeleteAfterDeleting", "delete", 1, true, Resume::kFinishes},
};

class RotationCrashTest : public ::testing::TestWithParam<CrashPoint> {
 protected:
  static void SetUpTestSuite() {
    auto emulator = ImsEmulatorProcess::Start({}, {"--log-requests"});
    if (emulator.ok()) {
      emulator_ = emulator->release();
    } else {
      setup_error_ = new std::string(emulator.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete emulator_;
    emulator_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }

  void SetUp() override;
  void TearDown() override;

  // Starts (or restarts) the server on the case's database.
  void StartBroker();
  // Kills the server while the emulator holds the crash point's request of
  // a rotation, then releases the hold.
  void CrashRotationAt(const CrashPoint& point);
  // Runs tokenctl against the server; its output joins the leak check.
  CommandResult Tokenctl(const std::vector<std::string>& args);
  std::vector<std::string> TokenctlArgv(const std::vector<std::string>& args) const;
  // The emulator's secrets of the case's client; their values join the leak
  // check.
  json SecretsAtAdobe();

  void ExpectResumed(const CrashPoint& point, const json& at_crash, const json& rotated);
  void ExpectOneSecretHeldAndUsed();
  void ExpectNoSecretInAnyLogOrOutput();

  static ImsEmulatorProcess* emulator_;
  static std::string* setup_error_;
  static int cases_;

  TempDir dir_;
  std::string client_id_;
  std::string original_;  // the secret the integration is created with
  std::unique_ptr<BrokerProcess> broker_;
  std::string texts_;              // every log and output, for the leak check
  std::set<std::string> secrets_;  // every secret value seen
};

ImsEmulatorProcess* RotationCrashTest::emulator_ = nullptr;
std::string* RotationCrashTest::setup_error_ = nullptr;
int RotationCrashTest::cases_ = 0;

void RotationCrashTest::SetUp() {
  ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  const int n = ++cases_;  // each case its own Console credential
  client_id_ = absl::StrCat("rotation-crash-", n);
  original_ = absl::StrCat("rotation-crash-ORIGINAL-SECRET-", n, "-5d0c7e");
  secrets_.insert(original_);
  const std::vector<std::string> scopes = absl::StrSplit(kConsoleSecretsScopes, ',');
  ASSERT_TRUE(emulator_
                  ->PutClient({{"client_id", client_id_},
                               {"client_secrets", {original_}},
                               {"org_id", "ROTATION@AdobeOrg"},
                               {"scopes", scopes},
                               {"console_org_id", kConsoleOrg},
                               {"console_credential_id", absl::StrCat(9000 + n)}})
                  .ok());
  CommandResult keyring = RunCommand(
      {BinDir() + "/tokenbroker", "keyring", "create", "--kek-file=" + dir_.File("kek.json")});
  ASSERT_EQ(keyring.exit_code, 0) << keyring.err;
  ASSERT_NO_FATAL_FAILURE(StartBroker());

  WriteFile(dir_.File("secret.txt"), original_);
  CommandResult create =
      Tokenctl({"integrations", "create", kIntegration, "--auth=oauth-s2s",
                "--client-id=" + client_id_, "--client-secret-file=" + dir_.File("secret.txt"),
                "--org-id=ROTATION@AdobeOrg", "--scopes=openid,AdobeID",
                absl::StrCat("--console-credential=", kConsoleOrg, "/", 9000 + n)});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  // A cached token: the broker mints nothing of its own during the
  // rotation, so the hold counts the rotation's token requests only.
  CommandResult token = Tokenctl({"token", "get", kIntegration});
  ASSERT_EQ(token.exit_code, 0) << token.err;
}

void RotationCrashTest::TearDown() {
  if (broker_ != nullptr) texts_ += broker_->log();
  broker_.reset();
  if (emulator_ != nullptr) (void)emulator_->SetHold(json::object());
}

void RotationCrashTest::StartBroker() {
  auto broker = BrokerProcess::Start(
      {"--store=sqlite:" + dir_.File("tokenbroker.db"), "--kek-file=" + dir_.File("kek.json"),
       "--ims_url=" + emulator_->url(), "--console_api_url=" + emulator_->url(),
       "--ims_ca_file=" + emulator_->ca_file(), "--secret_rotation_grace=1s",
       // The rotation the test runs is the only one: the scheduler, which
       // would resume it too, first looks an hour after the start.
       "--secret_rotation_check_interval=1h"});
  ASSERT_TRUE(broker.ok()) << broker.status();
  broker_ = *std::move(broker);
}

std::vector<std::string> RotationCrashTest::TokenctlArgv(
    const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {BinDir() + "/tokenctl", "--server=" + broker_->address(),
                                   "--plaintext"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult RotationCrashTest::Tokenctl(const std::vector<std::string>& args) {
  CommandResult result = RunCommand(TokenctlArgv(args));
  absl::StrAppend(&texts_, result.out, result.err);
  return result;
}

json RotationCrashTest::SecretsAtAdobe() {
  json secrets = emulator_->Secrets(client_id_);
  for (const json& secret : secrets) secrets_.insert(secret["value"].get<std::string>());
  return secrets;
}

void RotationCrashTest::CrashRotationAt(const CrashPoint& point) {
  auto hold = emulator_->SetHold({{"endpoint", point.endpoint},
                                  {"client", client_id_},
                                  {"nth", point.nth},
                                  {"after", point.after}});
  ASSERT_TRUE(hold.ok()) << hold.status();
  auto rotate = Subprocess::Start(TokenctlArgv({"secrets", "rotate", kIntegration, "--now"}),
                                  dir_.File("interrupted-rotate.log"));
  ASSERT_TRUE(rotate.ok()) << rotate.status();
  ASSERT_TRUE(WaitUntil([&] { return emulator_->HoldStatus().value("held_now", 0) == 1; },
                        absl::Seconds(20), absl::StrCat("the emulator holding ", point.name)))
      << emulator_->log();

  broker_->process()->Stop(SIGKILL);
  texts_ += broker_->log();
  broker_.reset();
  // The interrupted tokenctl sees the server go away: an RPC error (exit 1).
  ASSERT_TRUE(WaitUntil([&] { return !(*rotate)->Running(); }, absl::Seconds(20),
                        "the interrupted tokenctl to exit"));
  int status = (*rotate)->Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  texts_ += ReadFile(dir_.File("interrupted-rotate.log"));

  ASSERT_TRUE(emulator_->SetHold(json::object()).ok());
  ASSERT_TRUE(WaitUntil([&] { return emulator_->HoldStatus().value("held_now", -1) == 0; },
                        absl::Seconds(20), "the held request dropped"));
}

// What the rotation after the restart did, from Adobe's secrets at the crash
// and its `--json` answer.
void RotationCrashTest::ExpectResumed(const CrashPoint& point, const json& at_crash,
                                      const json& rotated) {
  const std::string used_uuid = rotated["console_uuid"];
  const std::vector<std::string> deleted = rotated["deleted_console_uuids"];
  json old_secret, other;  // the original secret, and the one added (if any)
  for (const json& secret : at_crash) {
    (secret["value"] == original_ ? old_secret : other) = secret;
  }
  // Only a crash after the old secret's delete leaves Adobe without it.
  if (point.resume != Resume::kFinishes) {
    ASSERT_FALSE(old_secret.is_null()) << at_crash;
  }
  switch (point.resume) {
    case Resume::kStartsOver:
      ASSERT_EQ(at_crash.size(), 1u) << "nothing reached Adobe: " << at_crash;
      EXPECT_NE(used_uuid, old_secret["uuid"]);
      EXPECT_THAT(deleted, ElementsAre(old_secret["uuid"].get<std::string>()));
      break;
    case Resume::kDeletesOrphan:
      ASSERT_EQ(at_crash.size(), 2u) << "Adobe added the secret: " << at_crash;
      EXPECT_NE(used_uuid, other["uuid"]);
      EXPECT_NE(used_uuid, old_secret["uuid"]);
      EXPECT_THAT(deleted, UnorderedElementsAre(other["uuid"].get<std::string>(),
                                                old_secret["uuid"].get<std::string>()));
      break;
    case Resume::kFinishes:
      ASSERT_FALSE(other.is_null()) << "the new secret is at Adobe: " << at_crash;
      EXPECT_EQ(used_uuid, other["uuid"]);
      EXPECT_EQ(rotated["fingerprint"], Fingerprint(other["value"].get<std::string>()));
      EXPECT_EQ(deleted.size(), 1u) << rotated;  // the old one, even if already gone
      break;
  }
}

// One secret at Adobe; tokenbroker stores that one only and mints with it.
void RotationCrashTest::ExpectOneSecretHeldAndUsed() {
  json at_adobe = SecretsAtAdobe();
  ASSERT_EQ(at_adobe.size(), 1u) << at_adobe;
  const std::string value = at_adobe[0]["value"];
  EXPECT_NE(value, original_);

  CommandResult list = Tokenctl({"secrets", "list", kIntegration, "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_EQ(listed["client_secrets"].size(), 1u) << list.out;
  const json& secret = listed["client_secrets"][0];
  EXPECT_EQ(secret["uuid"], at_adobe[0]["uuid"]);
  EXPECT_EQ(secret["held"], true);
  EXPECT_EQ(secret["in_use"], true);
  EXPECT_EQ(secret["fingerprint"], Fingerprint(value));
  EXPECT_EQ(listed["held_unmatched_count"], 0);
  CommandResult get = Tokenctl({"integrations", "get", kIntegration, "--json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(json::parse(get.out, nullptr, false)["client_secret_fingerprints"],
            json::array({Fingerprint(value)}))
      << get.out;

  // A fresh token, minted now with that secret.
  const int exchanges = emulator_->Exchanges(client_id_);
  const absl::Time before = absl::Now();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::RefreshAccessTokenRequest request;
  request.set_name(absl::StrCat("integrations/", kIntegration));
  v1::RefreshAccessTokenResponse response;
  grpc::Status status = broker_->tokens()->RefreshAccessToken(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.token().access_token().empty());
  EXPECT_GT(emulator_->Exchanges(client_id_), exchanges);
  json after = SecretsAtAdobe();
  ASSERT_EQ(after.size(), 1u) << after;
  ASSERT_TRUE(after[0]["last_used_at"].is_number()) << after;
  EXPECT_GE(after[0]["last_used_at"].get<int64_t>(), absl::ToUnixMillis(before));
}

void RotationCrashTest::ExpectNoSecretInAnyLogOrOutput() {
  texts_ += broker_->log();
  texts_ += emulator_->log();
  ASSERT_GE(secrets_.size(), 2u);  // the original and the new one at least
  for (const std::string& value : secrets_) {
    EXPECT_THAT(texts_, Not(HasSubstr(value))) << "a secret value leaked";
  }
}

TEST_P(RotationCrashTest, KilledHereTheNextRotationLeavesOneSecretHeldAndUsed) {
  const CrashPoint& point = GetParam();
  ASSERT_NO_FATAL_FAILURE(CrashRotationAt(point));
  const json at_crash = SecretsAtAdobe();

  ASSERT_NO_FATAL_FAILURE(StartBroker());
  CommandResult rotate = Tokenctl({"secrets", "rotate", kIntegration, "--now", "--json"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err << "\nserver log:\n" << broker_->log();
  json rotated = json::parse(rotate.out, nullptr, false);
  ASSERT_EQ(rotated["state"], "done") << rotate.out;
  ExpectResumed(point, at_crash, rotated);
  ExpectOneSecretHeldAndUsed();
  ExpectNoSecretInAnyLogOrOutput();
}

INSTANTIATE_TEST_SUITE_P(EveryStep, RotationCrashTest, ::testing::ValuesIn(kCrashPoints),
                         [](const ::testing::TestParamInfo<CrashPoint>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace tokenbroker::testing
