// The emulator's Developer Console secrets API, called on the core
// (ImsEmulator) with explicit times. emulator_test.cc calls it over HTTPS.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/ims_emulator/clients.h"
#include "tests/ims_emulator/crypto.h"
#include "tests/ims_emulator/ims_emulator.h"

namespace tokenbroker::emulator {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kClient[] = "console-client";
constexpr char kSecret[] = "first-secret-value";
constexpr char kOrgId[] = "25591412";
constexpr char kCredentialId[] = "17606512";
constexpr char kAllScopes[] = "openid,adobeio_api,read_client_secret,manage_client_secrets";

ClientConfig ConsoleClient(const std::string& id, const std::string& credential_id) {
  ClientConfig client;
  client.client_id = id;
  client.client_secrets = {kSecret};
  client.org_id = "ACME@AdobeOrg";
  client.scopes = {"openid", "adobeio_api", "read_client_secret", "manage_client_secrets"};
  client.console_org_id = kOrgId;
  client.console_credential_id = credential_id;
  return client;
}

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = GenerateRsaKey(1024);  // signs the access tokens; any RSA key will do
    ASSERT_TRUE(key.ok());
    auto core = ImsEmulator::New(
        EmulatorOptions(), *std::move(key),
        {ConsoleClient(kClient, kCredentialId), ConsoleClient("other-client", "999")});
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  // "Bearer <token>" minted by the emulator for `client` with `secret`.
  std::string Bearer(const std::string& secret = kSecret, const std::string& scope = kAllScopes,
                     const std::string& client = kClient) {
    Reply reply = core_->ClientCredentials({{"grant_type", "client_credentials"},
                                            {"client_id", client},
                                            {"client_secret", secret},
                                            {"scope", scope}},
                                           now_);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return "Bearer " + json::parse(reply.body).value("access_token", "");
  }

  ImsEmulator::ConsoleRequest Request(const std::string& bearer, const std::string& uuid = "") {
    return {kOrgId, kCredentialId, uuid, bearer, kClient};
  }

  int MintStatus(const std::string& secret) {
    return core_
        ->ClientCredentials({{"grant_type", "client_credentials"},
                             {"client_id", kClient},
                             {"client_secret", secret}},
                            now_)
        .status;
  }

  json List(const std::string& bearer) {
    Reply reply = core_->ListSecrets(Request(bearer), now_);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body, nullptr, false);
  }

  absl::Time now_ = absl::FromUnixSeconds(1800000000);
  std::unique_ptr<ImsEmulator> core_;
};

TEST_F(ConsoleApiTest, ListsSecretsWithTheirLastUseAndNeverAValue) {
  std::string bearer = Bearer();  // uses the secret at now_

  Reply reply = core_->ListSecrets(Request(bearer), now_);

  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(reply.body, Not(HasSubstr(kSecret)));
  json body = json::parse(reply.body);
  EXPECT_EQ(body["client_id"], kClient);
  ASSERT_EQ(body["client_secrets"].size(), 1u);
  const json& secret = body["client_secrets"][0];
  EXPECT_EQ(secret["uuid"].get<std::string>().size(), 36u);
  EXPECT_EQ(secret["expires_at"], "PERMANENT");
  ASSERT_EQ(secret["secret_usages"].size(), 1u);
  EXPECT_EQ(secret["secret_usages"][0]["last_used_at"], absl::ToUnixMillis(now_));
  EXPECT_EQ(secret["secret_usages"][0]["grant_type"], "client_credentials");
}

TEST_F(ConsoleApiTest, AnAddedSecretIsShownOnceAndWorksAtImsAtOnce) {
  std::string bearer = Bearer();

  Reply added = core_->AddSecret(Request(bearer), now_);

  ASSERT_EQ(added.status, 200) << added.body;
  json body = json::parse(added.body);
  std::string value = body["client_secret"];
  EXPECT_THAT(value, StartsWith("p8e-"));
  EXPECT_EQ(MintStatus(value), 200);
  EXPECT_EQ(MintStatus(kSecret), 200);
  json listed = List(bearer);
  ASSERT_EQ(listed["client_secrets"].size(), 2u);
  EXPECT_THAT(listed.dump(), Not(HasSubstr(value)));
  EXPECT_THAT(listed.dump(), HasSubstr(body["uuid"].get<std::string>()));

  Reply third = core_->AddSecret(Request(bearer), now_);
  EXPECT_EQ(third.status, 400);
  EXPECT_THAT(third.body, HasSubstr("already holds 2"));
}

