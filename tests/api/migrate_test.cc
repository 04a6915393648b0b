// MigrateIntegration over an in-memory store and a mocked exchanger, without
// gRPC: a JWT integration becomes OAuth S2S only after IMS minted a token
// with the new flow, and a refusal or a concurrent change leaves it as it was.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/integration_service.h"
#include "server/common/error_details.h"
#include "server/lifecycle/jwt_migration.h"
#include "server/store/memory_credential_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_exchanger.h"

namespace tokenbroker {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kKey[] = "-----BEGIN PRIVATE KEY-----\nnot-parsed-here\n-----END PRIVATE KEY-----\n";

std::string FieldOf(const absl::Status& status) {
  auto info = GetErrorInfo(status);
  if (!info || !info->metadata().contains("field")) return "(no field)";
  return info->metadata().at("field");
}

Integration JwtIntegration() {
  Integration in;
  in.id = "legacy";
  in.display_name = "Legacy analytics";
  in.auth_method = AuthMethod::kJwt;
  in.client_id = "legacy-client";
  in.org_id = "ORG1@AdobeOrg";
  in.technical_account_id = "TECH1@techacct.adobe.com";
  in.metascopes = {"ent_analytics_bulk_ingest_sdk"};
  in.ims_url = "https://ims-na1-stg1.adobelogin.com";
  in.console = ConsoleCredential{"25591412", "17950"};
  in.credentials.client_secrets = {SecretString(std::string("jwt-client-secret"))};
  in.credentials.private_key_pem = SecretString(std::string(kKey));
  return in;
}

v1::MigrateIntegrationRequest Request(const std::vector<std::string>& scopes,
                                      const std::string& etag = "") {
  v1::MigrateIntegrationRequest request;
  request.set_name("integrations/legacy");
  for (const std::string& scope : scopes) request.add_scopes(scope);
  request.set_etag(etag);
  return request;
}

AccessToken Minted(const std::string& value) {
  AccessToken token;
  token.access_token = SecretString(value);
  token.issue_time = absl::FromUnixSeconds(1700000000);
  token.expire_time = token.issue_time + absl::Hours(24);
  token.debug_id = "debug-1";
  return token;
}

// IMS refusing the S2S credential as the exchanger reports it.
absl::Status ImsRejected(const std::string& ims_error) {
  return WithErrorInfo(absl::FailedPreconditionError("IMS rejected integration 'legacy': " +
                                                     ims_error + " (x-debug-id: d-1)"),
                       kReasonImsRejected, {{"ims_error", ims_error}});
}

class MigrateTest : public ::testing::Test {
 protected:
  MigrateTest()
      : migrator_(&store_, /*maintenance=*/nullptr, &exchanger_, &clock_),
        service_(&store_, /*executor=*/nullptr, ValidationOptions(), /*api=*/nullptr, &clock_,
                 /*secrets=*/nullptr, &migrator_) {
    absl::StatusOr<Integration> created = store_.Create(JwtIntegration());
    EXPECT_TRUE(created.ok()) << created.status();
    before_ = created.value_or(Integration{});
  }

  // Everything stored about the integration, secrets included.
  std::string Snapshot() {
    absl::StatusOr<Integration> stored = store_.Get("legacy");
    if (!stored.ok()) return std::string(stored.status().message());
    return ToProto(*stored).SerializeAsString() +
           std::string(stored->credentials.private_key_pem.value());
  }

