#include "server/auth/policy.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::tokenbroker::testing::TempDir;
using ::tokenbroker::testing::WriteFile;

// A syntactically valid hash line (its token is unknown).
constexpr char kSomeHash[] =
    "hmac-sha256:00112233445566778899aabbccddeeff:"
    "0000000000000000000000000000000000000000000000000000000000000000";

// The design card's example policy, with a real hash for token "t-billing".
std::string ExamplePolicy(const std::string& billing_hash) {
  return absl::StrCat(R"({
    "version": 1,
    "caller_tokens": [{"identity": "svc-billing", "hash": ")",
                      billing_hash, R"("}],
    "bindings": [
      {"identity": "spiffe://example.org/ns/billing/*", "role": "reader",
       "integrations": ["billing-*", "acme"]},
      {"identity": "svc-billing", "role": "reader", "integrations": ["billing-eu"]},
      {"identity": "svc-audit", "role": "auditor"},
      {"identity": "ops-?.example.org", "role": "admin"}
    ]
  })");
}

Policy MustParse(const std::string& json) {
  absl::StatusOr<Policy> policy = Policy::Parse(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : Policy();
}

// One malformed policy and the message fragment its error must carry.
struct BadPolicy {
  std::string name;
  std::string json;
  std::string fragment;
};

void PrintTo(const BadPolicy& bad, std::ostream* os) { *os << bad.name; }

class PolicyParseErrorTest : public ::testing::TestWithParam<BadPolicy> {};

TEST_P(PolicyParseErrorTest, ParseIsInvalidArgumentNamingTheEntryAndProblem) {
  absl::StatusOr<Policy> policy = Policy::Parse(GetParam().json);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << policy.status();
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr(GetParam().fragment));
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr("policy: "));
}

std::string Binding(const std::string& body) {
  return absl::StrCat(R"({"version": 1, "bindings": [)", body, "]}");
}
std::string Token(const std::string& body) {
  return absl::StrCat(R"({"version": 1, "caller_tokens": [)", body, "]}");
}

