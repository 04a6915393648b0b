#include "server/console/console_file.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/api/convert.h"
#include "server/common/error_details.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kS2sSecret[] = "p8e-s2s-secret-value-0001";
constexpr char kJwtSecret[] = "p8e-jwt-secret-value-0002";

// A Console download shaped like Adobe's (adobe/aio-cli-plugin-app's
// fixtures): an OAuth web app, a JWT credential being migrated (both blocks),
// an API key and a plain S2S credential with two secrets.
json ConsoleDownload() {
  return json::parse(R"({
    "project": {
      "id": "4566206088344794932", "name": "billing",
      "org": {"id": "25591412", "name": "Acme", "ims_org_id": "ACME0123@AdobeOrg"},
      "workspace": {"id": "1356", "name": "Production", "details": {
        "credentials": [
          {"id": "17561142", "name": "Projéct A", "integration_type": "oauthweb",
           "oauth2": {"client_id": "web-client", "client_secret": "web-secret",
                      "redirect_uri": ["https://example.test"]}},
          {"id": "17606512", "name": "PröjectB", "integration_type": "oauth_server_to_server_migrate",
           "jwt": {"client_id": "jwt-client", "client_secret": "p8e-jwt-secret-value-0002",
                   "technical_account_email": "a@techacct.adobe.com",
                   "technical_account_id": "JWTACCOUNT@techacct.adobe.com",
                   "meta_scopes": ["ent_analytics_bulk_ingest_sdk"]},
           "oauth_server_to_server": {"client_id": "s2s-client",
             "client_secrets": ["p8e-s2s-secret-value-0001"],
             "technical_account_email": "b@techacct.adobe.com",
             "technical_account_id": "S2SACCOUNT@techacct.adobe.com",
             "scopes": ["openid", "AdobeID", "read_organizations"]}},
          {"id": "17656565", "name": "Project C", "integration_type": "apikey",
           "api_key": {"client_id": "api-key-client"}},
          {"id": 17950, "name": "New Test Intégration 8", "integration_type": "oauth_server_to_server",
           "oauth_server_to_server": {"client_id": "second-client",
             "client_secrets": ["p8e-first", "p8e-second"], "scopes": ["openid"]}}
        ]}}}})");
}

json AemCredentials() {
  return json::parse(R"({
    "ok": true, "statusCode": 200,
    "integration": {
      "imsEndpoint": "ims-na1.adobelogin.com",
      "metascopes": "ent_aem_cloud_api, ent_cloudmgr_sdk",
      "technicalAccount": {"clientId": "cm-p1234-e5678-integration-1",
                           "clientSecret": "p8e-aem-secret"},
      "email": "c@techacct.adobe.com", "id": "AEMACCOUNT@techacct.adobe.com",
      "org": "ACME0123@AdobeOrg",
      "privateKey": "-----BEGIN RSA PRIVATE KEY-----\nAEMKEY\n-----END RSA PRIVATE KEY-----\n",
      "publicKey": "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n"}})");
}

absl::StatusOr<CredentialFile> Parse(const json& file) { return ParseCredentialFile(file.dump()); }

std::string FieldOf(const absl::Status& status) {
  auto info = GetErrorInfo(status);
  if (!info || !info->metadata().contains("field")) return "(no field)";
  return info->metadata().at("field");
}

constexpr char kCredentials[] = "project.workspace.details.credentials";

TEST(ConsoleFileTest, ImportsTheS2sCredentialsAndSkipsTheOthers) {
  absl::StatusOr<CredentialFile> file = Parse(ConsoleDownload());

  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->format, "console");
  ASSERT_EQ(file->credentials.size(), 2u);
  const ImportedCredential& migrate = file->credentials[0];
  EXPECT_EQ(migrate.json_path, std::string(kCredentials) + "[1]");
  EXPECT_EQ(migrate.credential_name, "PröjectB");
  EXPECT_EQ(migrate.integration.console.org_id, "25591412");
  EXPECT_EQ(migrate.integration.console.credential_id, "17606512");
  const Integration& s2s = migrate.integration;
  EXPECT_EQ(s2s.id, "projectb");
  EXPECT_EQ(s2s.display_name, "PröjectB");
  EXPECT_EQ(s2s.auth_method, AuthMethod::kOAuthServerToServer);
  EXPECT_EQ(s2s.client_id, "s2s-client");  // the S2S half, not the JWT one
  EXPECT_EQ(s2s.org_id, "ACME0123@AdobeOrg");
  EXPECT_TRUE(s2s.include_org_header);
  EXPECT_EQ(s2s.technical_account_id, "S2SACCOUNT@techacct.adobe.com");
  EXPECT_THAT(s2s.scopes, ElementsAre("openid", "AdobeID", "read_organizations"));
  ASSERT_EQ(s2s.credentials.client_secrets.size(), 1u);
  EXPECT_EQ(s2s.credentials.client_secrets[0].value(), kS2sSecret);
  EXPECT_TRUE(s2s.credentials.private_key_pem.value().empty());

  const ImportedCredential& second = file->credentials[1];
  EXPECT_EQ(second.integration.id, "new-test-integration-8");
  EXPECT_EQ(second.integration.console.credential_id, "17950");  // a number in the file
  ASSERT_EQ(second.integration.credentials.client_secrets.size(), 2u);
  EXPECT_EQ(second.integration.credentials.client_secrets[1].value(), "p8e-second");

  ASSERT_EQ(file->skipped.size(), 2u);
  EXPECT_EQ(file->skipped[0].json_path, std::string(kCredentials) + "[0]");
  EXPECT_EQ(file->skipped[0].credential_name, "Projéct A");
  EXPECT_THAT(file->skipped[0].reason, HasSubstr("oauthweb"));
  EXPECT_EQ(file->skipped[1].json_path, std::string(kCredentials) + "[2]");
}

