#include "server/auth/authorizer.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::tokenbroker::testing::TempDir;
using ::tokenbroker::testing::WriteFile;

constexpr char kReaderToken[] = "reader-token-7f3a";
constexpr char kCertReader[] = "spiffe://example.org/ns/billing/sa/api";

CallerCredentials Certificate(const std::string& identity) {
  CallerCredentials credentials;
  credentials.certificate_identity = identity;
  return credentials;
}

CallerCredentials Bearer(const std::string& token) {
  CallerCredentials credentials;
  credentials.bearer_token = token;
  return credentials;
}

// An Authorizer over a policy file in a private temp dir.
class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WritePolicy(PolicyWithReaderOf("acme"));
    absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::FromFile(path_);
    ASSERT_TRUE(authorizer.ok()) << authorizer.status();
    authorizer_ = *std::move(authorizer);
  }

  std::string PolicyWithReaderOf(const std::string& integration) {
    return absl::StrCat(R"({"version": 1,
      "caller_tokens": [{"identity": "svc-reader", "hash": ")",
                        Policy::HashToken(kReaderToken), R"("}],
      "bindings": [
        {"identity": "svc-reader", "role": "reader", "integrations": [")",
                        integration, R"("]},
        {"identity": "spiffe://example.org/ns/billing/*", "role": "reader",
         "integrations": ["billing-*"]},
        {"identity": "admin.example.org", "role": "admin"},
        {"identity": "auditor.example.org", "role": "auditor"}]})");
  }

  void WritePolicy(const std::string& json) { WriteFile(path_, json); }

  TempDir dir_;
  const std::string path_ = dir_.File("policy.json");
  std::unique_ptr<Authorizer> authorizer_;
};

TEST(AuthorizerWithoutPolicyTest, AuthenticateWithoutCredentialsIsAnonymous) {
  Authorizer authorizer;
  EXPECT_FALSE(authorizer.enforcing());
  absl::StatusOr<std::string> identity = authorizer.Authenticate(CallerCredentials());
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "anonymous");
}

TEST(AuthorizerWithoutPolicyTest, AuthenticateUsesTheCertificateIdentityWhenPresented) {
  Authorizer authorizer;
  absl::StatusOr<std::string> identity = authorizer.Authenticate(Certificate("svc.example.org"));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "svc.example.org");
}

TEST(AuthorizerWithoutPolicyTest, AuthenticateIgnoresABearerTokenThereIsNoPolicyFor) {
  Authorizer authorizer;
  absl::StatusOr<std::string> identity = authorizer.Authenticate(Bearer("whatever"));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "anonymous");
}

TEST(AuthorizerWithoutPolicyTest, AuthenticateMalformedAuthorizationIsUnauthenticated) {
  Authorizer authorizer;
  CallerCredentials credentials;
  credentials.malformed_authorization = true;
  absl::StatusOr<std::string> identity = authorizer.Authenticate(credentials);
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("Bearer <caller token>"));
}

TEST(AuthorizerWithoutPolicyTest, AuthorizeAllowsEverything) {
  Authorizer authorizer;
  EXPECT_TRUE(authorizer.Authorize("anonymous", Permission::kManageIntegrations, "").ok());
  EXPECT_TRUE(authorizer.Authorize("anonymous", Permission::kReadTokens, "acme").ok());
  EXPECT_TRUE(authorizer.Reload().ok());
}

TEST(AuthorizerFromFileTest, FromFileMissingIsNotFound) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
      Authorizer::FromFile(dir.File("missing.json"));
  ASSERT_FALSE(authorizer.ok());
  EXPECT_EQ(authorizer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(authorizer.status().message()), HasSubstr("missing.json"));
}

TEST(AuthorizerFromFileTest, FromFileInvalidIsInvalidArgument) {
  TempDir dir;
  WriteFile(dir.File("policy.json"), R"({"version": 3})");
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
      Authorizer::FromFile(dir.File("policy.json"));
  ASSERT_FALSE(authorizer.ok());
  EXPECT_EQ(authorizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(authorizer.status().message()), HasSubstr("version: must be 1"));
}

TEST_F(AuthorizerTest, AuthenticateKnownCallerTokenIsItsIdentity) {
  EXPECT_TRUE(authorizer_->enforcing());
  absl::StatusOr<std::string> identity = authorizer_->Authenticate(Bearer(kReaderToken));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "svc-reader");
}

TEST_F(AuthorizerTest, AuthenticateUnknownCallerTokenIsUnauthenticated) {
  absl::StatusOr<std::string> identity = authorizer_->Authenticate(Bearer("guessed"));
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("unknown caller token"));
  EXPECT_THAT(std::string(identity.status().message()), Not(HasSubstr("guessed")));
}

TEST_F(AuthorizerTest, AuthenticateCertificateIdentityIsUsedWithoutAToken) {
  absl::StatusOr<std::string> identity = authorizer_->Authenticate(Certificate(kCertReader));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, kCertReader);
}

