#include "server/api/convert.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "tests/testing/stack.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::tokenbroker::testing::GenerateTestKeyPair;

// One RSA key for the whole binary: generating one takes a while.
const std::string& TestPrivateKey() {
  static const std::string* key = new std::string(GenerateTestKeyPair().private_key_pem);
  return *key;
}

Integration OAuth() {
  Integration in;
  in.id = "acme";
  in.display_name = "Acme";
  in.auth_method = AuthMethod::kOAuthServerToServer;
  in.client_id = "client-acme";
  in.org_id = "ORG@AdobeOrg";
  in.scopes = {"openid", "AdobeID"};
  in.credentials.client_secrets.emplace_back(std::string("secret-1"));
  return in;
}

Integration Jwt() {
  Integration in = OAuth();
  in.auth_method = AuthMethod::kJwt;
  in.scopes.clear();
  in.metascopes = {"ent_dataservices_sdk"};
  in.technical_account_id = "T@techacct.adobe.com";
  in.credentials.private_key_pem = SecretString(TestPrivateKey());
  return in;
}

// Checks `status` is INVALID_ARGUMENT naming `field` (message and ErrorInfo)
// and containing `fragment`.
void ExpectInvalidField(const absl::Status& status, const std::string& field,
                        const std::string& fragment) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("invalid ", field, ": ")));
  EXPECT_THAT(std::string(status.message()), HasSubstr(fragment));
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value()) << status;
  EXPECT_EQ(info->metadata().at("field"), field);
}

// ---- Names and ids ---------------------------------------------------------

TEST(ParseIntegrationNameTest, ParseIntegrationNameReturnsTheId) {
  absl::StatusOr<std::string> id = ParseIntegrationName("integrations/acme-2", "name");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "acme-2");
  EXPECT_EQ(IntegrationName("acme-2"), "integrations/acme-2");
}

TEST(ParseIntegrationNameTest, ParseIntegrationNameEmptyIsInvalidArgumentRequired) {
  ExpectInvalidField(ParseIntegrationName("", "name").status(), "name", "required");
}

TEST(ParseIntegrationNameTest, ParseIntegrationNameWithoutThePrefixIsInvalidArgument) {
  ExpectInvalidField(ParseIntegrationName("acme", "integration.name").status(), "integration.name",
                     "must have the form integrations/{integration_id}");
  ExpectInvalidField(ParseIntegrationName("projects/x/integrations/acme", "name").status(), "name",
                     "must have the form");
}

TEST(ParseIntegrationNameTest, ParseIntegrationNameWithABadIdIsInvalidArgumentNamingTheField) {
  ExpectInvalidField(ParseIntegrationName("integrations/", "name").status(), "name", "required");
  ExpectInvalidField(ParseIntegrationName("integrations/a/b", "name").status(), "name",
                     "only lower-case letters");
}

TEST(ValidateIntegrationIdTest, ValidateIntegrationIdAcceptsRfc1123Labels) {
  for (const std::string& id :
       std::vector<std::string>{"a", "acme", "acme-2", "a1-b2-c3", std::string(63, 'a')}) {
    EXPECT_TRUE(ValidateIntegrationId(id, "integration_id").ok()) << id;
  }
}

TEST(ValidateIntegrationIdTest, ValidateIntegrationIdRejectsEachRuleWithItsReason) {
  ExpectInvalidField(ValidateIntegrationId("", "integration_id"), "integration_id", "required");
  ExpectInvalidField(ValidateIntegrationId(std::string(64, 'a'), "integration_id"),
                     "integration_id", "longer than 63 characters");
  ExpectInvalidField(ValidateIntegrationId("1acme", "integration_id"), "integration_id",
                     "must start with a lower-case letter");
  ExpectInvalidField(ValidateIntegrationId("-acme", "integration_id"), "integration_id",
                     "must start with a lower-case letter");
  ExpectInvalidField(ValidateIntegrationId("acme-", "integration_id"), "integration_id",
                     "must not end with '-'");
  ExpectInvalidField(ValidateIntegrationId("Acme", "integration_id"), "integration_id",
                     "must start with a lower-case letter");
  ExpectInvalidField(ValidateIntegrationId("ac_me", "integration_id"), "integration_id",
                     "only lower-case letters, digits and '-' are allowed");
  ExpectInvalidField(ValidateIntegrationId("acMe", "integration_id"), "integration_id",
                     "only lower-case letters");
}

// ---- ValidateIntegration ---------------------------------------------------

TEST(ValidateIntegrationTest, ValidateIntegrationAcceptsAValidOAuthIntegration) {
  absl::Status status = ValidateIntegration(OAuth(), {}, "integration.");
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateIntegrationTest, ValidateIntegrationAcceptsAValidJwtIntegration) {
  absl::Status status = ValidateIntegration(Jwt(), {}, "integration.");
  EXPECT_TRUE(status.ok()) << status;
}

