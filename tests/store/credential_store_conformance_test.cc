// The conformance tests themselves (see credential_store_conformance.h).
#include "tests/store/credential_store_conformance.h"

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "server/common/error_details.h"
#include "tests/testing/fake_clock.h"

namespace tokenbroker::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

Integration Sample(const std::string& id) {
  Integration in;
  in.id = id;
  in.display_name = "Sample " + id;
  in.auth_method = AuthMethod::kJwt;
  in.client_id = "client-" + id;
  in.org_id = "ORG@AdobeOrg";
  in.technical_account_id = "TECH@techacct.adobe.com";
  in.scopes = {"openid", "AdobeID"};
  in.metascopes = {"ent_dataservices_sdk"};
  in.ims_url = "https://ims-na1-stg1.adobelogin.com";
  in.sandbox_name = "prod";
  in.include_org_header = true;
  in.credentials.client_secrets = {SecretString(std::string("s1-" + id)),
                                   SecretString(std::string("s2-" + id))};
  in.credentials.private_key_pem = SecretString(std::string("-----BEGIN PRIVATE KEY-----x"));
  return in;
}

// Every Console and rotation field set, none at its default; the second
// secret's info has an unknown create time. Times in whole nanoseconds, as
// stores keep them.
Integration WithConsoleFields(Integration in) {
  in.console = ConsoleCredential{"4566206", "734521"};
  in.secret_rotation_period = absl::Hours(24 * 90);
  in.client_secret_info = {
      ClientSecretInfo{absl::FromUnixNanos(1'790'000'000'123'456'789), "uuid-first"},
      ClientSecretInfo{absl::InfinitePast(), "uuid-second"}};
  in.last_secret_rotation_time = absl::FromUnixNanos(1'795'000'000'987'654'321);
  return in;
}

// The same fields at their defaults: no Console ids, the server's rotation
// period, nothing known of either secret, never rotated.
Integration WithDefaultConsoleFields(Integration in) {
  in.console = ConsoleCredential();
  in.secret_rotation_period = std::nullopt;
  in.client_secret_info = {ClientSecretInfo(), ClientSecretInfo()};
  in.last_secret_rotation_time = absl::InfinitePast();
  return in;
}

// The Console and rotation fields as text, so that a failed comparison shows
// them.
std::string ConsoleFields(const Integration& in) {
  auto time = [](absl::Time t) {
    return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
  };
  std::string out = absl::StrCat(
      "console=", in.console.org_id, "/", in.console.credential_id, " period=",
      in.secret_rotation_period ? absl::FormatDuration(*in.secret_rotation_period) : "default",
      " last_rotation=", time(in.last_secret_rotation_time), " info=");
  for (const ClientSecretInfo& info : in.client_secret_info) {
    absl::StrAppend(&out, "[", time(info.create_time), " '", info.console_uuid, "']");
  }
  return out;
}

class Fixture {
 public:
  explicit Fixture(const StoreFactory& factory) : store(factory.make(&clock)) {}
  FakeClock clock;
  std::unique_ptr<CredentialStore> store;
};

TEST_P(CredentialStoreConformanceTest, CreateThenGetReturnsEveryField) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->etag.empty());
  EXPECT_EQ(created->create_time, f.clock.Now());
  EXPECT_EQ(created->update_time, f.clock.Now());

  absl::StatusOr<Integration> got = f.store->Get("acme");
  ASSERT_TRUE(got.ok()) << got.status();
  Integration want = Sample("acme");
  EXPECT_EQ(got->display_name, want.display_name);
  EXPECT_EQ(got->auth_method, want.auth_method);
  EXPECT_EQ(got->client_id, want.client_id);
  EXPECT_EQ(got->org_id, want.org_id);
  EXPECT_EQ(got->technical_account_id, want.technical_account_id);
  EXPECT_EQ(got->scopes, want.scopes);
  EXPECT_EQ(got->metascopes, want.metascopes);
  EXPECT_EQ(got->ims_url, want.ims_url);
  EXPECT_EQ(got->sandbox_name, want.sandbox_name);
  EXPECT_EQ(got->include_org_header, want.include_org_header);
  EXPECT_EQ(got->state, IntegrationState::kActive);
  ASSERT_EQ(got->credentials.client_secrets.size(), 2u);
  EXPECT_EQ(got->credentials.client_secrets[1].value(), "s2-acme");
  EXPECT_EQ(got->credentials.private_key_pem.value(), "-----BEGIN PRIVATE KEY-----x");
  EXPECT_EQ(got->etag, created->etag);
  EXPECT_EQ(got->create_time, created->create_time);
}