TEST_F(ConsoleApiTest, ADeletedSecretIsRefusedButTokensMintedWithItStayValid) {
  std::string old_bearer = Bearer();
  std::string old_uuid = List(old_bearer)["client_secrets"][0]["uuid"];
  json added = json::parse(core_->AddSecret(Request(old_bearer), now_).body);

  Reply deleted = core_->DeleteSecret(Request(old_bearer, old_uuid), now_);

  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_EQ(MintStatus(kSecret), 401);
  EXPECT_EQ(MintStatus(added["client_secret"]), 200);
  json listed = List(old_bearer);  // the token minted with the deleted secret still works
  ASSERT_EQ(listed["client_secrets"].size(), 1u);
  EXPECT_EQ(listed["client_secrets"][0]["uuid"], added["uuid"]);
  EXPECT_EQ(core_->DeleteSecret(Request(old_bearer, old_uuid), now_).status, 404);
  EXPECT_EQ(core_->DeleteSecret(Request(old_bearer, added["uuid"]), now_).status, 400);
}

TEST_F(ConsoleApiTest, RefusesWhatTheConsoleRefuses) {
  std::string bearer = Bearer();
  ImsEmulator::ConsoleRequest unknown = Request(bearer);
  unknown.credential_id = "404";
  EXPECT_EQ(core_->ListSecrets(unknown, now_).status, 404);
  EXPECT_EQ(core_->ListSecrets(Request(""), now_).status, 401);
  EXPECT_EQ(core_->ListSecrets(Request("Bearer not.a.token"), now_).status, 401);
  EXPECT_EQ(core_->ListSecrets(Request(Bearer(kSecret, kAllScopes, "other-client")), now_).status,
            401);
  EXPECT_EQ(core_->ListSecrets(Request(bearer), now_ + absl::Hours(25)).status, 401);  // expired
  ImsEmulator::ConsoleRequest wrong_key = Request(bearer);
  wrong_key.api_key = "other-client";
  EXPECT_EQ(core_->ListSecrets(wrong_key, now_).status, 403);

  std::string read_only = Bearer(kSecret, "openid,adobeio_api,read_client_secret");
  EXPECT_EQ(core_->ListSecrets(Request(read_only), now_).status, 200);
  Reply add = core_->AddSecret(Request(read_only), now_);
  EXPECT_EQ(add.status, 403);
  EXPECT_THAT(add.body, HasSubstr("manage_client_secrets"));
  EXPECT_THAT(add.body, HasSubstr("I/O Management API"));
  Reply no_io = core_->ListSecrets(Request(Bearer(kSecret, "openid")), now_);
  EXPECT_EQ(no_io.status, 403);
  EXPECT_THAT(no_io.body, HasSubstr("adobeio_api"));
}

TEST_F(ConsoleApiTest, NoRotationWhileAMigrationIsInProgress) {
  std::string bearer = Bearer();
  ClientConfig migrating = ConsoleClient(kClient, kCredentialId);
  migrating.migration_in_progress = true;
  core_->PutClient(migrating);
  std::string uuid = List(bearer)["client_secrets"][0]["uuid"];

  Reply add = core_->AddSecret(Request(bearer), now_);
  Reply del = core_->DeleteSecret(Request(bearer, uuid), now_);

  EXPECT_EQ(add.status, 409);
  EXPECT_THAT(add.body, HasSubstr("migrated"));
  EXPECT_EQ(del.status, 409);
}

TEST_F(ConsoleApiTest, ReRegisteringAClientKeepsTheUuidsOfTheSecretsItStillHolds) {
  std::string bearer = Bearer();
  std::string uuid = List(bearer)["client_secrets"][0]["uuid"];
  ClientConfig again = ConsoleClient(kClient, kCredentialId);
  again.client_secrets.push_back("second-secret-value");

  core_->PutClient(again);

  json listed = List(bearer);
  ASSERT_EQ(listed["client_secrets"].size(), 2u);
  EXPECT_THAT(listed.dump(), HasSubstr(uuid));
}

}  // namespace
}  // namespace tokenbroker::emulator