INSTANTIATE_TEST_SUITE_P(
    EveryFormatError, PolicyParseErrorTest,
    ::testing::Values(
        BadPolicy{"NotJson", "{version: 1", "file: not a JSON object"},
        BadPolicy{"JsonArray", "[]", "file: not a JSON object"},
        BadPolicy{"EmptyText", "", "file: not a JSON object"},
        BadPolicy{"NoVersion", "{}", "version: must be 1"},
        BadPolicy{"VersionTwo", R"({"version": 2})", "version: must be 1"},
        BadPolicy{"VersionAsString", R"({"version": "1"})", "version: must be 1"},
        BadPolicy{"VersionFraction", R"({"version": 1.5})", "version: must be 1"},
        BadPolicy{"CallerTokensNotArray", R"({"version": 1, "caller_tokens": {}})",
                  "caller_tokens: must be an array"},
        BadPolicy{"TokenNotObject", Token(R"("svc")"), "caller_tokens[0]: needs a non-empty"},
        BadPolicy{"TokenWithoutIdentity", Token(absl::StrCat(R"({"hash": ")", kSomeHash, "\"}")),
                  "caller_tokens[0]: needs a non-empty \"identity\""},
        BadPolicy{"TokenEmptyIdentity",
                  Token(absl::StrCat(R"({"identity": "", "hash": ")", kSomeHash, "\"}")),
                  "caller_tokens[0]: needs a non-empty \"identity\""},
        BadPolicy{"TokenIdentityNotString",
                  Token(absl::StrCat(R"({"identity": 7, "hash": ")", kSomeHash, "\"}")),
                  "caller_tokens[0]: needs a non-empty \"identity\""},
        BadPolicy{"TokenWithoutHash", Token(R"({"identity": "svc"})"),
                  "caller_tokens[0]: needs a \"hash\""},
        BadPolicy{"TokenHashNotString", Token(R"({"identity": "svc", "hash": 1})"),
                  "caller_tokens[0]: needs a \"hash\""},
        BadPolicy{"SecondTokenIsCounted",
                  Token(absl::StrCat(R"({"identity": "a", "hash": ")", kSomeHash,
                                     R"("}, {"identity": "b"})")),
                  "caller_tokens[1]: needs a \"hash\""},
        BadPolicy{"HashWrongAlgorithm",
                  Token(R"({"identity": "svc", "hash": "sha256:00112233445566778899aabbccddeeff:)"
                        R"(0000000000000000000000000000000000000000000000000000000000000000"})"),
                  "hash must be hmac-sha256:<32 hex>:<64 hex>"},
        BadPolicy{"HashShortSalt",
                  Token(R"({"identity": "svc", "hash": "hmac-sha256:0011:)"
                        R"(0000000000000000000000000000000000000000000000000000000000000000"})"),
                  "hash must be hmac-sha256:<32 hex>:<64 hex>"},
        BadPolicy{"HashShortMac",
                  Token(R"({"identity": "svc", "hash": )"
                        R"("hmac-sha256:00112233445566778899aabbccddeeff:00"})"),
                  "hash must be hmac-sha256:<32 hex>:<64 hex>"},
        BadPolicy{
            "HashNotHex",
            Token(R"({"identity": "svc", "hash": "hmac-sha256:zz112233445566778899aabbccddeeff:)"
                  R"(0000000000000000000000000000000000000000000000000000000000000000"})"),
            "hash must be hmac-sha256:<32 hex>:<64 hex>"},
        BadPolicy{"HashExtraPart",
                  Token(absl::StrCat(R"({"identity": "svc", "hash": ")", kSomeHash, R"(:00"})")),
                  "hash must be hmac-sha256:<32 hex>:<64 hex>"},
        BadPolicy{"BindingsNotArray", R"({"version": 1, "bindings": "admin"})",
                  "bindings: must be an array"},
        BadPolicy{"BindingNotObject", Binding(R"("admin")"),
                  "bindings[0]: needs a non-empty \"identity\" (exact or glob)"},
        BadPolicy{"BindingWithoutIdentity", Binding(R"({"role": "admin"})"),
                  "bindings[0]: needs a non-empty \"identity\""},
        BadPolicy{"BindingEmptyIdentity", Binding(R"({"identity": "", "role": "admin"})"),
                  "bindings[0]: needs a non-empty \"identity\""},
        BadPolicy{"BindingWithoutRole", Binding(R"({"identity": "x"})"),
                  "bindings[0]: role must be admin, reader, auditor or proxy"},
        BadPolicy{"BindingUnknownRole", Binding(R"({"identity": "x", "role": "wizard"})"),
                  "bindings[0]: role must be admin, reader, auditor or proxy"},
        BadPolicy{"BindingRoleCaseMatters", Binding(R"({"identity": "x", "role": "Admin"})"),
                  "role must be admin, reader, auditor or proxy"},
        BadPolicy{"BindingRoleNotString", Binding(R"({"identity": "x", "role": 1})"),
                  "bindings[0]: role must be admin, reader, auditor or proxy"},
        BadPolicy{"SecondBindingIsCounted",
                  Binding(R"({"identity": "x", "role": "admin"}, {"identity": "y"})"),
                  "bindings[1]: role must be"},
        BadPolicy{"IntegrationsNotArray",
                  Binding(R"({"identity": "x", "role": "reader", "integrations": "acme"})"),
                  "bindings[0]: integrations must be an array"},
        BadPolicy{"IntegrationEmpty",
                  Binding(R"({"identity": "x", "role": "reader", "integrations": [""]})"),
                  "bindings[0]: integrations must be non-empty strings"},
        BadPolicy{"IntegrationNotString",
                  Binding(R"({"identity": "x", "role": "reader", "integrations": [3]})"),
                  "bindings[0]: integrations must be non-empty strings"},
        BadPolicy{"ReaderWithoutIntegrations", Binding(R"({"identity": "x", "role": "reader"})"),
                  "bindings[0]: a reader needs \"integrations\""},
        BadPolicy{"ReaderWithEmptyIntegrations",
                  Binding(R"({"identity": "x", "role": "reader", "integrations": []})"),
                  "bindings[0]: a reader needs \"integrations\""}),
    [](const auto& info) { return info.param.name; });

TEST(PolicyTest, ParseAcceptsTheDocumentedExample) {
  Policy policy = MustParse(ExamplePolicy(Policy::HashToken("t-billing")));
  EXPECT_EQ(policy.token_count(), 1u);
  EXPECT_EQ(policy.binding_count(), 4u);
}

TEST(PolicyTest, ParseAcceptsAPolicyWithNoTokensAndNoBindingsThatAllowsNothing) {
  Policy policy = MustParse(R"({"version": 1})");
  EXPECT_EQ(policy.token_count(), 0u);
  EXPECT_EQ(policy.binding_count(), 0u);
  EXPECT_FALSE(policy.Allows("anyone", Permission::kReadIntegrations, ""));
  EXPECT_FALSE(policy.IdentityForToken("anything").has_value());
}