TEST_P(CredentialStoreConformanceTest, CreateExistingIsAlreadyExists) {
  Fixture f(GetParam());
  ASSERT_TRUE(f.store->Create(Sample("acme")).ok());
  absl::StatusOr<Integration> again = f.store->Create(Sample("acme"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("acme"));
}

TEST_P(CredentialStoreConformanceTest, GetUnknownIsNotFound) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> got = f.store->Get("nope");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("nope"));
  // The reason clients type the error by, as on the token path (client/conformance).
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(got.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), kReasonIntegrationNotFound);
  EXPECT_EQ(info->metadata().at("integration"), "nope");
}

TEST_P(CredentialStoreConformanceTest, ListPagesInIdOrderToTheEnd) {
  Fixture f(GetParam());
  for (const char* id : {"delta", "alpha", "echo", "charlie", "bravo"}) {
    ASSERT_TRUE(f.store->Create(Sample(id)).ok());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<IntegrationPage> page = f.store->List(2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& in : page->integrations) seen.push_back(in.id);
    token = page->next_page_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_THAT(seen, ElementsAre("alpha", "bravo", "charlie", "delta", "echo"));
  EXPECT_EQ(pages, 3);
}

TEST_P(CredentialStoreConformanceTest, ListOfEmptyStoreIsEmpty) {
  Fixture f(GetParam());
  absl::StatusOr<IntegrationPage> page = f.store->List(10, "");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->integrations.empty());
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_P(CredentialStoreConformanceTest, ListWithForgedPageTokenIsInvalidArgument) {
  Fixture f(GetParam());
  EXPECT_EQ(f.store->List(10, "not-a-token").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(CredentialStoreConformanceTest, UpdateChangesEtagAndUpdateTime) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  f.clock.Advance(absl::Seconds(5));
  Integration changed = *created;
  changed.display_name = "Renamed";
  changed.credentials.client_secrets = {SecretString(std::string("rotated"))};
  absl::StatusOr<Integration> updated = f.store->Update(changed, created->etag);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_NE(updated->etag, created->etag);
  EXPECT_EQ(updated->update_time, f.clock.Now());
  EXPECT_EQ(updated->create_time, created->create_time);
  absl::StatusOr<Integration> got = f.store->Get("acme");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->display_name, "Renamed");
  ASSERT_EQ(got->credentials.client_secrets.size(), 1u);
  EXPECT_EQ(got->credentials.client_secrets[0].value(), "rotated");
}

TEST_P(CredentialStoreConformanceTest, UpdateWithStaleEtagIsAborted) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(f.store->Update(*created, created->etag).ok());
  absl::StatusOr<Integration> stale = f.store->Update(*created, created->etag);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  // An empty etag means "unconditional".
  EXPECT_TRUE(f.store->Update(*created, "").ok());
}