// One invalid integration and the error it must produce.
struct InvalidCase {
  std::string name;
  std::function<Integration()> make;
  std::string field;     // without the "integration." prefix
  std::string fragment;  // of the description
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class ValidateIntegrationErrorTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ValidateIntegrationErrorTest, ValidateIntegrationIsInvalidArgumentNamingTheField) {
  absl::Status status = ValidateIntegration(GetParam().make(), {}, "integration.");
  ExpectInvalidField(status, "integration." + GetParam().field, GetParam().fragment);
}

template <typename F>
std::function<Integration()> OAuthWith(F change) {
  return [change] {
    Integration in = OAuth();
    change(in);
    return in;
  };
}

template <typename F>
std::function<Integration()> JwtWith(F change) {
  return [change] {
    Integration in = Jwt();
    change(in);
    return in;
  };
}

INSTANTIATE_TEST_SUITE_P(
    EveryRule, ValidateIntegrationErrorTest,
    ::testing::Values(
        InvalidCase{"DisplayNameTooLong",
                    OAuthWith([](Integration& in) { in.display_name = std::string(129, 'x'); }),
                    "display_name", "longer than 128 bytes"},
        InvalidCase{"DisplayNameControlCharacter",
                    OAuthWith([](Integration& in) { in.display_name = "a\nb"; }), "display_name",
                    "contains control characters"},
        InvalidCase{"DisplayNameDelete",
                    OAuthWith([](Integration& in) { in.display_name = "a\x7f"; }), "display_name",
                    "contains control characters"},
        InvalidCase{"AuthMethodUnspecified",
                    OAuthWith([](Integration& in) { in.auth_method = AuthMethod::kUnspecified; }),
                    "auth_method",
                    "required: AUTH_METHOD_OAUTH_SERVER_TO_SERVER or AUTH_METHOD_JWT"},
        InvalidCase{"ClientIdMissing", OAuthWith([](Integration& in) { in.client_id.clear(); }),
                    "client_id", "required"},
        InvalidCase{"ClientIdTooLong",
                    OAuthWith([](Integration& in) { in.client_id = std::string(257, 'c'); }),
                    "client_id", "longer than 256 bytes"},
        InvalidCase{"OrgIdMissing", OAuthWith([](Integration& in) { in.org_id.clear(); }), "org_id",
                    "required"},
        InvalidCase{"TechnicalAccountMissingForJwt",
                    JwtWith([](Integration& in) { in.technical_account_id.clear(); }),
                    "technical_account_id", "required"},
        InvalidCase{"ScopesMissingForOAuth", OAuthWith([](Integration& in) { in.scopes.clear(); }),
                    "scopes", "at least one value is required"},
        InvalidCase{"ScopeWithComma", OAuthWith([](Integration& in) {
                      in.scopes = {"openid", "a,b"};
                    }),
                    "scopes[1]", "must not contain ',' or spaces"},
        InvalidCase{"ScopeWithSpace", OAuthWith([](Integration& in) { in.scopes = {"a b"}; }),
                    "scopes[0]", "must not contain ',' or spaces"},
        InvalidCase{"ScopeEmpty", OAuthWith([](Integration& in) { in.scopes = {""}; }), "scopes[0]",
                    "required"},
        InvalidCase{"TooManyScopes",
                    OAuthWith([](Integration& in) { in.scopes.assign(101, "openid"); }), "scopes",
                    "more than 100 values"},
        InvalidCase{"MetascopesMissingForJwt",
                    JwtWith([](Integration& in) { in.metascopes.clear(); }), "metascopes",
                    "at least one value is required"},
        InvalidCase{"ImsUrlPlainHttp",
                    OAuthWith([](Integration& in) { in.ims_url = "http://ims.example"; }),
                    "ims_url", "http:// is refused"},
        InvalidCase{"ImsUrlOtherScheme",
                    OAuthWith([](Integration& in) { in.ims_url = "ftp://ims.example"; }), "ims_url",
                    "must be an https:// URL"},
        InvalidCase{"ImsUrlTooLong", OAuthWith([](Integration& in) {
                      in.ims_url = "https://" + std::string(505, 'i');
                    }),
                    "ims_url", "longer than 512 bytes"},
        InvalidCase{"SandboxTooLong",
                    OAuthWith([](Integration& in) { in.sandbox_name = std::string(129, 's'); }),
                    "sandbox_name", "longer than 128 bytes"},
        InvalidCase{"NoClientSecret",
                    OAuthWith([](Integration& in) { in.credentials.client_secrets.clear(); }),
                    "credentials.client_secrets", "one or two client secrets are required"},
        InvalidCase{"ThreeClientSecrets", OAuthWith([](Integration& in) {
                      in.credentials.client_secrets.emplace_back(std::string("s2"));
                      in.credentials.client_secrets.emplace_back(std::string("s3"));
                    }),
                    "credentials.client_secrets", "one or two client secrets are required"},
        InvalidCase{"EmptyClientSecret", OAuthWith([](Integration& in) {
                      in.credentials.client_secrets.emplace_back(std::string());
                    }),
                    "credentials.client_secrets[1]", "must not be empty"},
        InvalidCase{"ClientSecretTooLong", OAuthWith([](Integration& in) {
                      in.credentials.client_secrets[0] = SecretString(std::string(1025, 'k'));
                    }),
                    "credentials.client_secrets[0]", "longer than 1024 bytes"},
        InvalidCase{"JwtWithoutPrivateKey",
                    JwtWith([](Integration& in) { in.credentials.private_key_pem.Wipe(); }),
                    "credentials.private_key_pem", "required for AUTH_METHOD_JWT"},
        InvalidCase{"JwtWithGarbageKey", JwtWith([](Integration& in) {
                      in.credentials.private_key_pem = SecretString(std::string("not a key"));
                    }),
                    "credentials.private_key_pem", "not an unencrypted PEM RSA private key"},
        InvalidCase{"OAuthWithPrivateKey", OAuthWith([](Integration& in) {
                      in.credentials.private_key_pem = SecretString(TestPrivateKey());
                    }),
                    "credentials.private_key_pem",
                    "only AUTH_METHOD_JWT integrations take a private key"}),
    [](const auto& info) { return info.param.name; });

