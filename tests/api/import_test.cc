// ImportIntegrations over an in-memory store, without gRPC: which
// credentials of a Developer Console download become which integrations,
// and that a refused import writes nothing.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/api/import_plan.h"
#include "server/api/integration_service.h"
#include "server/common/error_details.h"
#include "server/store/memory_credential_store.h"
#include "tests/testing/fake_clock.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using Imported = v1::ImportIntegrationsResponse::Imported;

constexpr char kCredentials[] = "project.workspace.details.credentials";

// Two S2S credentials and a JWT-only one (not importable: no private key).
json Download() {
  return json::parse(R"({
    "project": {"id": "4566", "name": "billing",
      "org": {"id": "25591412", "name": "Acme", "ims_org_id": "ACME0123@AdobeOrg"},
      "workspace": {"id": "1356", "name": "Production", "details": {"credentials": [
        {"id": "17950", "name": "Billing S2S", "integration_type": "oauth_server_to_server",
         "oauth_server_to_server": {"client_id": "billing-client",
           "client_secrets": ["p8e-billing-1"], "scopes": ["openid", "AdobeID"]}},
        {"id": "17951", "name": "Old JWT", "integration_type": "service",
         "jwt": {"client_id": "jwt-client", "client_secret": "p8e-jwt",
                 "technical_account_id": "T@techacct.adobe.com", "meta_scopes": ["ent_x"]}},
        {"id": "17952", "name": "Reports", "integration_type": "oauth_server_to_server",
         "oauth_server_to_server": {"client_id": "reports-client",
           "client_secrets": ["p8e-reports-1", "p8e-reports-2"], "scopes": ["openid"]}}
      ]}}}})");
}

std::string FieldOf(const absl::Status& status) {
  auto info = GetErrorInfo(status);
  if (!info || !info->metadata().contains("field")) return "(no field)";
  return info->metadata().at("field");
}

class ImportTest : public ::testing::Test {
 protected:
  ImportTest()
      : service_(&store_, nullptr, ValidationOptions(), nullptr, &clock_, nullptr, nullptr) {}

  absl::StatusOr<v1::ImportIntegrationsResponse> Import(const json& file) {
    request_.set_credential_file(file.dump());
    v1::ImportIntegrationsResponse response;
    absl::Status status = service_.Import(request_, &response);
    if (!status.ok()) return status;
    return response;
  }
  std::vector<std::string> StoredIds() {
    std::vector<std::string> ids;
    absl::StatusOr<IntegrationPage> page = store_.List(100, "");
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return ids;
    for (const Integration& i : page->integrations) ids.push_back(i.id);
    return ids;
  }

  testing::FakeClock clock_;
  InMemoryCredentialStore store_{&clock_};
  IntegrationServiceImpl service_;
  v1::ImportIntegrationsRequest request_;
};

TEST_F(ImportTest, EveryServerToServerCredentialBecomesAnIntegration) {
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(Download());
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->imported_size(), 2);
  EXPECT_EQ(response->imported(0).action(), Imported::ACTION_CREATED);
  EXPECT_EQ(response->imported(0).json_path(), absl::StrCat(kCredentials, "[0]"));
  EXPECT_EQ(response->imported(1).integration().name(), "integrations/reports");
  ASSERT_EQ(response->skipped_size(), 1);
  EXPECT_EQ(response->skipped(0).json_path(), absl::StrCat(kCredentials, "[1]"));
  EXPECT_THAT(StoredIds(), ElementsAre("billing-s2s", "reports"));

  Integration billing = store_.Get("billing-s2s").value();
  EXPECT_EQ(billing.org_id, "ACME0123@AdobeOrg");
  EXPECT_TRUE(billing.include_org_header);
  EXPECT_EQ(billing.console, (ConsoleCredential{"25591412", "17950"}));
  ASSERT_EQ(billing.client_secret_info.size(), 1u);
  EXPECT_EQ(billing.client_secret_info[0].create_time, clock_.Now());
  EXPECT_EQ(store_.Get("reports").value().credentials.client_secrets.size(), 2u);
}

TEST_F(ImportTest, TheResponseCarriesNoSecret) {
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(Download());
  ASSERT_TRUE(response.ok()) << response.status();
  std::string bytes = response->SerializeAsString();
  EXPECT_THAT(bytes, Not(HasSubstr("p8e-billing-1")));
  EXPECT_THAT(bytes, Not(HasSubstr("p8e-reports-2")));
  EXPECT_EQ(response->imported(1).integration().credential_info().client_secrets_size(), 2);
}

TEST_F(ImportTest, ABadEntryCreatesNothingAndNamesItsJsonPath) {
  json file = Download();
  file["project"]["workspace"]["details"]["credentials"][2]["oauth_server_to_server"]
      ["client_secrets"] = json::array({"a", "b", "c"});
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(file);
  ASSERT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << response.status();
  EXPECT_EQ(FieldOf(response.status()),
            absl::StrCat(kCredentials, "[2].oauth_server_to_server.client_secrets"));
  EXPECT_THAT(StoredIds(), ElementsAre());
}