TEST_P(CredentialStoreConformanceTest, UpdateUnknownIsNotFound) {
  Fixture f(GetParam());
  EXPECT_EQ(f.store->Update(Sample("ghost"), "").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(CredentialStoreConformanceTest, DeleteRemovesAndHonoursEtag) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(f.store->Delete("acme", "0000").code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(f.store->Delete("acme", created->etag).ok());
  EXPECT_EQ(f.store->Get("acme").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(f.store->Delete("acme", "").code(), absl::StatusCode::kNotFound);
}

TEST_P(CredentialStoreConformanceTest, TokensArePersistedPerIntegration) {
  Fixture f(GetParam());
  ASSERT_TRUE(f.store->Create(Sample("acme")).ok());
  absl::StatusOr<std::optional<AccessToken>> none = f.store->GetToken("acme");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  AccessToken token;
  token.access_token = SecretString(std::string("eyJ.token.sig"));
  token.issue_time = absl::FromUnixSeconds(1'800'000'000);
  token.expire_time = token.issue_time + absl::Hours(24);
  token.debug_id = "dbg-1";
  ASSERT_TRUE(f.store->PutToken("acme", token).ok());
  absl::StatusOr<std::optional<AccessToken>> got = f.store->GetToken("acme");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->access_token.value(), "eyJ.token.sig");
  EXPECT_EQ((*got)->expire_time, token.expire_time);
  EXPECT_EQ((*got)->issue_time, token.issue_time);

  EXPECT_EQ(f.store->PutToken("ghost", token).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(f.store->GetToken("ghost").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(CredentialStoreConformanceTest, UpdateDropsThePersistedToken) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  AccessToken token;
  token.access_token = SecretString(std::string("old"));
  token.issue_time = f.clock.Now();
  token.expire_time = f.clock.Now() + absl::Hours(1);
  ASSERT_TRUE(f.store->PutToken("acme", token).ok());
  ASSERT_TRUE(f.store->Update(*created, "").ok());
  absl::StatusOr<std::optional<AccessToken>> got = f.store->GetToken("acme");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_P(CredentialStoreConformanceTest, DeleteAndRecreateStartsWithoutToken) {
  Fixture f(GetParam());
  ASSERT_TRUE(f.store->Create(Sample("acme")).ok());
  AccessToken token;
  token.access_token = SecretString(std::string("old"));
  token.expire_time = f.clock.Now() + absl::Hours(1);
  ASSERT_TRUE(f.store->PutToken("acme", token).ok());
  ASSERT_TRUE(f.store->Delete("acme", "").ok());
  ASSERT_TRUE(f.store->Create(Sample("acme")).ok());
  absl::StatusOr<std::optional<AccessToken>> got = f.store->GetToken("acme");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_P(CredentialStoreConformanceTest, GetWithTokenReadsTheIntegrationAndItsToken) {
  Fixture f(GetParam());
  ASSERT_TRUE(f.store->Create(Sample("acme")).ok());
  absl::StatusOr<IntegrationWithToken> none = f.store->GetWithToken("acme");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->integration.id, "acme");
  EXPECT_EQ(none->integration.credentials.client_secrets[0].value(), "s1-acme");
  EXPECT_FALSE(none->token.has_value());

  AccessToken token;
  token.access_token = SecretString(std::string("eyJ.token.sig"));
  token.issue_time = absl::FromUnixSeconds(1'800'000'000);
  token.expire_time = token.issue_time + absl::Hours(24);
  token.debug_id = "dbg-1";
  ASSERT_TRUE(f.store->PutToken("acme", token).ok());
  absl::StatusOr<IntegrationWithToken> both = f.store->GetWithToken("acme");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->integration.client_id, "client-acme");
  ASSERT_TRUE(both->token.has_value());
  EXPECT_EQ(both->token->access_token.value(), "eyJ.token.sig");
  EXPECT_EQ(both->token->issue_time, token.issue_time);
  EXPECT_EQ(both->token->expire_time, token.expire_time);
  EXPECT_EQ(both->token->debug_id, "dbg-1");

  absl::StatusOr<IntegrationWithToken> ghost = f.store->GetWithToken("ghost");
  EXPECT_EQ(ghost.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(ghost.status().message()), HasSubstr("ghost"));
}

TEST_P(CredentialStoreConformanceTest, ConsoleFieldsRoundTripThroughCreateGetListAndGetWithToken) {
  Fixture f(GetParam());
  Integration known = WithConsoleFields(Sample("alpha"));
  Integration defaults = WithDefaultConsoleFields(Sample("bravo"));
  Integration never = WithConsoleFields(Sample("charlie"));
  never.secret_rotation_period = absl::ZeroDuration();  // not the same as nullopt
  never.last_secret_rotation_time = absl::InfinitePast();
  const std::vector<Integration> want = {known, defaults, never};
  for (const Integration& in : want) {
    absl::StatusOr<Integration> created = f.store->Create(in);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(ConsoleFields(*created), ConsoleFields(in));
  }
  absl::StatusOr<IntegrationPage> page = f.store->List(10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->integrations.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    absl::StatusOr<Integration> got = f.store->Get(want[i].id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(ConsoleFields(*got), ConsoleFields(want[i]));
    EXPECT_EQ(ConsoleFields(page->integrations[i]), ConsoleFields(want[i]));
    absl::StatusOr<IntegrationWithToken> with_token = f.store->GetWithToken(want[i].id);
    ASSERT_TRUE(with_token.ok()) << with_token.status();
    EXPECT_EQ(ConsoleFields(with_token->integration), ConsoleFields(want[i]));
  }
}

TEST_P(CredentialStoreConformanceTest, UpdateReplacesTheConsoleFieldsBothWays) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(WithDefaultConsoleFields(Sample("acme")));
  ASSERT_TRUE(created.ok()) << created.status();
  Integration set = WithConsoleFields(*created);
  absl::StatusOr<Integration> updated = f.store->Update(set, created->etag);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(ConsoleFields(*updated), ConsoleFields(set));
  EXPECT_EQ(ConsoleFields(f.store->Get("acme").value()), ConsoleFields(set));

  // And back: NULLs and empty values are written, not skipped.
  Integration cleared = WithDefaultConsoleFields(*updated);
  updated = f.store->Update(cleared, updated->etag);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(ConsoleFields(f.store->Get("acme").value()), ConsoleFields(cleared));
  EXPECT_EQ(f.store->Get("acme")->secret_rotation_period, std::nullopt);
}

// Collects the changes a store delivers.
class ChangeLog {
 public:
  StoreChangeListener Listener() {
    return [this](const StoreChange& change) {
      absl::MutexLock lock(&mu_);
      changes_.push_back(change);
    };
  }
  std::vector<StoreChange> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(changes_, {});
  }

 private:
  absl::Mutex mu_;
  std::vector<StoreChange> changes_ ABSL_GUARDED_BY(mu_);
};

TEST_P(CredentialStoreConformanceTest, EveryCommittedWriteEmitsExactlyOneChange) {
  Fixture f(GetParam());
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());
  using Kind = StoreChange::Kind;

  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  std::vector<StoreChange> changes = log.Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Kind::kIntegration);
  EXPECT_EQ(changes[0].id, "acme");
  EXPECT_FALSE(changes[0].deleted);

  AccessToken token;
  token.access_token = SecretString(std::string("tok"));
  token.issue_time = f.clock.Now();
  token.expire_time = f.clock.Now() + absl::Hours(24);
  ASSERT_TRUE(f.store->PutToken("acme", token).ok());
  changes = log.Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Kind::kToken);
  EXPECT_EQ(changes[0].id, "acme");
  EXPECT_EQ(changes[0].token_expire_time, token.expire_time);

  absl::StatusOr<Integration> updated = f.store->Update(*created, created->etag);
  ASSERT_TRUE(updated.ok());
  changes = log.Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Kind::kIntegration);
  EXPECT_FALSE(changes[0].deleted);

  ASSERT_TRUE(f.store->Delete("acme", updated->etag).ok());
  changes = log.Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Kind::kIntegration);
  EXPECT_EQ(changes[0].id, "acme");
  EXPECT_TRUE(changes[0].deleted);

  // Nullptr stops the calls.
  f.store->SetChangeListener(nullptr);
  ASSERT_TRUE(f.store->Create(Sample("beta")).ok());
  EXPECT_TRUE(log.Take().empty());
}

