// ClientSecretManager over fakes: which Console secrets tokenbroker holds
// and uses, and which token the Console calls carry.
#include "server/lifecycle/client_secrets.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_credential_store.h"
#include "tests/testing/fake_clock.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// Mints "token-for-<client_id>" and remembers the scopes asked for.
class FakeExchanger final : public TokenExchanger {
 public:
  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override {
    scopes = integration.scopes;
    if (!status.ok()) return status;
    AccessToken token;
    token.access_token = SecretString("token-for-" + integration.client_id);
    return token;
  }
  std::vector<std::string> scopes;
  absl::Status status;
};

// Lists `secrets`; remembers the target and token of the last call.
class FakeConsole final : public ConsoleSecrets {
 public:
  absl::StatusOr<std::vector<ConsoleSecret>> List(const ConsoleTarget& target,
                                                  const SecretString& token) override {
    last_target = target;
    last_token = std::string(token.value());
    return secrets;
  }
  absl::StatusOr<AddedConsoleSecret> Add(const ConsoleTarget&, const SecretString&) override {
    return absl::UnimplementedError("not used by these tests");
  }
  absl::Status Delete(const ConsoleTarget&, const SecretString&, absl::string_view) override {
    return absl::UnimplementedError("not used by these tests");
  }
  std::vector<ConsoleSecret> secrets;
  ConsoleTarget last_target;
  std::string last_token;
};

Integration Imported(std::vector<std::string> secrets, std::vector<std::string> uuids) {
  Integration in;
  in.id = "billing";
  in.auth_method = AuthMethod::kOAuthServerToServer;
  in.client_id = "billing-client";
  in.org_id = "ACME@AdobeOrg";
  in.scopes = {"openid"};
  in.console = {"25591412", "17950"};
  for (size_t i = 0; i < secrets.size(); ++i) {
    in.credentials.client_secrets.emplace_back(secrets[i]);
    in.client_secret_info.push_back({kT0, i < uuids.size() ? uuids[i] : ""});
  }
  return in;
}

TEST(MatchSecretsTest, OneSecretOnEachSideIsTheOneInUseEvenWithoutItsUuid) {
  SecretListing listing = MatchSecrets(Imported({"s1"}, {}), {{"uuid-a", kT0, std::nullopt}});
  ASSERT_EQ(listing.secrets.size(), 1u);
  EXPECT_TRUE(listing.secrets[0].held);
  EXPECT_TRUE(listing.secrets[0].in_use);
  EXPECT_EQ(listing.secrets[0].fingerprint, Fingerprint("s1"));
  EXPECT_EQ(listing.secrets[0].stored_time, kT0);
  EXPECT_EQ(listing.held_unmatched, 0);
}

TEST(MatchSecretsTest, WithTwoAtAdobeOnlyRecordedUuidsMatch) {
  std::vector<ConsoleSecret> listed = {{"uuid-a", kT0, std::nullopt}, {"uuid-b", kT0, kT0}};
  SecretListing unknown = MatchSecrets(Imported({"s1"}, {}), listed);
  EXPECT_FALSE(unknown.secrets[0].held);
  EXPECT_FALSE(unknown.secrets[1].held);
  EXPECT_EQ(unknown.held_unmatched, 1);

  SecretListing known = MatchSecrets(Imported({"new", "old"}, {"uuid-b", "uuid-a"}), listed);
  EXPECT_TRUE(known.secrets[0].held);
  EXPECT_FALSE(known.secrets[0].in_use);  // uuid-a is the second stored
  EXPECT_EQ(known.secrets[0].fingerprint, Fingerprint("old"));
  EXPECT_TRUE(known.secrets[1].in_use);
  EXPECT_EQ(known.held_unmatched, 0);
}

TEST(MatchSecretsTest, AStoredSecretDeletedInTheConsoleIsCountedUnmatched) {
  SecretListing listing =
      MatchSecrets(Imported({"s1", "s2"}, {"uuid-a", "uuid-gone"}), {{"uuid-a", kT0, {}}});
  EXPECT_TRUE(listing.secrets[0].in_use);
  EXPECT_EQ(listing.held_unmatched, 1);
}

class ClientSecretManagerTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  InMemoryCredentialStore store_{&clock_};
  FakeExchanger exchanger_;
  FakeConsole console_;
  ClientSecretManager manager_{&store_, &console_, &exchanger_, &clock_};
};

TEST_F(ClientSecretManagerTest, ListCallsTheConsoleWithATokenOfTheCredentialForItsScopes) {
  ASSERT_TRUE(store_.Create(Imported({"s1"}, {})).ok());
  console_.secrets = {{"uuid-a", kT0, kT0}};
  absl::StatusOr<SecretListing> listing = manager_.List("billing");
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_TRUE(listing->secrets[0].in_use);
  EXPECT_EQ(console_.last_target.org_id, "25591412");
  EXPECT_EQ(console_.last_target.credential_id, "17950");
  EXPECT_EQ(console_.last_target.client_id, "billing-client");
  EXPECT_EQ(console_.last_token, "token-for-billing-client");
  EXPECT_THAT(exchanger_.scopes, ::testing::Contains("manage_client_secrets"));
  EXPECT_THAT(exchanger_.scopes, ::testing::Contains("adobeio_api"));
}

TEST_F(ClientSecretManagerTest, WithoutConsoleIdsListSaysHowToSetThem) {
  Integration manual = Imported({"s1"}, {});
  manual.console = {};
  ASSERT_TRUE(store_.Create(manual).ok());
  absl::StatusOr<SecretListing> listing = manager_.List("billing");
  EXPECT_EQ(listing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(listing.status().message()), HasSubstr("--console-credential=ORG/CRED"));
}

TEST_F(ClientSecretManagerTest, AJwtIntegrationHasNoConsoleSecrets) {
  Integration jwt = Imported({"s1"}, {});
  jwt.auth_method = AuthMethod::kJwt;
  ASSERT_TRUE(store_.Create(jwt).ok());
  EXPECT_EQ(manager_.List("billing").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ClientSecretManagerTest, AnImsRefusalKeepsItsCodeAndSaysWhatWasBeingMinted) {
  ASSERT_TRUE(store_.Create(Imported({"s1"}, {})).ok());
  exchanger_.status = absl::FailedPreconditionError("IMS rejected: invalid_scope");
  absl::StatusOr<SecretListing> listing = manager_.List("billing");
  EXPECT_EQ(listing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(listing.status().message()), HasSubstr("Developer Console"));
  EXPECT_THAT(std::string(listing.status().message()), HasSubstr("invalid_scope"));
  EXPECT_EQ(console_.last_token, "");  // the Console was not called
}

TEST_F(ClientSecretManagerTest, AnUnknownIntegrationIsNotFound) {
  EXPECT_EQ(manager_.List("nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tokenbroker
