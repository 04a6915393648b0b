// The encrypted SQLite store through the real binary: restarts, secrets at
// rest, keyring problems, tampering, online KEK rotation, backup/restore.
#include <sqlite3.h>

#include <atomic>
#include <map>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "MARKER-SECRET-7f3b9c2e";

nlohmann::json Client(const std::string& client_id, int lifetime_seconds = 0,
                      const std::string& certificate = "") {
  nlohmann::json c = {
      {"client_id", client_id},          {"client_secrets", {kSecret}},
      {"org_id", "ORG1@AdobeOrg"},       {"technical_account_id", "TECH1@techacct.adobe.com"},
      {"scopes", {"openid", "AdobeID"}}, {"metascopes", {"ent_dataservices_sdk"}}};
  if (lifetime_seconds > 0) c["token_lifetime_seconds"] = lifetime_seconds;
  if (!certificate.empty()) c["certificate_pem"] = certificate;
  return c;
}

// The base64 body of a PEM key: what would leak if the key were stored raw.
std::string PemBodyLine(const std::string& pem) {
  std::vector<std::string> lines = absl::StrSplit(pem, '\n');
  return lines.size() > 2 ? lines[2] : pem;
}

class PersistenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("data/tokenbroker.db");
    kek_ = dir_.File("keyring.json");
    CommandResult created =
        RunCommand({BinDir() + "/tokenbroker", "keyring", "create", "--kek-file=" + kek_});
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }

  void StartIms(const std::vector<nlohmann::json>& clients) {
    auto ims = ImsEmulatorProcess::Start(clients);
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
  }

  std::vector<std::string> BrokerFlags(const std::string& db = "") const {
    return {"--store=sqlite:" + (db.empty() ? db_ : db), "--kek-file=" + kek_,
            "--ims-url=" + ims_->url(), "--ims-ca-file=" + ims_->ca_file()};
  }

  void StartBroker() {
    auto broker = BrokerProcess::Start(BrokerFlags());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    logs_ += broker_->log();
  }

  void StopBroker() {
    logs_ += broker_->log();
    broker_.reset();
  }

  grpc::Status Create(const v1::CreateIntegrationRequest& request,
                      v1::CreateIntegrationResponse* response = nullptr) {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse local;
    if (response == nullptr) response = &local;
    grpc::Status status = broker_->integrations()->CreateIntegration(&ctx, request, response);
    responses_ += response->DebugString();
    return status;
  }

  grpc::Status GetToken(const std::string& id, v1::GetAccessTokenResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + id);
    return broker_->tokens()->GetAccessToken(&ctx, request, response);
  }

  CommandResult Tokenbroker(std::vector<std::string> args) {
    args.insert(args.begin(), BinDir() + "/tokenbroker");
    CommandResult result = RunCommand(args);
    logs_ += result.out + result.err;
    return result;
  }

  TempDir dir_;
  std::string db_, kek_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
  std::string logs_;       // every log and command output of the test
  std::string responses_;  // every API response
};

TEST_F(PersistenceTest, RestartServesThePersistedTokenWithoutAnExchange) {
  StartIms({Client("acme")});
  StartBroker();
  ASSERT_TRUE(Create(OAuthIntegration("acme", "acme", kSecret, "")).ok());
  v1::GetAccessTokenResponse before;
  ASSERT_TRUE(GetToken("acme", &before).ok());
  EXPECT_EQ(ims_->Exchanges("acme"), 1);

  StopBroker();
  StartBroker();
  v1::GetAccessTokenResponse after;
  grpc::Status status = GetToken("acme", &after);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(after.token().access_token(), before.token().access_token());
  EXPECT_EQ(ims_->Exchanges("acme"), 1) << "a restart must not mint a new token";
}

