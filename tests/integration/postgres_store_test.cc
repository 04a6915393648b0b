// The PostgreSQL store through the real binary: `tokenbroker migrate`, two
// replicas sharing one database (--store-dsn-file), and no password in any
// log line or command output.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/postgres_credential_store.h"
#include "tests/testing/postgres.h"
#include "tests/testing/stack.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "MARKER-SECRET-5d1e";

class PostgresStoreBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    pg_ = std::move(*server);
    ASSERT_TRUE(pg_->CreateDatabase("tokenbroker").ok());
    dsn_file_ = dir_.File("dsn");
    WriteFile(dsn_file_, pg_->dsn("tokenbroker") + "\n");
    kek_ = dir_.File("keyring.json");
    CommandResult created = Tokenbroker({"keyring", "create", "--kek-file=" + kek_});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    nlohmann::json client = {{"client_id", "acme"},
                             {"client_secrets", {kSecret}},
                             {"org_id", "ORG1@AdobeOrg"},
                             {"scopes", {"openid", "AdobeID"}}};
    auto ims = ImsEmulatorProcess::Start({client});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
  }

  CommandResult Tokenbroker(std::vector<std::string> args) {
    args.insert(args.begin(), BinDir() + "/tokenbroker");
    CommandResult result = RunCommand(args);
    logs_ += result.out + result.err;
    return result;
  }

  std::vector<std::string> Flags(const std::string& store_flag) const {
    return {store_flag, "--kek-file=" + kek_, "--ims-url=" + ims_->url(),
            "--ims-ca-file=" + ims_->ca_file()};
  }

  TempDir dir_;
  std::unique_ptr<PostgresServer> pg_;
  std::string dsn_file_, kek_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::string logs_;
};

TEST_F(PostgresStoreBinaryTest, TwoReplicasShareIntegrationsAndTokens) {
  CommandResult migrated = Tokenbroker({"migrate", "--store-dsn-file=" + dsn_file_});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_THAT(migrated.out,
              HasSubstr(absl::StrCat("schema at version ",
                                     PostgresCredentialStore::LatestSchemaVersion())));

  auto a = BrokerProcess::Start(Flags("--store-dsn-file=" + dsn_file_));
  ASSERT_TRUE(a.ok()) << a.status();
  // The other replica takes the DSN on the command line; still not logged.
  auto b = BrokerProcess::Start(Flags("--store=" + pg_->dsn("tokenbroker")));
  ASSERT_TRUE(b.ok()) << b.status();

  {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse response;
    grpc::Status status = (*a)->integrations()->CreateIntegration(
        &ctx, OAuthIntegration("acme", "acme", kSecret, ""), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  v1::GetAccessTokenResponse from_a, from_b;
  {
    grpc::ClientContext ctx;
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/acme");
    grpc::Status status = (*a)->tokens()->GetAccessToken(&ctx, request, &from_a);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    // Replica B never saw the Create: it reads the integration (and the
    // token A persisted) from the shared database.
    grpc::ClientContext ctx;
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/acme");
    grpc::Status status = (*b)->tokens()->GetAccessToken(&ctx, request, &from_b);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_FALSE(from_b.token().access_token().empty());
  EXPECT_EQ(from_b.token().access_token(), from_a.token().access_token());
  EXPECT_EQ(ims_->Exchanges("acme"), 1);

  CommandResult check =
      Tokenbroker({"check", "--store-dsn-file=" + dsn_file_, "--kek-file=" + kek_});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("1 integrations readable, 0 failed"));

  absl::StatusOr<std::string> dump = pg_->Dump("tokenbroker");
  ASSERT_TRUE(dump.ok()) << dump.status();
  EXPECT_THAT(*dump, Not(HasSubstr(kSecret)));
  EXPECT_THAT(*dump, Not(HasSubstr(from_a.token().access_token())));

  logs_ += (*a)->log() + (*b)->log();
  EXPECT_THAT(logs_, HasSubstr("host=127.0.0.1"));
  EXPECT_THAT(logs_, Not(HasSubstr(pg_->password())));
  EXPECT_THAT(logs_, Not(HasSubstr(kSecret)));
}

TEST_F(PostgresStoreBinaryTest, StartupFailsClearlyWhenTheDatabaseIsDown) {
  ASSERT_TRUE(pg_->Stop().ok());
  CommandResult migrated = Tokenbroker({"migrate", "--store-dsn-file=" + dsn_file_});
  EXPECT_EQ(migrated.exit_code, 1);
  EXPECT_THAT(migrated.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(migrated.err, HasSubstr(absl::StrCat("port=", pg_->port())));
  auto broker = BrokerProcess::Start(Flags("--store-dsn-file=" + dsn_file_));
  EXPECT_FALSE(broker.ok());
  EXPECT_THAT(std::string(broker.status().message()), HasSubstr("cannot connect"));
  EXPECT_THAT(std::string(broker.status().message()), Not(HasSubstr(pg_->password())));
  EXPECT_THAT(logs_, Not(HasSubstr(pg_->password())));
}

}  // namespace
}  // namespace tokenbroker::testing