TEST_P(CredentialStoreConformanceTest, AFailedWriteEmitsNoChange) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(f.store->Update(*created, created->etag).ok());
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());
  AccessToken token;
  token.access_token = SecretString(std::string("tok"));
  token.expire_time = f.clock.Now() + absl::Hours(1);

  EXPECT_EQ(f.store->Create(Sample("acme")).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(f.store->Update(*created, created->etag).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(f.store->Update(Sample("ghost"), "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(f.store->Delete("acme", created->etag).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(f.store->Delete("ghost", "").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(f.store->PutToken("ghost", token).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(log.Take().empty());
  f.store->SetChangeListener(nullptr);
}

IntegrationWrite CreateOf(Integration integration) {
  return IntegrationWrite{IntegrationWrite::Kind::kCreate, std::move(integration), ""};
}

IntegrationWrite ReplaceOf(Integration integration, std::string expected_etag) {
  return IntegrationWrite{IntegrationWrite::Kind::kReplace, std::move(integration),
                          std::move(expected_etag)};
}

std::vector<std::string> ChangedIds(const std::vector<StoreChange>& changes) {
  std::vector<std::string> ids;
  for (const StoreChange& change : changes) {
    EXPECT_EQ(change.kind, StoreChange::Kind::kIntegration);
    EXPECT_FALSE(change.deleted);
    ids.push_back(change.id);
  }
  return ids;
}

TEST_P(CredentialStoreConformanceTest, WriteAllCreatesEveryIntegrationInOrderAndAnnouncesEach) {
  Fixture f(GetParam());
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());
  const std::vector<Integration> want = {WithConsoleFields(Sample("charlie")),
                                         WithDefaultConsoleFields(Sample("alpha")),
                                         WithConsoleFields(Sample("bravo"))};
  std::vector<IntegrationWrite> writes;
  writes.reserve(want.size());
  for (const Integration& in : want) writes.push_back(CreateOf(in));

  absl::StatusOr<std::vector<Integration>> written = f.store->WriteAll(writes);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->size(), want.size());
  std::set<std::string> etags;
  for (size_t i = 0; i < want.size(); ++i) {
    const Integration& out = (*written)[i];
    EXPECT_EQ(out.id, want[i].id);
    EXPECT_EQ(out.create_time, f.clock.Now());
    EXPECT_EQ(out.update_time, f.clock.Now());
    EXPECT_EQ(ConsoleFields(out), ConsoleFields(want[i]));
    etags.insert(out.etag);
    absl::StatusOr<Integration> got = f.store->Get(want[i].id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->etag, out.etag);
    EXPECT_EQ(got->display_name, want[i].display_name);
    EXPECT_EQ(got->credentials.client_secrets[1].value(), "s2-" + want[i].id);
    EXPECT_EQ(ConsoleFields(*got), ConsoleFields(want[i]));
  }
  EXPECT_EQ(etags.size(), want.size());
  EXPECT_EQ(etags.count(""), 0u);
  EXPECT_THAT(ChangedIds(log.Take()), UnorderedElementsAre("charlie", "alpha", "bravo"));
  f.store->SetChangeListener(nullptr);
}

TEST_P(CredentialStoreConformanceTest, WriteAllReplaceKeepsCreateTimeAndDropsTheCachedToken) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok()) << created.status();
  AccessToken token;
  token.access_token = SecretString(std::string("old"));
  token.expire_time = f.clock.Now() + absl::Hours(1);
  ASSERT_TRUE(f.store->PutToken("acme", token).ok());
  f.clock.Advance(absl::Seconds(5));
  Integration changed = WithConsoleFields(*created);
  changed.display_name = "Imported";

  absl::StatusOr<std::vector<Integration>> written = f.store->WriteAll(
      {ReplaceOf(changed, created->etag), CreateOf(WithConsoleFields(Sample("beta")))});
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->size(), 2u);
  const Integration& replaced = written->front();
  EXPECT_NE(replaced.etag, created->etag);
  EXPECT_EQ(replaced.create_time, created->create_time);
  EXPECT_EQ(replaced.update_time, f.clock.Now());
  EXPECT_EQ(written->back().create_time, f.clock.Now());
  absl::StatusOr<IntegrationWithToken> got = f.store->GetWithToken("acme");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->integration.display_name, "Imported");
  EXPECT_EQ(got->integration.etag, replaced.etag);
  EXPECT_EQ(ConsoleFields(got->integration), ConsoleFields(changed));
  EXPECT_FALSE(got->token.has_value());
}