TEST_F(PersistenceTest, NoSecretOrTokenInTheDatabaseLogsOrResponses) {
  TestKeyPair keys = GenerateTestKeyPair();
  StartIms({Client("s2s"), Client("jwt", 0, keys.certificate_pem)});
  StartBroker();
  ASSERT_TRUE(Create(OAuthIntegration("s2s", "s2s", kSecret, "")).ok());
  v1::CreateIntegrationRequest jwt;
  jwt.set_integration_id("jwt");
  v1::Integration* in = jwt.mutable_integration();
  in->set_auth_method(v1::AUTH_METHOD_JWT);
  in->set_client_id("jwt");
  in->set_org_id("ORG1@AdobeOrg");
  in->set_technical_account_id("TECH1@techacct.adobe.com");
  in->add_metascopes("ent_dataservices_sdk");
  in->mutable_credentials()->add_client_secrets(kSecret);
  in->mutable_credentials()->set_private_key_pem(keys.private_key_pem);
  grpc::Status created = Create(jwt);
  ASSERT_TRUE(created.ok()) << created.error_message();

  std::vector<std::string> tokens;
  for (const char* id : {"s2s", "jwt"}) {
    v1::GetAccessTokenResponse response;
    grpc::Status status = GetToken(id, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    tokens.push_back(response.token().access_token());
  }
  {
    grpc::ClientContext ctx;
    v1::ListIntegrationsResponse list;
    ASSERT_TRUE(
        broker_->integrations()->ListIntegrations(&ctx, v1::ListIntegrationsRequest(), &list).ok());
    responses_ += list.DebugString();
    grpc::ClientContext uctx;
    v1::UpdateIntegrationRequest update;
    update.mutable_integration()->set_name("integrations/s2s");
    update.mutable_integration()->set_display_name("renamed");
    update.mutable_update_mask()->add_paths("display_name");
    v1::UpdateIntegrationResponse updated;
    ASSERT_TRUE(broker_->integrations()->UpdateIntegration(&uctx, update, &updated).ok());
    responses_ += updated.DebugString();
  }
  CommandResult backup = Tokenbroker(
      {"backup", "--store=sqlite:" + db_, "--kek-file=" + kek_, "--to=" + dir_.File("backup.db")});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  std::string at_rest = ReadFile(db_) + ReadFile(db_ + "-wal") + ReadFile(dir_.File("backup.db"));
  StopBroker();
  at_rest += ReadFile(db_) + ReadFile(db_ + "-wal");
  ASSERT_GT(at_rest.size(), 4096u);

  std::vector<std::string> markers = {kSecret, PemBodyLine(keys.private_key_pem)};
  for (const std::string& token : tokens) {
    markers.push_back(token);
    markers.push_back(token.substr(token.size() - 40));  // the signature part alone
  }
  for (const std::string& marker : markers) {
    EXPECT_THAT(at_rest, Not(HasSubstr(marker))) << "found in the database files";
    EXPECT_THAT(logs_, Not(HasSubstr(marker))) << "found in the logs";
    EXPECT_THAT(responses_, Not(HasSubstr(marker))) << "found in an API response";
  }
}

TEST_F(PersistenceTest, MissingOrWrongKeyringStopsStartUpNamingTheKey) {
  StartIms({Client("acme")});
  StartBroker();
  ASSERT_TRUE(Create(OAuthIntegration("acme", "acme", kSecret, "")).ok());
  StopBroker();
  std::string key_id = nlohmann::json::parse(ReadFile(kek_))["primary"];

  // A different keyring: the key id in use is missing.
  std::string other = dir_.File("other.json");
  ASSERT_EQ(Tokenbroker({"keyring", "create", "--kek-file=" + other}).exit_code, 0);
  CommandResult missing = RunCommand({BinDir() + "/tokenbroker", "--listen=127.0.0.1:0",
                                      "--store=sqlite:" + db_, "--kek-file=" + other});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr(key_id));
  EXPECT_THAT(missing.err, HasSubstr("missing"));

  // The right id with the wrong key bytes: refused, not garbage.
  nlohmann::json forged = nlohmann::json::parse(ReadFile(other));
  forged["primary"] = key_id;
  forged["keys"][0]["id"] = key_id;
  std::string forged_path = dir_.File("forged.json");
  WriteFile(forged_path, forged.dump());
  CommandResult wrong = RunCommand({BinDir() + "/tokenbroker", "--listen=127.0.0.1:0",
                                    "--store=sqlite:" + db_, "--kek-file=" + forged_path});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err, HasSubstr("DATA_LOSS"));

  // No keyring at all.
  CommandResult none =
      RunCommand({BinDir() + "/tokenbroker", "--listen=127.0.0.1:0", "--store=sqlite:" + db_});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_THAT(none.err, HasSubstr("no keyring"));
}