TEST(PolicyTest, HashTokenHasTheDocumentedFormatAndAFreshSaltEachTime) {
  std::string hash = Policy::HashToken("t-1");
  std::vector<std::string> parts = absl::StrSplit(hash, ':');
  ASSERT_EQ(parts.size(), 3u) << hash;
  EXPECT_EQ(parts[0], "hmac-sha256");
  EXPECT_EQ(parts[1].size(), 32u);
  EXPECT_EQ(parts[2].size(), 64u);
  EXPECT_NE(Policy::HashToken("t-1"), hash);
  EXPECT_THAT(hash, ::testing::Not(HasSubstr("t-1")));
}

TEST(PolicyTest, IdentityForTokenFindsTheHashedTokenAndNothingElse) {
  Policy policy = MustParse(ExamplePolicy(Policy::HashToken("t-billing")));
  EXPECT_EQ(policy.IdentityForToken("t-billing"), "svc-billing");
  EXPECT_EQ(policy.IdentityForToken("t-billin"), std::nullopt);
  EXPECT_EQ(policy.IdentityForToken("t-billing "), std::nullopt);
  EXPECT_EQ(policy.IdentityForToken(""), std::nullopt);
}

TEST(PolicyTest, IdentityForTokenReturnsTheFirstEntryWhenATokenIsListedTwice) {
  std::string hash = Policy::HashToken("shared");
  Policy policy =
      MustParse(absl::StrCat(R"({"version": 1, "caller_tokens": [
      {"identity": "first", "hash": ")",
                             hash, R"("}, {"identity": "second", "hash": ")", hash, R"("}]})"));
  EXPECT_EQ(policy.IdentityForToken("shared"), "first");
}

TEST(PolicyTest, AdminMayManageAndReadIntegrationsButNotReadTokens) {
  Policy policy = MustParse(ExamplePolicy(kSomeHash));
  EXPECT_TRUE(policy.Allows("ops-1.example.org", Permission::kManageIntegrations, ""));
  EXPECT_TRUE(policy.Allows("ops-1.example.org", Permission::kReadIntegrations, ""));
  EXPECT_FALSE(policy.Allows("ops-1.example.org", Permission::kReadTokens, "acme"));
}

TEST(PolicyTest, AuditorMayOnlyReadIntegrations) {
  Policy policy = MustParse(ExamplePolicy(kSomeHash));
  EXPECT_TRUE(policy.Allows("svc-audit", Permission::kReadIntegrations, ""));
  EXPECT_FALSE(policy.Allows("svc-audit", Permission::kManageIntegrations, ""));
  EXPECT_FALSE(policy.Allows("svc-audit", Permission::kReadTokens, "acme"));
}

TEST(PolicyTest, ReaderMayReadTokensOfMatchingIntegrationsOnly) {
  Policy policy = MustParse(ExamplePolicy(kSomeHash));
  const std::string billing = "spiffe://example.org/ns/billing/sa/api";
  EXPECT_TRUE(policy.Allows(billing, Permission::kReadTokens, "acme"));
  EXPECT_TRUE(policy.Allows(billing, Permission::kReadTokens, "billing-eu"));
  EXPECT_FALSE(policy.Allows(billing, Permission::kReadTokens, "acme-2"));
  EXPECT_FALSE(policy.Allows(billing, Permission::kReadTokens, "other"));
  EXPECT_FALSE(policy.Allows(billing, Permission::kReadIntegrations, ""));
  EXPECT_FALSE(policy.Allows(billing, Permission::kManageIntegrations, ""));
}