// `absent` are not stored, `unchanged` is stored with `etag`, and the change
// feed heard nothing.
void ExpectNothingWritten(Fixture& f, ChangeLog& log, const std::vector<std::string>& absent,
                          const std::string& unchanged, const std::string& etag) {
  for (const std::string& id : absent) {
    EXPECT_EQ(f.store->Get(id).status().code(), absl::StatusCode::kNotFound) << id;
  }
  absl::StatusOr<Integration> kept = f.store->Get(unchanged);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->etag, etag);
  EXPECT_EQ(kept->display_name, Sample(unchanged).display_name);
  EXPECT_TRUE(log.Take().empty());
}

TEST_P(CredentialStoreConformanceTest, WriteAllWithAnExistingIdIsAlreadyExistsAndWritesNothing) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> existing = f.store->Create(Sample("bravo"));
  ASSERT_TRUE(existing.ok()) << existing.status();
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());
  Integration renamed = Sample("bravo");
  renamed.display_name = "Imported";

  absl::StatusOr<std::vector<Integration>> written = f.store->WriteAll(
      {CreateOf(Sample("alpha")), CreateOf(renamed), CreateOf(Sample("charlie"))});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(written.status().message()), HasSubstr("bravo"));
  ExpectNothingWritten(f, log, {"alpha", "charlie"}, "bravo", existing->etag);
  f.store->SetChangeListener(nullptr);
}