TEST(ConsoleFileTest, AJwtOnlyCredentialIsSkippedSayingWhereItsS2sTwinIs) {
  json file = ConsoleDownload();
  json& migrate = file["project"]["workspace"]["details"]["credentials"][1];
  migrate.erase("oauth_server_to_server");
  migrate["integration_type"] = "service";

  absl::StatusOr<CredentialFile> parsed = Parse(file);

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->skipped.size(), 3u);
  EXPECT_EQ(parsed->skipped[1].json_path, std::string(kCredentials) + "[1]");
  EXPECT_THAT(parsed->skipped[1].reason, HasSubstr("no private key"));
  EXPECT_THAT(parsed->skipped[1].reason, HasSubstr("OAuth Server-to-Server"));
  EXPECT_THAT(parsed->skipped[1].reason, Not(HasSubstr(kJwtSecret)));
}

TEST(ConsoleFileTest, ReadsAnAemServiceCredentialAsAJwtIntegrationWithItsKeyAndHost) {
  absl::StatusOr<CredentialFile> file = Parse(AemCredentials());

  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->format, "aem");
  ASSERT_EQ(file->credentials.size(), 1u);
  EXPECT_EQ(file->credentials[0].json_path, "integration");
  const Integration& jwt = file->credentials[0].integration;
  EXPECT_EQ(jwt.id, "aem-cm-p1234-e5678-integration-1");
  EXPECT_EQ(jwt.auth_method, AuthMethod::kJwt);
  EXPECT_EQ(jwt.client_id, "cm-p1234-e5678-integration-1");
  EXPECT_EQ(jwt.org_id, "ACME0123@AdobeOrg");
  EXPECT_EQ(jwt.technical_account_id, "AEMACCOUNT@techacct.adobe.com");
  EXPECT_THAT(jwt.metascopes, ElementsAre("ent_aem_cloud_api", "ent_cloudmgr_sdk"));
  EXPECT_EQ(jwt.ims_url, "https://ims-na1.adobelogin.com");
  ASSERT_EQ(jwt.credentials.client_secrets.size(), 1u);
  EXPECT_EQ(jwt.credentials.client_secrets[0].value(), "p8e-aem-secret");
  EXPECT_THAT(jwt.credentials.private_key_pem.value(), HasSubstr("AEMKEY"));
}

struct BrokenFile {
  std::string name;
  std::string pointer;  // JSON pointer of the member to change
  json value;           // null: remove it
  std::string field;    // the JSON path the error must name
  std::string says;
};

class BrokenConsoleFileTest : public ::testing::TestWithParam<BrokenFile> {};

TEST_P(BrokenConsoleFileTest, NothingIsImportedAndTheErrorNamesTheJsonPath) {
  const BrokenFile& broken = GetParam();
  json file = ConsoleDownload();
  json::json_pointer pointer(broken.pointer);
  if (broken.value.is_null()) {
    file[pointer.parent_pointer()].erase(pointer.back());
  } else {
    file[pointer] = broken.value;
  }

  absl::StatusOr<CredentialFile> parsed = Parse(file);

  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(parsed.status()), broken.field);
  EXPECT_THAT(parsed.status().message(), HasSubstr(broken.field));
  EXPECT_THAT(parsed.status().message(), HasSubstr(broken.says));
  EXPECT_THAT(parsed.status().message(), Not(HasSubstr("p8e-")));  // no secret quoted
}