TEST_F(AuthorizerTest, AuthenticateCallerTokenTakesPrecedenceOverTheCertificate) {
  CallerCredentials both = Certificate(kCertReader);
  both.bearer_token = kReaderToken;
  absl::StatusOr<std::string> identity = authorizer_->Authenticate(both);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "svc-reader");
}

TEST_F(AuthorizerTest, AuthenticateUnknownTokenIsRejectedEvenWithAValidCertificate) {
  CallerCredentials both = Certificate(kCertReader);
  both.bearer_token = "guessed";
  absl::StatusOr<std::string> identity = authorizer_->Authenticate(both);
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("unknown caller token"));
}

TEST_F(AuthorizerTest, AuthenticateMalformedAuthorizationIsRejectedEvenWithACertificate) {
  CallerCredentials credentials = Certificate(kCertReader);
  credentials.malformed_authorization = true;
  absl::StatusOr<std::string> identity = authorizer_->Authenticate(credentials);
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("Bearer <caller token>"));
}

TEST_F(AuthorizerTest, AuthenticateWithoutCredentialsIsUnauthenticatedWhileEnforcing) {
  absl::StatusOr<std::string> identity = authorizer_->Authenticate(CallerCredentials());
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("no caller credentials"));
}

TEST_F(AuthorizerTest, AuthorizeAllowsWhatTheRoleGrants) {
  EXPECT_TRUE(authorizer_->Authorize("svc-reader", Permission::kReadTokens, "acme").ok());
  EXPECT_TRUE(authorizer_->Authorize(kCertReader, Permission::kReadTokens, "billing-eu").ok());
  EXPECT_TRUE(
      authorizer_->Authorize("admin.example.org", Permission::kManageIntegrations, "").ok());
  EXPECT_TRUE(authorizer_->Authorize("admin.example.org", Permission::kReadIntegrations, "").ok());
  EXPECT_TRUE(
      authorizer_->Authorize("auditor.example.org", Permission::kReadIntegrations, "").ok());
}

TEST_F(AuthorizerTest, AuthorizeTokensOfAnotherIntegrationIsDeniedNamingCallerAndIntegration) {
  absl::Status denied = authorizer_->Authorize("svc-reader", Permission::kReadTokens, "other");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.message()), HasSubstr("caller 'svc-reader' is not granted"));
  EXPECT_THAT(std::string(denied.message()), HasSubstr("tokens of the integration"));
  EXPECT_THAT(std::string(denied.message()), HasSubstr("for integrations/other"));
}

TEST_F(AuthorizerTest, AuthorizeAuditorManagingIntegrationsIsDenied) {
  absl::Status denied =
      authorizer_->Authorize("auditor.example.org", Permission::kManageIntegrations, "");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.message()), HasSubstr("managing integrations (role admin)"));
  EXPECT_THAT(std::string(denied.message()), Not(HasSubstr("integrations/")));
}

TEST_F(AuthorizerTest, AuthorizeAdminReadingTokensIsDenied) {
  absl::Status denied =
      authorizer_->Authorize("admin.example.org", Permission::kReadTokens, "acme");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.message()), HasSubstr("(role reader) for integrations/acme"));
}

TEST_F(AuthorizerTest, AuthorizeAnonymousIsDeniedWhileEnforcing) {
  absl::Status denied = authorizer_->Authorize("anonymous", Permission::kReadIntegrations, "");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.message()), HasSubstr("reading integrations"));
}

TEST_F(AuthorizerTest, ReloadAppliesAValidNewPolicy) {
  WritePolicy(PolicyWithReaderOf("other"));
  ASSERT_TRUE(authorizer_->Reload().ok());
  EXPECT_TRUE(authorizer_->Authorize("svc-reader", Permission::kReadTokens, "other").ok());
  EXPECT_EQ(authorizer_->Authorize("svc-reader", Permission::kReadTokens, "acme").code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, ReloadInvalidFileIsRejectedAndTheLastValidPolicyStays) {
  WritePolicy(R"({"version": 1, "bindings": [{"identity": "x", "role": "wizard"}]})");
  absl::Status reloaded = authorizer_->Reload();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reloaded.message()),
              HasSubstr("role must be admin, reader, auditor or proxy"));
  EXPECT_TRUE(authorizer_->Authorize("svc-reader", Permission::kReadTokens, "acme").ok());
  EXPECT_EQ(*authorizer_->Authenticate(Bearer(kReaderToken)), "svc-reader");
}

TEST_F(AuthorizerTest, ReloadOfADeletedFileIsNotFoundAndTheLastValidPolicyStays) {
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  EXPECT_EQ(authorizer_->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(authorizer_->Authorize("svc-reader", Permission::kReadTokens, "acme").ok());
}

TEST(PermissionNameTest, NamesTheRoleThatGrantsEachPermission) {
  EXPECT_THAT(PermissionName(Permission::kReadTokens), HasSubstr("role reader"));
  EXPECT_THAT(PermissionName(Permission::kReadIntegrations), HasSubstr("role auditor or admin"));
  EXPECT_THAT(PermissionName(Permission::kManageIntegrations), HasSubstr("role admin"));
}

}  // namespace
}  // namespace tokenbroker