  testing::FakeClock clock_;
  InMemoryCredentialStore store_{&clock_};
  ::testing::StrictMock<testing::MockTokenExchanger> exchanger_;
  JwtMigrator migrator_;
  IntegrationServiceImpl service_;
  Integration before_;
};

TEST_F(MigrateTest, JwtBecomesServerToServerKeepingItsIdentityWithoutTheKey) {
  // Minted with the converted credential, while the store still holds JWT.
  EXPECT_CALL(exchanger_, Exchange(_)).WillOnce([this](const Integration& probe) {
    EXPECT_EQ(probe.auth_method, AuthMethod::kOAuthServerToServer);
    EXPECT_THAT(probe.scopes, ElementsAre("openid", "AdobeID"));
    EXPECT_TRUE(probe.credentials.private_key_pem.empty());
    EXPECT_EQ(store_.Get("legacy")->auth_method, AuthMethod::kJwt);
    return Minted("s2s-token");
  });
  absl::StatusOr<v1::Integration> migrated = service_.Migrate(Request({"openid", "AdobeID"}));
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_EQ(migrated->auth_method(), v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER);
  EXPECT_THAT(migrated->scopes(), ElementsAre("openid", "AdobeID"));
  EXPECT_THAT(migrated->metascopes(), IsEmpty());
  EXPECT_THAT(migrated->credential_info().private_key_fingerprint(), IsEmpty());
  EXPECT_NE(migrated->etag(), before_.etag);

  Integration stored = store_.Get("legacy").value();
  EXPECT_EQ(stored.auth_method, AuthMethod::kOAuthServerToServer);
  EXPECT_TRUE(stored.credentials.private_key_pem.empty());
  EXPECT_THAT(stored.metascopes, IsEmpty());
  EXPECT_EQ(stored.client_id, "legacy-client");
  EXPECT_EQ(stored.org_id, "ORG1@AdobeOrg");
  EXPECT_EQ(stored.technical_account_id, "TECH1@techacct.adobe.com");
  EXPECT_EQ(stored.display_name, "Legacy analytics");
  EXPECT_EQ(stored.ims_url, "https://ims-na1-stg1.adobelogin.com");
  EXPECT_EQ(stored.console, (ConsoleCredential{"25591412", "17950"}));
  ASSERT_EQ(stored.credentials.client_secrets.size(), 1u);
  EXPECT_EQ(stored.credentials.client_secrets[0].value(), "jwt-client-secret");
  // The broker serves the minted token without another exchange.
  absl::StatusOr<std::optional<AccessToken>> token = store_.GetToken("legacy");
  ASSERT_TRUE(token.ok() && token->has_value()) << token.status();
  EXPECT_EQ((*token)->access_token.value(), "s2s-token");
}

TEST_F(MigrateTest, GivenClientSecretReplacesTheStoredOnes) {
  EXPECT_CALL(exchanger_, Exchange(_)).WillOnce([](const Integration& probe) {
    EXPECT_EQ(probe.credentials.client_secrets.size(), 1u);
    EXPECT_EQ(probe.credentials.client_secrets.front().value(), "s2s-secret");
    return Minted("s2s-token");
  });
  v1::MigrateIntegrationRequest request = Request({"openid"});
  request.set_client_secret("s2s-secret");
  ASSERT_TRUE(service_.Migrate(request).ok());
  Integration stored = store_.Get("legacy").value();
  ASSERT_EQ(stored.credentials.client_secrets.size(), 1u);
  EXPECT_EQ(stored.credentials.client_secrets[0].value(), "s2s-secret");
  ASSERT_EQ(stored.client_secret_info.size(), 1u);
  EXPECT_EQ(stored.client_secret_info[0].create_time, clock_.Now());
}

TEST_F(MigrateTest, RefusedByImsLeavesTheStoredIntegrationUntouched) {
  const std::string before = Snapshot();
  EXPECT_CALL(exchanger_, Exchange(_)).WillOnce([](const Integration&) {
    return ImsRejected("invalid_scope");
  });
  absl::StatusOr<v1::Integration> refused = service_.Migrate(Request({"openid", "not_granted"}));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  const std::string message(refused.status().message());
  EXPECT_THAT(message, HasSubstr("invalid_scope"));
  EXPECT_THAT(message, HasSubstr("unchanged (still JWT)"));
  EXPECT_THAT(message, HasSubstr("Developer Console"));
  // IMS's error stays machine-readable.
  EXPECT_EQ(GetErrorInfo(refused.status())->metadata().at("ims_error"), "invalid_scope");
  EXPECT_EQ(Snapshot(), before);
  Integration stored = store_.Get("legacy").value();
  EXPECT_EQ(stored.etag, before_.etag);
  EXPECT_EQ(stored.credentials.private_key_pem.value(), kKey);
  EXPECT_FALSE(store_.GetToken("legacy")->has_value());
}

TEST_F(MigrateTest, UnreachableImsIsUnavailableAndLeavesTheIntegrationUntouched) {
  const std::string before = Snapshot();
  EXPECT_CALL(exchanger_, Exchange(_)).WillOnce([](const Integration&) {
    return absl::UnavailableError("IMS request for integration 'legacy' failed: connect refused");
  });
  absl::StatusOr<v1::Integration> result = service_.Migrate(Request({"openid"}));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("try again"));
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(MigrateTest, ServerToServerIntegrationIsFailedPreconditionWithoutAnExchange) {
  Integration s2s = JwtIntegration();
  s2s.id = "modern";
  s2s.auth_method = AuthMethod::kOAuthServerToServer;
  s2s.scopes = {"openid"};
  s2s.metascopes.clear();
  s2s.credentials.private_key_pem = SecretString();
  ASSERT_TRUE(store_.Create(s2s).ok());
  v1::MigrateIntegrationRequest request = Request({"openid"});
  request.set_name("integrations/modern");
  absl::StatusOr<v1::Integration> result = service_.Migrate(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("'modern' already uses OAuth Server-to-Server"));
}

TEST_F(MigrateTest, BadScopesAreInvalidArgumentNamingTheFieldWithoutAnExchange) {
  absl::StatusOr<v1::Integration> none = service_.Migrate(Request({}));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(none.status()), "scopes");

