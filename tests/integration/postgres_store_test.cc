// The PostgreSQL store through the real binary: `tokenbroker migrate`, two
// replicas sharing one database (--store-dsn-file), and no password in any
// log line or command output.
#include <atomic>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/console/console_secrets.h"
#include "server/store/postgres_credential_store.h"
#include "tests/testing/postgres.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "MARKER-SECRET-5d1e";

// tokenbroker_secret_rotation_checks_total in a scrape (-1 if absent).
double Checks(const std::string& metrics) {
  const std::string kSeries = "\ntokenbroker_secret_rotation_checks_total ";
  size_t at = metrics.find(kSeries);
  double value = -1;
  if (at == std::string::npos) return value;
  at += kSeries.size();
  if (!absl::SimpleAtod(metrics.substr(at, metrics.find('\n', at) - at), &value)) return -1;
  return value;
}

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
    nlohmann::json client = {
        {"client_id", "acme"},
        {"client_secrets", {kSecret}},
        {"org_id", "ORG1@AdobeOrg"},
        {"console_org_id", "25591412"},
        {"console_credential_id", "17606512"},
        {"scopes", absl::StrSplit(absl::StrCat("openid,AdobeID,", kConsoleSecretsScopes), ',')}};
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
            "--ims-ca-file=" + ims_->ca_file(), "--console-api-url=" + ims_->url()};
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

// Both replicas check every 100 ms for secrets due; the integration's secret
// is aged past its 1 h period in the database. One replica rotates (the
// store lease, and the due check made again under it); callers of both are
// served throughout.
TEST_F(PostgresStoreBinaryTest, TwoReplicasRotateAClientSecretOnce) {
  ASSERT_EQ(Tokenbroker({"migrate", "--store-dsn-file=" + dsn_file_}).exit_code, 0);
  std::vector<std::string> flags = Flags("--store-dsn-file=" + dsn_file_);
  flags.insert(flags.end(), {"--secret-rotation-check-interval=100ms", "--secret-rotation-grace=1s",
                             "--metrics-listen=127.0.0.1:0"});
  auto a = BrokerProcess::Start(flags);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = BrokerProcess::Start(flags);
  ASSERT_TRUE(b.ok()) << b.status();
  v1::CreateIntegrationRequest create = OAuthIntegration("acme", "acme", kSecret, "");
  create.mutable_integration()->mutable_console_credential()->set_org_id("25591412");
  create.mutable_integration()->mutable_console_credential()->set_credential_id("17606512");
  create.mutable_integration()->mutable_secret_rotation_period()->set_seconds(3600);
  {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse created;
    grpc::Status status = (*a)->integrations()->CreateIntegration(&ctx, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0};
  std::thread callers([&] {
    for (int i = 0; !stop.load(); ++i) {
      grpc::ClientContext ctx;
      v1::GetAccessTokenRequest request;
      request.set_name("integrations/acme");
      v1::GetAccessTokenResponse response;
      BrokerProcess* replica = (i % 2 == 0 ? *a : *b).get();
      if (!replica->tokens()->GetAccessToken(&ctx, request, &response).ok()) ++failures;
      ++calls;
    }
  });
  absl::Cleanup join_callers = [&] {
    stop = true;
    if (callers.joinable()) callers.join();
  };
  const int64_t aged = absl::ToUnixNanos(absl::Now() - absl::Hours(2));
  ASSERT_TRUE(pg_->Psql("tokenbroker", absl::StrCat("UPDATE integrations SET client_secret_info = "
                                                    "'[{\"console_uuid\":\"\",\"create_time_ns\":",
                                                    aged, "}]' WHERE id = 'acme'"))
                  .ok());

  auto secrets = [&] {
    grpc::ClientContext ctx;
    v1::ListClientSecretsRequest request;
    request.set_parent("integrations/acme");
    v1::ListClientSecretsResponse response;
    grpc::Status status = (*b)->integrations()->ListClientSecrets(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message() << status.error_details();
    return response;
  };
  auto rotated_log_lines = [&] {
    std::string logs = (*a)->log() + (*b)->log();
    return std::make_pair(
        std::vector<std::string>(absl::StrSplit(logs, "client secret added at the")).size() - 1,
        std::vector<std::string>(absl::StrSplit(logs, "client secret rotated")).size() - 1);
  };
  EXPECT_TRUE(WaitUntil([&] { return rotated_log_lines().second >= 1; }, absl::Seconds(30),
                        "a replica logs 'client secret rotated'"))
      << (*a)->log() << (*b)->log();
  std::move(join_callers).Invoke();
  // Two more passes by each replica (the first may have listed before the
  // rotation was stored): neither rotates again.
  for (BrokerProcess* replica : {a->get(), b->get()}) {
    const double seen = Checks(replica->ScrapeMetrics());
    ASSERT_TRUE(WaitUntil([&] { return Checks(replica->ScrapeMetrics()) >= seen + 2; },
                          absl::Seconds(10), "two more rotation checks"));
  }
  v1::ListClientSecretsResponse listed = secrets();
  ASSERT_EQ(listed.client_secrets_size(), 1);
  EXPECT_TRUE(listed.client_secrets(0).held());
  EXPECT_TRUE(listed.client_secrets(0).in_use());
  EXPECT_EQ(rotated_log_lines(), std::make_pair(size_t{1}, size_t{1}));
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  std::string logs = (*a)->log() + (*b)->log();
  EXPECT_THAT(logs, Not(HasSubstr(kSecret)));
  EXPECT_THAT(logs, Not(HasSubstr("p8e-")));  // the emulator's new secrets
}

}  // namespace
}  // namespace tokenbroker::testing
