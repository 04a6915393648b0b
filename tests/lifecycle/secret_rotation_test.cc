// The client-secret rotation over a fake Adobe (Console secrets API and IMS
// in one, sharing the secrets) and an in-memory store: every step, the wait
// for the old secret to go unused, and a failure injected at each step (a
// crash: what was stored stays) followed by a resuming call.
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/lifecycle/client_secrets.h"
#include "server/store/memory_credential_store.h"
#include "tests/lifecycle/fake_adobe.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/forwarding_store.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Fails the `fail_update`-th Update from now (1 = the next one), as a crash
// between two steps would: nothing of that write is stored.
class CrashingStore final : public testing::ForwardingCredentialStore {
 public:
  explicit CrashingStore(CredentialStore* target) : ForwardingCredentialStore(target) {}
  absl::StatusOr<Integration> Update(const Integration& i, absl::string_view etag) override {
    if (fail_update > 0 && --fail_update == 0) return absl::UnavailableError("crashed");
    return ForwardingCredentialStore::Update(i, etag);
  }
  int fail_update = 0;
};

class SecretRotationTest : public ::testing::Test {
 protected:
  SecretRotationTest() {
    adobe_.AddDirectly("secret-1");
    Integration in;
    in.id = "billing";
    in.auth_method = AuthMethod::kOAuthServerToServer;
    in.client_id = "billing-client";
    in.org_id = "ACME@AdobeOrg";
    in.scopes = {"openid"};
    in.console = {"25591412", "17950"};
    in.credentials.client_secrets.emplace_back(std::string("secret-1"));
    in.client_secret_info = {{clock_.Now(), ""}};  // imported: uuid unknown
    EXPECT_TRUE(memory_.Create(in).ok());
  }

  Integration Stored() { return memory_.Get("billing").value(); }
  std::vector<std::string> StoredValues() {
    std::vector<std::string> values;
    for (const SecretString& s : Stored().credentials.client_secrets) {
      values.emplace_back(s.value());
    }
    return values;
  }
  // The outcome every rotation must end in: one secret at Adobe, the one
  // tokenbroker stores and uses, and it is not the first one.
  void ExpectRotated() {
    EXPECT_THAT(adobe_.Values(), SizeIs(1));
    EXPECT_EQ(StoredValues(), adobe_.Values());
    EXPECT_NE(adobe_.Values().front(), "secret-1");
    EXPECT_EQ(Stored().client_secret_info.front().rotation, SecretRotationRole::kNone);
    EXPECT_EQ(Stored().last_secret_rotation_time, clock_.Now());
  }

  testing::FakeClock clock_;
  InMemoryCredentialStore memory_{&clock_};
  CrashingStore store_{&memory_};
  FakeAdobe adobe_{&clock_};
  ClientSecretManager manager_{&store_, &adobe_, &adobe_, &clock_,
                               ClientSecretOptions{absl::Minutes(15)}};
};

TEST_F(SecretRotationTest, NowSwitchesDeletesTheOldSecretAndStoresTheNewToken) {
  absl::StatusOr<RotationResult> result = manager_.Rotate("billing", /*now=*/true);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->phase, RotationResult::Phase::kDone);
  EXPECT_THAT(result->deleted_uuids, ElementsAre("uuid-1"));
  EXPECT_EQ(result->fingerprint, Fingerprint("secret-2"));
  ExpectRotated();
  std::optional<AccessToken> token = memory_.GetToken("billing").value();
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->access_token.value(), "token-secret-2");  // minted with the new secret
}

TEST_F(SecretRotationTest, WithoutNowTheOldSecretWaitsUntilUnusedForTheGracePeriod) {
  absl::StatusOr<RotationResult> first = manager_.Rotate("billing", false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->phase, RotationResult::Phase::kWaiting);
  EXPECT_THAT(first->detail, HasSubstr("unused for 15m"));
  EXPECT_EQ(StoredValues(), (std::vector<std::string>{"secret-2", "secret-1"}));
  EXPECT_THAT(adobe_.Values(), SizeIs(2));  // at the peak, exactly 2

  clock_.Advance(absl::Minutes(10));
  Integration old_user = Stored();  // a replica that has not switched yet
  old_user.credentials.client_secrets.clear();
  old_user.credentials.client_secrets.emplace_back(std::string("secret-1"));
  ASSERT_TRUE(adobe_.Exchange(old_user).ok());
  clock_.Advance(absl::Minutes(10));
  absl::StatusOr<RotationResult> second = manager_.Rotate("billing", false);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->phase, RotationResult::Phase::kWaiting);  // used 10 min ago

  clock_.Advance(absl::Minutes(6));
  absl::StatusOr<RotationResult> third = manager_.Rotate("billing", false);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->phase, RotationResult::Phase::kDone);
  ExpectRotated();
}