TEST_F(ImportTest, AnExistingIdIsAnErrorAndNothingElseIsCreated) {
  ASSERT_TRUE(Import(Download()).ok());
  ASSERT_TRUE(store_.Delete("billing-s2s", "").ok());
  absl::StatusOr<v1::ImportIntegrationsResponse> again = Import(Download());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("'reports'"));
  EXPECT_THAT(StoredIds(), ElementsAre("reports"));
}

TEST_F(ImportTest, UpdateReplacesFromTheFileAndKeepsWhatOnlyTokenbrokerKnows) {
  ASSERT_TRUE(Import(Download()).ok());
  Integration reports = store_.Get("reports").value();
  reports.state = IntegrationState::kDisabled;
  reports.sandbox_name = "prod";
  ASSERT_TRUE(store_.Update(reports, "").ok());
  absl::Time first_import = clock_.Now();
  clock_.Advance(absl::Hours(24));

  json file = Download();
  file["project"]["workspace"]["details"]["credentials"][2]["oauth_server_to_server"]
      ["client_secrets"] = json::array({"p8e-reports-2", "p8e-reports-3"});
  request_.set_allow_update(true);
  request_.set_credential_name("Reports");
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(file);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->imported_size(), 1);
  EXPECT_EQ(response->imported(0).action(), Imported::ACTION_UPDATED);

  Integration replaced = store_.Get("reports").value();
  EXPECT_EQ(replaced.state, IntegrationState::kDisabled);
  EXPECT_EQ(replaced.sandbox_name, "prod");
  ASSERT_EQ(replaced.client_secret_info.size(), 2u);
  EXPECT_EQ(replaced.client_secret_info[0].create_time, first_import);  // kept its age
  EXPECT_EQ(replaced.client_secret_info[1].create_time, clock_.Now());  // new
}

TEST_F(ImportTest, UpdateOfAJwtIntegrationFromAnS2sFileIsAFailedPrecondition) {
  Integration jwt;
  jwt.id = "reports";
  jwt.auth_method = AuthMethod::kJwt;
  ASSERT_TRUE(store_.Create(jwt).ok());
  request_.set_allow_update(true);
  request_.set_credential_name("Reports");
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(Download());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("integrations migrate"));
}

TEST_F(ImportTest, CredentialNamePicksOneAndIdNamesIt) {
  request_.set_credential_name("Reports");
  request_.set_integration_id("reports-prod");
  ASSERT_TRUE(Import(Download()).ok());
  EXPECT_THAT(StoredIds(), ElementsAre("reports-prod"));
}

TEST_F(ImportTest, AnUnknownCredentialNameIsNotFoundAndListsTheImportableOnes) {
  request_.set_credential_name("Nope");
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(Download());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("'Billing S2S'"));
}

TEST_F(ImportTest, AnIdForSeveralCredentialsIsInvalid) {
  request_.set_integration_id("one");
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(Download());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(response.status()), "integration_id");
  EXPECT_THAT(StoredIds(), ElementsAre());
}

TEST_F(ImportTest, TwoCredentialsWithOneNameAreInvalid) {
  json file = Download();
  file["project"]["workspace"]["details"]["credentials"][2]["name"] = "Billing S2S";
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(file);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()),
              HasSubstr(absl::StrCat(kCredentials, "[0]")));
  EXPECT_THAT(StoredIds(), ElementsAre());
}

TEST_F(ImportTest, ValidateOnlyShowsTheIntegrationsAndWritesNothing) {
  request_.set_validate_only(true);
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(Download());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->imported_size(), 2);
  EXPECT_EQ(response->imported(0).integration().client_id(), "billing-client");
  EXPECT_THAT(StoredIds(), ElementsAre());
}

TEST_F(ImportTest, TheRotationPeriodAppliesToEveryImportedIntegration) {
  request_.mutable_secret_rotation_period()->set_seconds(90 * 24 * 3600);
  ASSERT_TRUE(Import(Download()).ok());
  EXPECT_EQ(store_.Get("reports").value().secret_rotation_period, absl::Hours(90 * 24));
  request_.mutable_secret_rotation_period()->set_seconds(60);  // under 1h
  request_.set_allow_update(true);
  absl::StatusOr<v1::ImportIntegrationsResponse> refused = Import(Download());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldOf(refused.status()), HasSubstr("secret_rotation_period"));
}

TEST_F(ImportTest, AFileWithNothingImportableIsInvalid) {
  json file = Download();
  auto& credentials = file["project"]["workspace"]["details"]["credentials"];
  credentials = json::array({credentials[1]});
  absl::StatusOr<v1::ImportIntegrationsResponse> response = Import(file);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("no credential"));
}

}  // namespace
}  // namespace tokenbroker