const std::string kMigrate = std::string(kCredentials) + "[1].oauth_server_to_server";
constexpr char kMigratePointer[] =
    "/project/workspace/details/credentials/1/oauth_server_to_server";

INSTANTIATE_TEST_SUITE_P(
    Files, BrokenConsoleFileTest,
    ::testing::Values(
        BrokenFile{"SecretsMissing", std::string(kMigratePointer) + "/client_secrets", nullptr,
                   kMigrate + ".client_secrets", "required"},
        BrokenFile{"SecretsAString", std::string(kMigratePointer) + "/client_secrets",
                   "p8e-a-secret-as-a-string", kMigrate + ".client_secrets",
                   "must be a JSON array"},
        BrokenFile{"SecretsEmpty", std::string(kMigratePointer) + "/client_secrets", json::array(),
                   kMigrate + ".client_secrets", "must not be empty"},
        BrokenFile{"ThreeSecrets", std::string(kMigratePointer) + "/client_secrets",
                   json::array({"p8e-1", "p8e-2", "p8e-3"}), kMigrate + ".client_secrets",
                   "at most 2"},
        BrokenFile{"SecretNotAString", std::string(kMigratePointer) + "/client_secrets/0", 42,
                   kMigrate + ".client_secrets[0]", "must be a string"},
        BrokenFile{"ClientIdEmpty", std::string(kMigratePointer) + "/client_id", "",
                   kMigrate + ".client_id", "must not be empty"},
        BrokenFile{"ScopesMissing", std::string(kMigratePointer) + "/scopes", nullptr,
                   kMigrate + ".scopes", "required"},
        BrokenFile{"BlockNotAnObject", kMigratePointer, "p8e-x", kMigrate, "must be a JSON object"},
        BrokenFile{"NameMissing", "/project/workspace/details/credentials/3/name", nullptr,
                   std::string(kCredentials) + "[3].name", "required"},
        BrokenFile{"OrgMissing", "/project/org/ims_org_id", nullptr, "project.org.ims_org_id",
                   "required"},
        BrokenFile{"CredentialsNotAnArray", "/project/workspace/details/credentials", "x",
                   kCredentials, "must be a JSON array"},
        BrokenFile{"NoWorkspace", "/project/workspace", nullptr, kCredentials, "required"}),
    [](const ::testing::TestParamInfo<BrokenFile>& info) { return info.param.name; });

TEST(ConsoleFileTest, ABrokenAemFileNamesItsPath) {
  json file = AemCredentials();
  file["integration"]["technicalAccount"].erase("clientSecret");

  absl::StatusOr<CredentialFile> parsed = Parse(file);

  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(FieldOf(parsed.status()), "integration.technicalAccount.clientSecret");
}

TEST(ConsoleFileTest, NotJsonOrNeitherShapeIsRefusedWithoutQuotingTheFile) {
  for (const std::string& text :
       {std::string("{\"project\": p8e-not-json"), std::string("[\"p8e-array\"]"),
        std::string("{\"p8e-other\": 1}")}) {
    absl::StatusOr<CredentialFile> parsed = ParseCredentialFile(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("credential file"));
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("p8e-")));
  }
}

TEST(SuggestIntegrationIdTest, FoldsAccentsAndJoinsWordsWithDashes) {
  EXPECT_EQ(SuggestIntegrationId("PröjectB"), "projectb");
  EXPECT_EQ(SuggestIntegrationId("Projéct A"), "project-a");
  EXPECT_EQ(SuggestIntegrationId("New Test Intégration 8"), "new-test-integration-8");
  EXPECT_EQ(SuggestIntegrationId("  Analytics -- EU (prod)  "), "analytics-eu-prod");
  EXPECT_EQ(SuggestIntegrationId("Straße × Ærø"), "strase-aro");
  EXPECT_EQ(SuggestIntegrationId("日本語 API"), "api");
  EXPECT_EQ(SuggestIntegrationId("2024 export"), "c-2024-export");
  EXPECT_EQ(SuggestIntegrationId("日本語"), "credential");
  EXPECT_EQ(SuggestIntegrationId(""), "credential");
}

TEST(SuggestIntegrationIdTest, EverySuggestionPassesTheServersIdRule) {
  for (const std::string& name :
       {std::string(100, 'a'), std::string(62, 'a') + " b", std::string(62, 'a') + "  bb",
        std::string("9"), std::string("\xc3"), std::string("a\xc3"), std::string("\xff\xfe x"),
        std::string("--a--"), std::string("Ünïcödé ÿ")}) {
    std::string id = SuggestIntegrationId(name);
    EXPECT_TRUE(ValidateIntegrationId(id, "id").ok()) << "'" << id << "' from '" << name << "'";
  }
}

}  // namespace
}  // namespace tokenbroker