TEST_P(CredentialStoreConformanceTest, WriteAllWithAStaleEtagIsAbortedAndWritesNothing) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("bravo"));
  ASSERT_TRUE(created.ok()) << created.status();
  absl::StatusOr<Integration> current = f.store->Update(*created, created->etag);
  ASSERT_TRUE(current.ok()) << current.status();
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());
  Integration renamed = *created;
  renamed.display_name = "Imported";

  absl::StatusOr<std::vector<Integration>> written = f.store->WriteAll(
      {CreateOf(Sample("alpha")), ReplaceOf(renamed, created->etag), CreateOf(Sample("charlie"))});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(written.status().message()), HasSubstr("bravo"));
  ExpectNothingWritten(f, log, {"alpha", "charlie"}, "bravo", current->etag);
  f.store->SetChangeListener(nullptr);
}

TEST_P(CredentialStoreConformanceTest, WriteAllReplacingAnUnknownIdIsNotFoundAndWritesNothing) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("bravo"));
  ASSERT_TRUE(created.ok()) << created.status();
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());

  absl::StatusOr<std::vector<Integration>> written =
      f.store->WriteAll({CreateOf(Sample("alpha")), ReplaceOf(Sample("ghost"), "")});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(written.status().message()), HasSubstr("ghost"));
  ExpectNothingWritten(f, log, {"alpha", "ghost"}, "bravo", created->etag);
  f.store->SetChangeListener(nullptr);
}

TEST_P(CredentialStoreConformanceTest, WriteAllWithARepeatedIdIsInvalidArgumentAndWritesNothing) {
  Fixture f(GetParam());
  absl::StatusOr<Integration> created = f.store->Create(Sample("bravo"));
  ASSERT_TRUE(created.ok()) << created.status();
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());

  absl::StatusOr<std::vector<Integration>> written = f.store->WriteAll(
      {CreateOf(Sample("alpha")), CreateOf(Sample("acme")), ReplaceOf(Sample("acme"), "")});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(written.status().message()), HasSubstr("acme"));
  ExpectNothingWritten(f, log, {"alpha", "acme"}, "bravo", created->etag);
  f.store->SetChangeListener(nullptr);
}

TEST_P(CredentialStoreConformanceTest, WriteAllOfAnEmptyBatchIsInvalidArgument) {
  Fixture f(GetParam());
  ChangeLog log;
  f.store->SetChangeListener(log.Listener());
  absl::StatusOr<std::vector<Integration>> written = f.store->WriteAll({});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(written.status().message()), HasSubstr("nothing to write"));
  EXPECT_TRUE(log.Take().empty());
  f.store->SetChangeListener(nullptr);
}

}  // namespace
}  // namespace tokenbroker::testing