TEST(PolicyTest, ProxyMayActForWorkloadsAndNothingElse) {
  Policy policy = MustParse(Binding(R"(
      {"identity": "spiffe://mesh/ns/istio-system/sa/*-gateway", "role": "proxy"})"));
  const std::string gateway = "spiffe://mesh/ns/istio-system/sa/egress-gateway";
  EXPECT_TRUE(policy.Allows(gateway, Permission::kActForWorkloads, ""));
  EXPECT_FALSE(policy.Allows(gateway, Permission::kReadTokens, "acme"));
  EXPECT_FALSE(policy.Allows(gateway, Permission::kReadIntegrations, ""));
  EXPECT_FALSE(policy.Allows(gateway, Permission::kManageIntegrations, ""));
  EXPECT_FALSE(policy.Allows("spiffe://mesh/ns/app/sa/api", Permission::kActForWorkloads, ""));
}

TEST(PolicyTest, NoOtherRoleMayActForWorkloads) {
  Policy policy = MustParse(Binding(R"(
      {"identity": "svc", "role": "admin"},
      {"identity": "svc", "role": "auditor"},
      {"identity": "svc", "role": "reader", "integrations": ["*"]})"));
  EXPECT_FALSE(policy.Allows("svc", Permission::kActForWorkloads, ""));
}

TEST(PolicyTest, ProxyBindingIgnoresIntegrations) {
  // "integrations" belongs to readers; on a proxy it grants no tokens.
  Policy policy =
      MustParse(Binding(R"({"identity": "gw", "role": "proxy", "integrations": ["acme"]})"));
  EXPECT_TRUE(policy.Allows("gw", Permission::kActForWorkloads, ""));
  EXPECT_FALSE(policy.Allows("gw", Permission::kReadTokens, "acme"));
}

TEST(PolicyTest, AllowsIsPerIntegrationForEachBindingOfAnIdentity) {
  Policy policy = MustParse(ExamplePolicy(kSomeHash));
  EXPECT_TRUE(policy.Allows("svc-billing", Permission::kReadTokens, "billing-eu"));
  EXPECT_FALSE(policy.Allows("svc-billing", Permission::kReadTokens, "billing-us"));
}

TEST(PolicyTest, AllowsCombinesEveryBindingThatMatchesTheIdentity) {
  Policy policy = MustParse(Binding(R"(
      {"identity": "svc-*", "role": "reader", "integrations": ["a"]},
      {"identity": "svc-x", "role": "reader", "integrations": ["b"]},
      {"identity": "svc-x", "role": "auditor"})"));
  EXPECT_TRUE(policy.Allows("svc-x", Permission::kReadTokens, "a"));
  EXPECT_TRUE(policy.Allows("svc-x", Permission::kReadTokens, "b"));
  EXPECT_TRUE(policy.Allows("svc-x", Permission::kReadIntegrations, ""));
  EXPECT_FALSE(policy.Allows("svc-y", Permission::kReadTokens, "b"));
  EXPECT_FALSE(policy.Allows("svc-y", Permission::kReadIntegrations, ""));
}

TEST(PolicyTest, AllowsDeniesAnIdentityNoBindingMatches) {
  Policy policy = MustParse(ExamplePolicy(kSomeHash));
  for (Permission permission :
       {Permission::kReadTokens, Permission::kReadIntegrations, Permission::kManageIntegrations}) {
    EXPECT_FALSE(policy.Allows("ops-12.example.org", permission, "acme"));  // ? is one char
    EXPECT_FALSE(policy.Allows("spiffe://example.org/ns/payments/sa", permission, "acme"));
    EXPECT_FALSE(policy.Allows("", permission, "acme"));
  }
}

TEST(PolicyTest, ReaderWithStarMayReadEveryIntegration) {
  Policy policy =
      MustParse(Binding(R"({"identity": "svc-all", "role": "reader", "integrations": ["*"]})"));
  EXPECT_TRUE(policy.Allows("svc-all", Permission::kReadTokens, "acme"));
  EXPECT_TRUE(policy.Allows("svc-all", Permission::kReadTokens, "z-9"));
}

TEST(GlobMatchTest, MatchesStarQuestionMarkAndBracketsAndExactTextOtherwise) {
  EXPECT_TRUE(GlobMatch("billing-*", "billing-eu"));
  EXPECT_TRUE(GlobMatch("billing-*", "billing-"));
  EXPECT_FALSE(GlobMatch("billing-*", "billing"));
  EXPECT_TRUE(GlobMatch("ops-?", "ops-1"));
  EXPECT_FALSE(GlobMatch("ops-?", "ops-12"));
  EXPECT_TRUE(GlobMatch("r[0-2]", "r1"));
  EXPECT_FALSE(GlobMatch("r[0-2]", "r3"));
  EXPECT_TRUE(GlobMatch("acme", "acme"));
  EXPECT_FALSE(GlobMatch("acme", "acme2"));
  EXPECT_FALSE(GlobMatch("acme", "ACME"));
}

TEST(PolicyTest, LoadFromFileMissingIsNotFoundNamingThePath) {
  TempDir dir;
  absl::StatusOr<Policy> policy = Policy::LoadFromFile(dir.File("absent.json"));
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr(dir.File("absent.json")));
}

TEST(PolicyTest, LoadFromFileInvalidIsInvalidArgumentWithThePathAndTheProblem) {
  TempDir dir;
  WriteFile(dir.File("policy.json"), R"({"version": 1, "bindings": [{"identity": "x"}]})");
  absl::StatusOr<Policy> policy = Policy::LoadFromFile(dir.File("policy.json"));
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(policy.status().message()),
              HasSubstr(dir.File("policy.json") + ": policy: bindings[0]: role must be"));
}

TEST(PolicyTest, LoadFromFileReadsAValidFile) {
  TempDir dir;
  WriteFile(dir.File("policy.json"), ExamplePolicy(Policy::HashToken("t-billing")));
  absl::StatusOr<Policy> policy = Policy::LoadFromFile(dir.File("policy.json"));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->IdentityForToken("t-billing"), "svc-billing");
}

}  // namespace
}  // namespace tokenbroker