TEST_F(PersistenceTest, TamperedRecordIsDataLossForThatIntegrationOnly) {
  StartIms({Client("good"), Client("bad")});
  StartBroker();
  ASSERT_TRUE(Create(OAuthIntegration("good", "good", kSecret, "")).ok());
  ASSERT_TRUE(Create(OAuthIntegration("bad", "bad", kSecret, "")).ok());
  StopBroker();

  // Flip one bit in the middle of the sealed credentials of 'bad'.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT credentials FROM integrations WHERE id = 'bad'", -1,
                               &select, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(select), SQLITE_ROW);
  std::string blob(static_cast<const char*>(sqlite3_column_blob(select, 0)),
                   sqlite3_column_bytes(select, 0));
  sqlite3_finalize(select);
  ASSERT_GT(blob.size(), 100u);
  blob[blob.size() / 2] ^= 0x01;
  sqlite3_stmt* update = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE integrations SET credentials = ? WHERE id = 'bad'", -1,
                               &update, nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(update, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(update), SQLITE_DONE);
  sqlite3_finalize(update);
  sqlite3_close(db);

  StartBroker();
  v1::GetAccessTokenResponse response;
  grpc::Status bad = GetToken("bad", &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::DATA_LOSS) << bad.error_message();
  EXPECT_THAT(bad.error_message(), HasSubstr("bad"));
  grpc::Status good = GetToken("good", &response);
  EXPECT_TRUE(good.ok()) << good.error_message();
  EXPECT_TRUE(
      WaitUntil([&] { return absl::StrContains(broker_->log(), "\"integration\":\"bad\""); },
                absl::Seconds(10), "the broker to log the integration whose record is tampered"))
      << broker_->log();
}