TEST(ValidateIntegrationTest, ValidateIntegrationAcceptsHttpImsUrlOnlyWhenAllowed) {
  Integration in = OAuth();
  in.ims_url = "http://127.0.0.1:8080";
  EXPECT_EQ(ValidateIntegration(in, {}, "").code(), absl::StatusCode::kInvalidArgument);
  ValidationOptions allow;
  allow.allow_insecure_ims_http = true;
  EXPECT_TRUE(ValidateIntegration(in, allow, "").ok());
  in.ims_url = "https://ims-na1.adobelogin.com";
  EXPECT_TRUE(ValidateIntegration(in, {}, "").ok());
}

TEST(ValidateIntegrationTest, ValidateIntegrationUsesThePrefixInFieldPaths) {
  Integration in = OAuth();
  in.client_id.clear();
  ExpectInvalidField(ValidateIntegration(in, {}, ""), "client_id", "required");
}

TEST(ValidateIntegrationTest, ValidateIntegrationErrorsNeverCarryTheSecret) {
  Integration in = OAuth();
  in.credentials.client_secrets[0] = SecretString("x" + std::string(1100, 'S'));
  absl::Status status = ValidateIntegration(in, {}, "integration.");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("SSSS")));
}

// ---- FromProto / ToProto ---------------------------------------------------

v1::Integration FullProto() {
  v1::Integration proto;
  proto.set_name("integrations/ignored");
  proto.set_display_name("Acme");
  proto.set_auth_method(v1::AUTH_METHOD_JWT);
  proto.set_client_id("client-acme");
  proto.set_org_id("ORG@AdobeOrg");
  proto.set_technical_account_id("T@techacct.adobe.com");
  proto.add_scopes("openid");
  proto.add_metascopes("ent_dataservices_sdk");
  proto.add_metascopes("ent_analytics_bulk_ingest_sdk");
  proto.set_ims_url("https://ims-na1-stg1.adobelogin.com");
  proto.set_sandbox_name("prod");
  proto.set_state(v1::Integration::STATE_DISABLED);
  proto.set_include_org_header(true);
  proto.set_etag("client-etag");
  proto.mutable_credentials()->add_client_secrets("secret-1");
  proto.mutable_credentials()->add_client_secrets("secret-2");
  proto.mutable_credentials()->set_private_key_pem(TestPrivateKey());
  return proto;
}

TEST(FromProtoTest, FromProtoCopiesEveryInputField) {
  Integration in = FromProto(FullProto());
  EXPECT_EQ(in.display_name, "Acme");
  EXPECT_EQ(in.auth_method, AuthMethod::kJwt);
  EXPECT_EQ(in.client_id, "client-acme");
  EXPECT_EQ(in.org_id, "ORG@AdobeOrg");
  EXPECT_EQ(in.technical_account_id, "T@techacct.adobe.com");
  EXPECT_THAT(in.scopes, ElementsAre("openid"));
  EXPECT_THAT(in.metascopes, ElementsAre("ent_dataservices_sdk", "ent_analytics_bulk_ingest_sdk"));
  EXPECT_EQ(in.ims_url, "https://ims-na1-stg1.adobelogin.com");
  EXPECT_EQ(in.sandbox_name, "prod");
  EXPECT_EQ(in.state, IntegrationState::kDisabled);
  EXPECT_TRUE(in.include_org_header);
  ASSERT_EQ(in.credentials.client_secrets.size(), 2u);
  EXPECT_EQ(in.credentials.client_secrets[0].value(), "secret-1");
  EXPECT_EQ(in.credentials.client_secrets[1].value(), "secret-2");
  EXPECT_EQ(in.credentials.private_key_pem.value(), TestPrivateKey());
}

TEST(FromProtoTest, FromProtoIgnoresOutputOnlyFields) {
  Integration in = FromProto(FullProto());
  EXPECT_EQ(in.id, "");    // the id comes from the request's integration_id
  EXPECT_EQ(in.etag, "");  // set by the store
  EXPECT_EQ(in.create_time, absl::InfinitePast());
}

