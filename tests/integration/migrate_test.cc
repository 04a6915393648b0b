// `tokenctl integrations migrate` through the real binaries: a JWT
// integration in the encrypted SQLite store becomes OAuth Server-to-Server,
// its token comes from /ims/token/v3 of the real ims-emulator, and its
// private key's ciphertext is gone from the database file and its WAL; a
// migration that IMS refuses changes nothing.
#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/stack.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "MIGRATE-SECRET-MARKER-5d0c1a";
constexpr char kClient[] = "legacy-client";
constexpr char kJwtGrant[] = "jwt_bearer";
constexpr char kS2sGrant[] = "client_credentials";

// A JWT credential at the emulator that also has OAuth S2S with `scopes`.
nlohmann::json Client(const std::string& certificate, const std::vector<std::string>& scopes) {
  return {{"client_id", kClient},
          {"client_secrets", {kSecret}},
          {"org_id", "ORG1@AdobeOrg"},
          {"technical_account_id", "TECH1@techacct.adobe.com"},
          {"scopes", scopes},
          {"metascopes", {"ent_dataservices_sdk"}},
          {"certificate_pem", certificate}};
}

// The `credentials` column of integration `id`, read with the SQLite library
// (a second connection; the server keeps serving).
std::string CredentialsBlob(const std::string& db, const std::string& id) {
  sqlite3* conn = nullptr;
  std::string blob;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(conn, "SELECT credentials FROM integrations WHERE id = ?1", -1, &stmt,
                       nullptr);
    sqlite3_bind_text(stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      blob.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                  static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(conn);
  return blob;
}

// How many of the 32-byte windows of `blob` (every 16 bytes) occur in `bytes`.
int WindowsFound(const std::string& blob, const std::string& bytes) {
  int found = 0;
  for (size_t at = 0; at + 32 <= blob.size(); at += 16) {
    if (bytes.find(blob.substr(at, 32)) != std::string::npos) ++found;
  }
  return found;
}

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("tokenbroker.db");
    kek_ = dir_.File("keyring.json");
    CommandResult created =
        RunCommand({BinDir() + "/tokenbroker", "keyring", "create", "--kek-file=" + kek_});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    keys_ = GenerateTestKeyPair();
  }

  void Start(const std::vector<std::string>& s2s_scopes) {
    auto ims = ImsEmulatorProcess::Start({Client(keys_.certificate_pem, s2s_scopes)});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = *std::move(ims);
    auto broker =
        BrokerProcess::Start({"--store=sqlite:" + db_, "--kek-file=" + kek_,
                              "--ims-url=" + ims_->url(), "--ims-ca-file=" + ims_->ca_file()});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    v1::CreateIntegrationRequest request;
    request.set_integration_id("legacy");
    v1::Integration* in = request.mutable_integration();
    in->set_auth_method(v1::AUTH_METHOD_JWT);
    in->set_client_id(kClient);
    in->set_org_id("ORG1@AdobeOrg");
    in->set_technical_account_id("TECH1@techacct.adobe.com");
    in->add_metascopes("ent_dataservices_sdk");
    in->mutable_credentials()->add_client_secrets(kSecret);
    in->mutable_credentials()->set_private_key_pem(keys_.private_key_pem);
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse created;
    grpc::Status status = broker_->integrations()->CreateIntegration(&ctx, request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  CommandResult Tokenctl(std::vector<std::string> args) {
    args.insert(args.begin(),
                {BinDir() + "/tokenctl", "--server=" + broker_->address(), "--plaintext"});
    CommandResult result = RunCommand(args);
    EXPECT_THAT(result.out + result.err, Not(HasSubstr(kSecret)));
    return result;
  }

  // GetAccessToken; "" with a test failure when it fails.
  std::string Token() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/legacy");
    v1::GetAccessTokenResponse response;
    grpc::Status status = broker_->tokens()->GetAccessToken(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.token().access_token();
  }

  v1::Integration Get() {
    grpc::ClientContext ctx;
    v1::GetIntegrationRequest request;
    request.set_name("integrations/legacy");
    v1::GetIntegrationResponse response;
    grpc::Status status = broker_->integrations()->GetIntegration(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.integration();
  }

  TempDir dir_;
  std::string db_, kek_;
  TestKeyPair keys_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(MigrateTest, MigrateSwitchesToServerToServerAndLeavesNoKeyCiphertextOnDisk) {
  ASSERT_NO_FATAL_FAILURE(Start({"openid", "AdobeID"}));
  const std::string jwt_token = Token();
  ASSERT_EQ(ims_->Exchanges(kClient, kJwtGrant), 1);
  const std::string old_blob = CredentialsBlob(db_, "legacy");
  ASSERT_GT(old_blob.size(), 1000u) << "the key's envelope";
  // The check can fail: the ciphertext is in the files now.
  ASSERT_GT(WindowsFound(old_blob, ReadFile(db_) + ReadFile(db_ + "-wal")), 0);

  CommandResult migrated =
      Tokenctl({"integrations", "migrate", "legacy", "--scopes=openid,AdobeID"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_THAT(migrated.out, HasSubstr("oauth-s2s"));
  EXPECT_EQ(ims_->Exchanges(kClient, kS2sGrant), 1) << "minted before the commit";

  // Served from the token the migration stored: no further exchange.
  const std::string s2s_token = Token();
  EXPECT_NE(s2s_token, jwt_token);
  EXPECT_EQ(ims_->Exchanges(kClient, kS2sGrant), 1);
  EXPECT_EQ(ims_->Exchanges(kClient, kJwtGrant), 1);
  v1::Integration now = Get();
  EXPECT_EQ(now.auth_method(), v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER);
  EXPECT_TRUE(now.credential_info().private_key_fingerprint().empty());
  EXPECT_THAT(broker_->log(), HasSubstr("integration migrated from JWT to OAuth Server-to-Server"));

  const std::string db_bytes = ReadFile(db_);
  const std::string wal_bytes = ReadFile(db_ + "-wal");
  EXPECT_EQ(WindowsFound(old_blob, db_bytes), 0) << "the old ciphertext is in the database file";
  EXPECT_EQ(WindowsFound(old_blob, wal_bytes), 0) << "the old ciphertext is in the WAL";
  EXPECT_THAT(broker_->log(), Not(HasSubstr(kSecret)));
}

TEST_F(MigrateTest, MigrateThatImsRefusesFailsNamingItsErrorAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(Start({"openid"}));
  ASSERT_FALSE(Token().empty());
  const v1::Integration before = Get();

  CommandResult refused =
      Tokenctl({"integrations", "migrate", "legacy", "--scopes=openid,read_organizations"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("invalid_scope"));
  EXPECT_THAT(refused.err, HasSubstr("unchanged (still JWT)"));
  EXPECT_EQ(ims_->Exchanges(kClient, kS2sGrant), 0);

  v1::Integration after = Get();
  EXPECT_EQ(after.auth_method(), v1::AUTH_METHOD_JWT);
  EXPECT_EQ(after.etag(), before.etag());
  EXPECT_EQ(after.credential_info().private_key_fingerprint(),
            before.credential_info().private_key_fingerprint());
  // Still served, by the JWT flow.
  grpc::ClientContext ctx;
  v1::RefreshAccessTokenRequest refresh;
  refresh.set_name("integrations/legacy");
  v1::RefreshAccessTokenResponse response;
  grpc::Status status = broker_->tokens()->RefreshAccessToken(&ctx, refresh, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ims_->Exchanges(kClient, kJwtGrant), 2);
}

}  // namespace
}  // namespace tokenbroker::testing