TEST_F(SecretRotationTest, ACrashBetweenAdobesAnswerAndTheWriteLeavesAnOrphanTheNextCallDeletes) {
  // Update 1 records the uuid of the secret in use; update 2 would store the
  // new secret.
  store_.fail_update = 2;
  EXPECT_FALSE(manager_.Rotate("billing", true).ok());
  EXPECT_THAT(adobe_.Values(), SizeIs(2));
  EXPECT_EQ(StoredValues(), (std::vector<std::string>{"secret-1"}));

  absl::StatusOr<RotationResult> resumed = manager_.Rotate("billing", true);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_THAT(resumed->deleted_uuids, ElementsAre("uuid-2", "uuid-1"));  // the orphan, the old
  ExpectRotated();
}

// A failure at each store write, then a call that resumes: always the same
// end. The first rotation writes 4 times (the uuid of the secret in use, the
// new secret, the switch, the end), a later one 3.
class FirstRotationCrashTest : public SecretRotationTest,
                               public ::testing::WithParamInterface<int> {};
class LaterRotationCrashTest : public SecretRotationTest,
                               public ::testing::WithParamInterface<int> {};

TEST_P(FirstRotationCrashTest, AFailedWriteIsResumedByTheNextCall) {
  store_.fail_update = GetParam();
  EXPECT_FALSE(manager_.Rotate("billing", true).ok());
  EXPECT_EQ(store_.fail_update, 0);  // the injected failure happened
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());
  ExpectRotated();
}

TEST_P(LaterRotationCrashTest, AFailedWriteIsResumedByTheNextCall) {
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());
  store_.fail_update = GetParam();
  EXPECT_FALSE(manager_.Rotate("billing", true).ok());
  EXPECT_EQ(store_.fail_update, 0);
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());
  ExpectRotated();
  EXPECT_NE(adobe_.Values().front(), "secret-2");  // a newer one than the first rotation gave
}

INSTANTIATE_TEST_SUITE_P(EveryWrite, FirstRotationCrashTest, ::testing::Values(1, 2, 3, 4));
INSTANTIATE_TEST_SUITE_P(EveryWrite, LaterRotationCrashTest, ::testing::Values(1, 2, 3));

TEST_F(SecretRotationTest, ANewSecretImsDoesNotAcceptYetIsKeptAndProvenByTheNextCall) {
  adobe_.refuse_new_secrets = true;
  absl::StatusOr<RotationResult> refused = manager_.Rotate("billing", true);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("rotate again later"));
  EXPECT_EQ(StoredValues(), (std::vector<std::string>{"secret-1", "secret-2"}));  // pending
  EXPECT_EQ(Stored().client_secret_info[1].rotation, SecretRotationRole::kPending);

  adobe_.refuse_new_secrets = false;
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());
  ExpectRotated();
}

TEST_F(SecretRotationTest, AFailedDeleteAtTheConsoleIsRetriedByTheNextCall) {
  adobe_.fail_deletes = true;
  EXPECT_EQ(manager_.Rotate("billing", true).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StoredValues(), (std::vector<std::string>{"secret-2", "secret-1"}));
  adobe_.fail_deletes = false;
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());
  ExpectRotated();
}

TEST_F(SecretRotationTest, TwoSecretsAtAdobeThatTokenbrokerCannotTellApartStopTheRotation) {
  adobe_.AddDirectly("someone-elses");
  absl::StatusOr<RotationResult> result = manager_.Rotate("billing", true);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("cannot tell them apart"));
  EXPECT_THAT(adobe_.Values(), SizeIs(2));  // nothing deleted
}

TEST_F(SecretRotationTest, TheSecretInUseDeletedInTheConsoleStopsTheRotation) {
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());  // uuid recorded
  ASSERT_TRUE(adobe_.Delete({}, SecretString(std::string()), "uuid-2").ok());
  adobe_.AddDirectly("replacement");
  absl::StatusOr<RotationResult> result = manager_.Rotate("billing", true);
  // The Console token cannot even be minted: IMS refuses the stored secret.
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SecretRotationTest, RotatingTwiceGivesAThirdSecret) {
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());
  ASSERT_TRUE(manager_.Rotate("billing", true).ok());
  EXPECT_EQ(adobe_.Values(), (std::vector<std::string>{"secret-3"}));
  EXPECT_EQ(StoredValues(), adobe_.Values());
}

}  // namespace
}  // namespace tokenbroker