  absl::StatusOr<v1::Integration> spaced = service_.Migrate(Request({"openid", "Adobe ID"}));
  EXPECT_EQ(spaced.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldOf(spaced.status()), StartsWith("scopes"));
  EXPECT_THAT(std::string(spaced.status().message()), HasSubstr("spaces"));
  EXPECT_EQ(store_.Get("legacy")->etag, before_.etag);
}

TEST_F(MigrateTest, OversizedClientSecretIsInvalidArgumentNamingTheField) {
  v1::MigrateIntegrationRequest request = Request({"openid"});
  request.set_client_secret(std::string(1025, 's'));
  absl::StatusOr<v1::Integration> result = service_.Migrate(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(result.status()), "client_secret");
  EXPECT_THAT(std::string(result.status().message()), Not(HasSubstr("sss")));
}

TEST_F(MigrateTest, ChangedWhileImsMintedIsAbortedAndTheOtherChangeSurvives) {
  EXPECT_CALL(exchanger_, Exchange(_)).WillOnce([this](const Integration&) {
    // Another caller replaces the key meanwhile.
    Integration other = store_.Get("legacy").value();
    other.display_name = "changed-concurrently";
    EXPECT_TRUE(store_.Update(other, other.etag).ok());
    return Minted("s2s-token");
  });
  absl::StatusOr<v1::Integration> result = service_.Migrate(Request({"openid"}));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted) << result.status();
  Integration stored = store_.Get("legacy").value();
  EXPECT_EQ(stored.auth_method, AuthMethod::kJwt);
  EXPECT_EQ(stored.display_name, "changed-concurrently");
  EXPECT_FALSE(stored.credentials.private_key_pem.empty());
}

TEST_F(MigrateTest, StaleEtagIsAbortedWithoutAnExchange) {
  absl::StatusOr<v1::Integration> result = service_.Migrate(Request({"openid"}, "stale-etag"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("etag"));
}

TEST_F(MigrateTest, CurrentEtagMigrates) {
  EXPECT_CALL(exchanger_, Exchange(_)).WillOnce([](const Integration&) {
    return Minted("s2s-token");
  });
  absl::StatusOr<v1::Integration> result = service_.Migrate(Request({"openid"}, before_.etag));
  EXPECT_TRUE(result.ok()) << result.status();
}

TEST_F(MigrateTest, UnknownIntegrationIsNotFound) {
  v1::MigrateIntegrationRequest request = Request({"openid"});
  request.set_name("integrations/nobody");
  EXPECT_EQ(service_.Migrate(request).status().code(), absl::StatusCode::kNotFound);
  request.set_name("nobody");
  absl::StatusOr<v1::Integration> malformed = service_.Migrate(request);
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(malformed.status()), "name");
}

TEST(ConvertToServerToServerTest, SameSecretGivenAgainKeepsItsAge) {
  Integration jwt = JwtIntegration();
  jwt.client_secret_info = {ClientSecretInfo{absl::FromUnixSeconds(1), "uuid-1"}};
  Integration s2s = ConvertToServerToServer(
      jwt, {"openid"}, SecretString(std::string("jwt-client-secret")), absl::FromUnixSeconds(99));
  ASSERT_EQ(s2s.client_secret_info.size(), 1u);
  EXPECT_EQ(s2s.client_secret_info[0].create_time, absl::FromUnixSeconds(1));
  EXPECT_EQ(s2s.client_secret_info[0].console_uuid, "uuid-1");
}

}  // namespace
}  // namespace tokenbroker