TEST_F(PersistenceTest, KekRotationOnlineWhileClientsKeepReadingTokens) {
  StartIms({Client("r0", 2), Client("r1", 2), Client("r2", 2)});
  StartBroker();
  for (const char* id : {"r0", "r1", "r2"}) {
    ASSERT_TRUE(Create(OAuthIntegration(id, id, kSecret, "")).ok());
  }
  std::string old_key = nlohmann::json::parse(ReadFile(kek_))["primary"];
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::string id = "r" + std::to_string(t);
      while (!stop) {
        v1::GetAccessTokenResponse response;
        if (!GetToken(id, &response).ok()) ++failures;
        ++calls;
        // Pacing of the load, not synchronization: about 100 calls/s each.
        absl::SleepFor(absl::Milliseconds(10));
      }
    });
  }
  // Stops the readers however the test ends.
  auto stop_readers = absl::MakeCleanup([&] {
    stop = true;
    for (auto& t : readers) t.join();
  });
  // Every token rotates every 2 s: waits until each integration has been
  // minted again (by the emulator's count) since `since`.
  auto rotated_since = [&](const std::map<std::string, int>& since, int rotations) {
    for (const auto& [id, exchanges] : since) {
      if (ims_->Exchanges(id) < exchanges + rotations) return false;
    }
    return true;
  };
  auto exchanges_now = [&] {
    std::map<std::string, int> now;
    for (const char* id : {"r0", "r1", "r2"}) now[id] = ims_->Exchanges(id);
    return now;
  };
  ASSERT_TRUE(WaitUntil([&] { return calls.load() >= 30; }, absl::Seconds(10),
                        "the readers to get their first tokens"));

  CommandResult added = Tokenbroker({"keyring", "add", "--kek-file=" + kek_});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  std::string new_key = nlohmann::json::parse(ReadFile(kek_))["primary"];
  EXPECT_NE(new_key, old_key);
  // The server reloads the keyring, then tokens rotate: each sealed with
  // the new key.
  ASSERT_TRUE(WaitUntil(
      [&] { return absl::StrContains(broker_->log(), "\"primary_key_id\":\"" + new_key + "\""); },
      absl::Seconds(15), "the broker to log \"keyring reloaded\" with the new primary key"))
      << broker_->log();
  std::map<std::string, int> after_reload = exchanges_now();
  ASSERT_TRUE(WaitUntil([&] { return rotated_since(after_reload, 1); }, absl::Seconds(15),
                        "every token to rotate after the keyring reload"));

  CommandResult rekey = Tokenbroker({"rekey", "--store=sqlite:" + db_, "--kek-file=" + kek_});
  ASSERT_EQ(rekey.exit_code, 0) << rekey.err;
  // More rotations: the rekeyed credentials are read with the new key.
  std::map<std::string, int> after_rekey = exchanges_now();
  ASSERT_TRUE(WaitUntil([&] { return rotated_since(after_rekey, 2) && calls.load() > 300; },
                        absl::Seconds(20),
                        "two more rotations of every token after the rekey, and 300 calls"));
  std::move(stop_readers).Invoke();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(calls.load(), 300);
  EXPECT_THAT(rekey.out, HasSubstr("key ids still in use: " + new_key + "\n"));
  // The old key can go now, and the server still works without it.
  CommandResult removed = Tokenbroker(
      {"keyring", "remove", "--kek-file=" + kek_, "--key-id=" + old_key, "--store=sqlite:" + db_});
  EXPECT_EQ(removed.exit_code, 0) << removed.out << removed.err;
  StopBroker();
  StartBroker();
  v1::GetAccessTokenResponse response;
  EXPECT_TRUE(GetToken("r0", &response).ok());
}

TEST_F(PersistenceTest, OnlineBackupRestoresEveryIntegration) {
  StartIms({Client("b")});
  StartBroker();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(Create(OAuthIntegration("int-" + std::to_string(i), "b", kSecret, "")).ok());
  }
  std::string backup = dir_.File("backup.db");
  CommandResult taken =
      Tokenbroker({"backup", "--store=sqlite:" + db_, "--kek-file=" + kek_, "--to=" + backup});
  ASSERT_EQ(taken.exit_code, 0) << taken.err;
  StopBroker();

  std::string restored = dir_.File("restored/tokenbroker.db");
  CommandResult restore = Tokenbroker(
      {"restore", "--store=sqlite:" + restored, "--kek-file=" + kek_, "--from=" + backup});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(restore.out, HasSubstr("restored 30 integrations"));

  auto broker = BrokerProcess::Start(BrokerFlags(restored));
  ASSERT_TRUE(broker.ok()) << broker.status();
  broker_ = std::move(*broker);
  grpc::ClientContext ctx;
  v1::ListIntegrationsRequest list_request;
  list_request.set_page_size(100);
  v1::ListIntegrationsResponse list;
  ASSERT_TRUE(broker_->integrations()->ListIntegrations(&ctx, list_request, &list).ok());
  EXPECT_EQ(list.integrations_size(), 30);
  v1::GetAccessTokenResponse response;
  EXPECT_TRUE(GetToken("int-7", &response).ok());

  CommandResult check = Tokenbroker({"check", "--store=sqlite:" + restored, "--kek-file=" + kek_});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("integrity_check: ok"));
}

}  // namespace
}  // namespace tokenbroker::testing