TEST(FromProtoTest, FromProtoMapsUnsetEnumsToUnspecifiedAndActive) {
  Integration in = FromProto(v1::Integration());
  EXPECT_EQ(in.auth_method, AuthMethod::kUnspecified);
  EXPECT_EQ(in.state, IntegrationState::kActive);
  v1::Integration oauth;
  oauth.set_auth_method(v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER);
  oauth.set_state(v1::Integration::STATE_ACTIVE);
  EXPECT_EQ(FromProto(oauth).auth_method, AuthMethod::kOAuthServerToServer);
  EXPECT_EQ(FromProto(oauth).state, IntegrationState::kActive);
}

TEST(ToProtoTest, ToProtoWritesEveryFieldAndTheResourceName) {
  Integration in = FromProto(FullProto());
  in.id = "acme";
  in.etag = "etag-7";
  in.create_time = absl::FromUnixSeconds(1'800'000'000) + absl::Milliseconds(250);
  in.update_time = absl::FromUnixSeconds(1'800'000'100);
  v1::Integration out = ToProto(in);
  EXPECT_EQ(out.name(), "integrations/acme");
  EXPECT_EQ(out.display_name(), "Acme");
  EXPECT_EQ(out.auth_method(), v1::AUTH_METHOD_JWT);
  EXPECT_EQ(out.client_id(), "client-acme");
  EXPECT_EQ(out.org_id(), "ORG@AdobeOrg");
  EXPECT_EQ(out.technical_account_id(), "T@techacct.adobe.com");
  EXPECT_THAT(out.scopes(), ElementsAre("openid"));
  EXPECT_THAT(out.metascopes(),
              ElementsAre("ent_dataservices_sdk", "ent_analytics_bulk_ingest_sdk"));
  EXPECT_EQ(out.ims_url(), "https://ims-na1-stg1.adobelogin.com");
  EXPECT_EQ(out.sandbox_name(), "prod");
  EXPECT_EQ(out.state(), v1::Integration::STATE_DISABLED);
  EXPECT_TRUE(out.include_org_header());
  EXPECT_EQ(out.etag(), "etag-7");
  EXPECT_EQ(out.create_time().seconds(), 1'800'000'000);
  EXPECT_EQ(out.create_time().nanos(), 250'000'000);
  EXPECT_EQ(out.update_time().seconds(), 1'800'000'100);
  EXPECT_EQ(out.update_time().nanos(), 0);
}

TEST(ToProtoTest, ToProtoNeverReturnsSecretsOnlyTheirFingerprints) {
  Integration in = FromProto(FullProto());
  in.id = "acme";
  v1::Integration out = ToProto(in);
  EXPECT_FALSE(out.has_credentials());
  EXPECT_THAT(out.credential_info().client_secret_fingerprints(),
              ElementsAre(Fingerprint("secret-1"), Fingerprint("secret-2")));
  EXPECT_THAT(out.credential_info().private_key_fingerprint(), ::testing::StartsWith("sha256:"));
  std::string wire = out.SerializeAsString();
  EXPECT_THAT(wire, Not(HasSubstr("secret-1")));
  EXPECT_THAT(wire, Not(HasSubstr("PRIVATE KEY")));
}

TEST(ToProtoTest, ToProtoOfAnOAuthIntegrationHasNoKeyFingerprint) {
  v1::Integration out = ToProto(OAuth());
  EXPECT_EQ(out.auth_method(), v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER);
  EXPECT_EQ(out.state(), v1::Integration::STATE_ACTIVE);
  EXPECT_EQ(out.credential_info().private_key_fingerprint(), "");
  EXPECT_EQ(out.credential_info().client_secret_fingerprints_size(), 1);
}

TEST(ToProtoTest, FromProtoOfToProtoKeepsEveryNonSecretField) {
  Integration in = FromProto(FullProto());
  in.id = "acme";
  Integration back = FromProto(ToProto(in));
  EXPECT_EQ(back.display_name, in.display_name);
  EXPECT_EQ(back.auth_method, in.auth_method);
  EXPECT_EQ(back.client_id, in.client_id);
  EXPECT_EQ(back.org_id, in.org_id);
  EXPECT_EQ(back.technical_account_id, in.technical_account_id);
  EXPECT_EQ(back.scopes, in.scopes);
  EXPECT_EQ(back.metascopes, in.metascopes);
  EXPECT_EQ(back.ims_url, in.ims_url);
  EXPECT_EQ(back.sandbox_name, in.sandbox_name);
  EXPECT_EQ(back.state, in.state);
  EXPECT_EQ(back.include_org_header, in.include_org_header);
  EXPECT_TRUE(back.credentials.client_secrets.empty());
}

TEST(ToProtoTest, TimestampOfAFiniteTimeKeepsNanosAndInfiniteTimesStayUnset) {
  google::protobuf::Timestamp ts;
  ToProto(absl::FromUnixNanos(1'800'000'000'123'456'789), &ts);
  EXPECT_EQ(ts.seconds(), 1'800'000'000);
  EXPECT_EQ(ts.nanos(), 123'456'789);
  google::protobuf::Timestamp unset;
  ToProto(absl::InfinitePast(), &unset);
  ToProto(absl::InfiniteFuture(), &unset);
  EXPECT_EQ(unset.seconds(), 0);
  EXPECT_EQ(unset.nanos(), 0);
}

// ---- ApplyUpdate -----------------------------------------------------------

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask mask;
  for (const char* path : paths) mask.add_paths(path);
  return mask;
}

// One update_mask path and how to see that it (and only it) was applied.
struct UpdatePath {
  std::string path;
  std::function<void(v1::Integration&)> set;
  std::function<bool(const Integration&)> applied;
};

void PrintTo(const UpdatePath& p, std::ostream* os) { *os << p.path; }

class ApplyUpdatePathTest : public ::testing::TestWithParam<UpdatePath> {};

// Everything a test can compare, secrets as their values.
std::string Describe(const Integration& in) {
  std::string out =
      absl::StrCat(in.display_name, "|", in.client_id, "|", in.org_id, "|", in.technical_account_id,
                   "|", absl::StrJoin(in.scopes, ","), "|", absl::StrJoin(in.metascopes, ","), "|",
                   in.ims_url, "|", in.sandbox_name, "|", static_cast<int>(in.state), "|",
                   in.include_org_header, "|", static_cast<int>(in.auth_method), "|");
  for (const auto& s : in.credentials.client_secrets) absl::StrAppend(&out, s.value(), ",");
  absl::StrAppend(&out, "|", in.credentials.private_key_pem.value().size());
  return out;
}

TEST_P(ApplyUpdatePathTest, ApplyUpdateChangesThatFieldAndNothingElse) {
  Integration target = OAuth();
  const std::string before = Describe(target);
  v1::Integration proto;
  GetParam().set(proto);
  // Fields the mask does not name are ignored even when set in the request.
  if (GetParam().path != "client_id") proto.set_client_id("ignored-client");
  if (GetParam().path != "display_name") proto.set_display_name("ignored name");

  absl::Status status = ApplyUpdate(proto, Mask({GetParam().path.c_str()}), &target);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(GetParam().applied(target)) << Describe(target);
  EXPECT_NE(Describe(target), before);
  EXPECT_NE(target.client_id, "ignored-client");
  EXPECT_NE(target.display_name, "ignored name");
}

INSTANTIATE_TEST_SUITE_P(
    EveryPath, ApplyUpdatePathTest,
    ::testing::Values(
        UpdatePath{"display_name", [](v1::Integration& p) { p.set_display_name("New"); },
                   [](const Integration& in) { return in.display_name == "New"; }},
        UpdatePath{"client_id", [](v1::Integration& p) { p.set_client_id("client-new"); },
                   [](const Integration& in) { return in.client_id == "client-new"; }},
        UpdatePath{"org_id", [](v1::Integration& p) { p.set_org_id("NEW@AdobeOrg"); },
                   [](const Integration& in) { return in.org_id == "NEW@AdobeOrg"; }},
        UpdatePath{"technical_account_id",
                   [](v1::Integration& p) { p.set_technical_account_id("N@techacct"); },
                   [](const Integration& in) { return in.technical_account_id == "N@techacct"; }},
        UpdatePath{"scopes",
                   [](v1::Integration& p) {
                     p.add_scopes("a");
                     p.add_scopes("b");
                   },
                   [](const Integration& in) {
                     return in.scopes == std::vector<std::string>{"a", "b"};
                   }},
        UpdatePath{
            "metascopes", [](v1::Integration& p) { p.add_metascopes("m"); },
            [](const Integration& in) { return in.metascopes == std::vector<std::string>{"m"}; }},
        UpdatePath{"ims_url", [](v1::Integration& p) { p.set_ims_url("https://other"); },
                   [](const Integration& in) { return in.ims_url == "https://other"; }},
        UpdatePath{"sandbox_name", [](v1::Integration& p) { p.set_sandbox_name("dev"); },
                   [](const Integration& in) { return in.sandbox_name == "dev"; }},
        UpdatePath{"include_org_header", [](v1::Integration& p) { p.set_include_org_header(true); },
                   [](const Integration& in) { return in.include_org_header; }},
        UpdatePath{"state",
                   [](v1::Integration& p) { p.set_state(v1::Integration::STATE_DISABLED); },
                   [](const Integration& in) { return in.state == IntegrationState::kDisabled; }},
        UpdatePath{"credentials",
                   [](v1::Integration& p) {
                     p.mutable_credentials()->add_client_secrets("new-1");
                     p.mutable_credentials()->add_client_secrets("new-2");
                   },
                   [](const Integration& in) {
                     return in.credentials.client_secrets.size() == 2 &&
                            in.credentials.client_secrets[1].value() == "new-2";
                   }},
        UpdatePath{"credentials.client_secrets",
                   [](v1::Integration& p) { p.mutable_credentials()->add_client_secrets("new"); },
                   [](const Integration& in) {
                     return in.credentials.client_secrets.size() == 1 &&
                            in.credentials.client_secrets[0].value() == "new";
                   }},
        UpdatePath{"credentials.private_key_pem",
                   [](v1::Integration& p) {
                     p.mutable_credentials()->set_private_key_pem(TestPrivateKey());
                   },
                   [](const Integration& in) {
                     return in.credentials.private_key_pem.value() == TestPrivateKey() &&
                            in.credentials.client_secrets.size() == 1;  // kept
                   }}),
    [](const auto& info) {
      std::string name = info.param.path;
      std::replace(name.begin(), name.end(), '.', '_');
      return name;
    });

TEST(ApplyUpdateTest, ApplyUpdateAppliesEveryPathOfAMask) {
  Integration target = OAuth();
  v1::Integration proto;
  proto.set_display_name("New");
  proto.set_sandbox_name("dev");
  ASSERT_TRUE(ApplyUpdate(proto, Mask({"display_name", "sandbox_name"}), &target).ok());
  EXPECT_EQ(target.display_name, "New");
  EXPECT_EQ(target.sandbox_name, "dev");
}

TEST(ApplyUpdateTest, ApplyUpdateCanClearAFieldByNamingItWithAnEmptyValue) {
  Integration target = OAuth();
  target.sandbox_name = "prod";
  ASSERT_TRUE(ApplyUpdate(v1::Integration(), Mask({"sandbox_name"}), &target).ok());
  EXPECT_EQ(target.sandbox_name, "");
}

TEST(ApplyUpdateTest, ApplyUpdateWithAnEmptyMaskIsInvalidArgumentNamingUpdateMask) {
  Integration target = OAuth();
  ExpectInvalidField(ApplyUpdate(v1::Integration(), Mask({}), &target), "update_mask",
                     "required: name the fields to change");
}

TEST(ApplyUpdateTest, ApplyUpdateWithAnUnknownPathIsInvalidArgumentNamingUpdateMaskAndPath) {
  Integration target = OAuth();
  for (const char* path : {"no_such_field", "credentials.other", "Display_Name", ""}) {
    absl::Status status = ApplyUpdate(v1::Integration(), Mask({path}), &target);
    ExpectInvalidField(status, "update_mask",
                       absl::StrCat("unknown or output-only path '", path, "'"));
  }
}

TEST(ApplyUpdateTest, ApplyUpdateOfAnOutputOnlyPathIsInvalidArgumentNamingUpdateMask) {
  Integration target = OAuth();
  for (const char* path : {"name", "etag", "create_time", "update_time", "credential_info"}) {
    ExpectInvalidField(ApplyUpdate(v1::Integration(), Mask({path}), &target), "update_mask",
                       absl::StrCat("'", path, "'"));
  }
}

TEST(ApplyUpdateTest, ApplyUpdateOfAuthMethodIsInvalidArgumentImmutable) {
  Integration target = OAuth();
  v1::Integration proto;
  proto.set_auth_method(v1::AUTH_METHOD_JWT);
  ExpectInvalidField(ApplyUpdate(proto, Mask({"auth_method"}), &target), "update_mask",
                     "auth_method is immutable");
  EXPECT_EQ(target.auth_method, AuthMethod::kOAuthServerToServer);
}

TEST(ApplyUpdateTest, ApplyUpdateOfStateUnspecifiedIsInvalidArgumentNamingState) {
  Integration target = OAuth();
  ExpectInvalidField(ApplyUpdate(v1::Integration(), Mask({"state"}), &target), "integration.state",
                     "STATE_ACTIVE or STATE_DISABLED");
  EXPECT_EQ(target.state, IntegrationState::kActive);
}

TEST(ApplyUpdateTest, ApplyUpdateThenValidateRejectsAnUpdateThatBreaksTheIntegration) {
  Integration target = OAuth();
  ASSERT_TRUE(ApplyUpdate(v1::Integration(), Mask({"scopes"}), &target).ok());
  ExpectInvalidField(ValidateIntegration(target, {}, "integration."), "integration.scopes",
                     "at least one value is required");
}

// ---- Min validity, tokens and headers --------------------------------------

TEST(ParseMinValidityTest, ParseMinValidityUnsetIsNullopt) {
  absl::StatusOr<std::optional<absl::Duration>> parsed = ParseMinValidity(nullptr, false);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->has_value());
}

TEST(ParseMinValidityTest, ParseMinValidityKeepsSecondsAndNanosUpTo12Hours) {
  google::protobuf::Duration d;
  d.set_seconds(90);
  d.set_nanos(500'000'000);
  EXPECT_EQ(**ParseMinValidity(&d, true), absl::Milliseconds(90'500));
  d.set_seconds(12 * 3600);
  d.set_nanos(0);
  EXPECT_EQ(**ParseMinValidity(&d, true), absl::Hours(12));
  d.set_seconds(0);
  EXPECT_EQ(**ParseMinValidity(&d, true), absl::ZeroDuration());
}

TEST(ParseMinValidityTest, ParseMinValidityNegativeIsInvalidArgument) {
  google::protobuf::Duration d;
  d.set_seconds(-1);
  ExpectInvalidField(ParseMinValidity(&d, true).status(), "min_remaining_validity",
                     "must not be negative");
}

TEST(ParseMinValidityTest, ParseMinValidityAbove12HoursIsInvalidArgument) {
  google::protobuf::Duration d;
  d.set_seconds(12 * 3600);
  d.set_nanos(1);
  ExpectInvalidField(ParseMinValidity(&d, true).status(), "min_remaining_validity", "at most 12h");
}

TokenSnapshot Snapshot() {
  TokenSnapshot snapshot;
  snapshot.integration_id = "acme";
  snapshot.token.access_token = SecretString(std::string("tok-123"));
  snapshot.token.issue_time = absl::FromUnixSeconds(1'800'000'000);
  snapshot.token.expire_time = absl::FromUnixSeconds(1'800'086'400);
  snapshot.client_id = "client-acme";
  snapshot.org_id = "ORG@AdobeOrg";
  return snapshot;
}

TEST(TokenToProtoTest, ToProtoOfASnapshotIsABearerTokenOfTheIntegration) {
  v1::AccessToken token;
  ToProto(Snapshot(), &token);
  EXPECT_EQ(token.access_token(), "tok-123");
  EXPECT_EQ(token.token_type(), "bearer");
  EXPECT_EQ(token.issue_time().seconds(), 1'800'000'000);
  EXPECT_EQ(token.expire_time().seconds(), 1'800'086'400);
  EXPECT_EQ(token.integration(), "integrations/acme");
}

TEST(AdobeHeadersTest, AdobeHeadersAreAuthorizationAndApiKeyByDefault) {
  EXPECT_THAT(AdobeHeaders(Snapshot()),
              ElementsAre(std::make_pair("Authorization", "Bearer tok-123"),
                          std::make_pair("x-api-key", "client-acme")));
}

TEST(AdobeHeadersTest, AdobeHeadersAddOrgAndSandboxWhenConfiguredInAStableOrder) {
  TokenSnapshot snapshot = Snapshot();
  snapshot.include_org_header = true;
  snapshot.sandbox_name = "prod";
  EXPECT_THAT(AdobeHeaders(snapshot), ElementsAre(std::make_pair("Authorization", "Bearer tok-123"),
                                                  std::make_pair("x-api-key", "client-acme"),
                                                  std::make_pair("x-gw-ims-org-id", "ORG@AdobeOrg"),
                                                  std::make_pair("x-sandbox-name", "prod")));
}

}  // namespace
}  // namespace tokenbroker

namespace tokenbroker {
namespace {

// ---- Bounded echoes and weak keys (issue 11) -------------------------------

TEST(ApplyUpdateTest, ApplyUpdateUnknownHugePathIsInvalidArgumentQuotingOnlyAPrefix) {
  Integration target = OAuth();
  std::string path(20 * 1024, 'x');
  path[0] = '\xff';  // escaped, not echoed raw
  absl::Status status = ApplyUpdate(v1::Integration(), Mask({path.c_str()}), &target);
  ExpectInvalidField(status, "update_mask", "unknown or output-only path '\\xffxxx");
  EXPECT_THAT(std::string(status.message()), HasSubstr("(20480 bytes)"));
  // 20 KiB in, a short trailer out: far below gRPC's 8 KiB metadata limit.
  EXPECT_LE(status.message().size(), 400u) << status.message();
}

TEST(ApplyUpdateTest, ApplyUpdateWithTooManyPathsIsInvalidArgument) {
  Integration target = OAuth();
  google::protobuf::FieldMask mask;
  for (int i = 0; i < 33; ++i) mask.add_paths("display_name");
  ExpectInvalidField(ApplyUpdate(v1::Integration(), mask, &target), "update_mask",
                     "more than 32 paths");
}

// An unencrypted PKCS#8 PEM RSA key of `bits` bits.
std::string RsaKeyPem(int bits) {
  EVP_PKEY* key = EVP_RSA_gen(bits);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, size);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(ValidateIntegrationTest, ValidateIntegrationRefusesRsaKeysWeakerThan2048Bits) {
  for (int bits : {512, 1024}) {
    Integration in = Jwt();
    in.credentials.private_key_pem = SecretString(RsaKeyPem(bits));
    ExpectInvalidField(ValidateIntegration(in, {}, "integration."),
                       "integration.credentials.private_key_pem",
                       absl::StrCat("RSA key of ", bits, " bits; at least 2048 are required"));
  }
}

TEST(ValidateIntegrationTest, ValidateIntegrationRefusesNonRsaKeys) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  Integration in = Jwt();
  in.credentials.private_key_pem = SecretString(std::string(data, size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  ExpectInvalidField(ValidateIntegration(in, {}, "integration."),
                     "integration.credentials.private_key_pem", "not an RSA key");
}

TEST(ValidateIntegrationTest, ValidateIntegrationRefusesHugePrivateKeys) {
  Integration in = Jwt();
  in.credentials.private_key_pem = SecretString(std::string(16 * 1024 + 1, 'k'));
  ExpectInvalidField(ValidateIntegration(in, {}, "integration."),
                     "integration.credentials.private_key_pem", "longer than 16384 bytes");
}

// ---- Credential lifecycle fields ------------------------------------------

Integration Rotating() {
  Integration in = OAuth();
  in.console = {"25591412", "17950"};
  in.secret_rotation_period = absl::Hours(24 * 90);
  return in;
}

TEST(LifecycleTest, ConsoleIdsRotationPeriodAndSecretInfoRoundTrip) {
  Integration in = Rotating();
  in.client_secret_info = {{absl::FromUnixSeconds(1'800'000'000), "uuid-1"}};
  in.last_secret_rotation_time = absl::FromUnixSeconds(1'800'000'100);
  v1::Integration proto = ToProto(in);
  EXPECT_EQ(proto.console_credential().org_id(), "25591412");
  EXPECT_EQ(proto.secret_rotation_period().seconds(), 90 * 24 * 3600);
  EXPECT_EQ(proto.last_secret_rotation_time().seconds(), 1'800'000'100);
  ASSERT_EQ(proto.credential_info().client_secrets_size(), 1);
  EXPECT_EQ(proto.credential_info().client_secrets(0).console_uuid(), "uuid-1");
  EXPECT_EQ(proto.credential_info().client_secrets(0).create_time().seconds(), 1'800'000'000);
  EXPECT_EQ(proto.credential_info().client_secrets(0).fingerprint(),
            proto.credential_info().client_secret_fingerprints(0));

  Integration back = FromProto(proto);
  EXPECT_EQ(back.console, in.console);
  EXPECT_EQ(back.secret_rotation_period, in.secret_rotation_period);
}

TEST(LifecycleTest, AnUnsetPeriodFollowsTheServerAndZeroMeansNever) {
  Integration in = OAuth();
  EXPECT_FALSE(ToProto(in).has_secret_rotation_period());
  EXPECT_FALSE(FromProto(ToProto(in)).secret_rotation_period.has_value());
  in.secret_rotation_period = absl::ZeroDuration();
  EXPECT_TRUE(ToProto(in).has_secret_rotation_period());
  EXPECT_EQ(FromProto(ToProto(in)).secret_rotation_period, absl::ZeroDuration());
  EXPECT_TRUE(ValidateIntegration(in, {}, "integration.").ok());  // never: no Console ids needed
}

TEST(LifecycleTest, RotationNeedsAPlausiblePeriodAnS2sCredentialAndConsoleIds) {
  EXPECT_TRUE(ValidateIntegration(Rotating(), {}, "integration.").ok());
  Integration short_period = Rotating();
  short_period.secret_rotation_period = absl::Minutes(59);
  ExpectInvalidField(ValidateIntegration(short_period, {}, "integration."),
                     "integration.secret_rotation_period", "between 1h and 3650 days");
  Integration no_console = Rotating();
  no_console.console = {};
  ExpectInvalidField(ValidateIntegration(no_console, {}, "integration."),
                     "integration.secret_rotation_period", "console_credential");
  Integration jwt = Jwt();
  jwt.console = {"1", "2"};
  jwt.secret_rotation_period = absl::Hours(24);
  ExpectInvalidField(ValidateIntegration(jwt, {}, "integration."),
                     "integration.secret_rotation_period", "OAUTH_SERVER_TO_SERVER");
}

TEST(LifecycleTest, ConsoleIdsMustBothBeSetAndPathSafe) {
  Integration half = OAuth();
  half.console = {"25591412", ""};
  ExpectInvalidField(ValidateIntegration(half, {}, "integration."),
                     "integration.console_credential.credential_id", "required");
  Integration slash = OAuth();
  slash.console = {"25591412", "../secrets"};
  ExpectInvalidField(ValidateIntegration(slash, {}, "integration."),
                     "integration.console_credential.credential_id", "only letters");
}

TEST(LifecycleTest, ApplyUpdateSetsAndClearsTheRotationPeriodAndConsoleIds) {
  Integration target = Rotating();
  v1::Integration proto;
  google::protobuf::FieldMask mask;
  mask.add_paths("secret_rotation_period");
  ASSERT_TRUE(ApplyUpdate(proto, mask, &target).ok());
  EXPECT_FALSE(target.secret_rotation_period.has_value());  // unset: the server's default
  proto.mutable_secret_rotation_period()->set_seconds(7200);
  proto.mutable_console_credential()->set_org_id("1");
  proto.mutable_console_credential()->set_credential_id("2");
  mask.add_paths("console_credential");
  ASSERT_TRUE(ApplyUpdate(proto, mask, &target).ok());
  EXPECT_EQ(target.secret_rotation_period, absl::Hours(2));
  EXPECT_EQ(target.console, (ConsoleCredential{"1", "2"}));
}

TEST(LifecycleTest, StampingKeepsTheAgeOfSecretsThatStayAndDatesNewOnes) {
  const absl::Time then = absl::FromUnixSeconds(1'700'000'000);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  Integration before = OAuth();  // secret-1
  before.client_secret_info = {{then, "uuid-1"}};
  Integration after = before;
  after.credentials.client_secrets.clear();
  after.credentials.client_secrets.emplace_back(std::string("secret-2"));
  after.credentials.client_secrets.emplace_back(std::string("secret-1"));
  StampClientSecretInfo(before, now, &after);
  ASSERT_EQ(after.client_secret_info.size(), 2u);
  EXPECT_EQ(after.client_secret_info[0], (ClientSecretInfo{now, ""}));
  EXPECT_EQ(after.client_secret_info[1], (ClientSecretInfo{then, "uuid-1"}));
}

}  // namespace
}  // namespace tokenbroker
