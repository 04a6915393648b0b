// PostgresCredentialStore: the conformance suite against a real PostgreSQL
// server (tests/testing/postgres.h), plus what only a shared database store
// has: migrations under concurrency, refresh leases on the database clock,
// the change feed and its resync, reconnecting, health, secrets at rest,
// keyring checks at start-up, the DSN file, and password hygiene.
#include "server/store/postgres_credential_store.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "server/crypto/envelope_cipher.h"
#include "server/crypto/keyring.h"
#include "server/server.h"
#include "tests/store/credential_store_conformance.h"
#include "tests/store/sqlite_test_cipher.h"
#include "tests/testing/certs.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/forwarding_store.h"
#include "tests/testing/postgres.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The process-wide server; a test fails (not skips) when it cannot start.
PostgresServer* SharedServer() {
  absl::StatusOr<PostgresServer*> server = PostgresServer::Shared();
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *server : nullptr;
}

std::string FreshDsn() {
  PostgresServer* server = SharedServer();
  if (server == nullptr) return "postgresql://nobody@127.0.0.1:1/none";
  absl::StatusOr<std::string> db = server->CreateFreshDatabase();
  EXPECT_TRUE(db.ok()) << db.status();
  return server->dsn(db.ok() ? *db : "postgres");
}

PostgresStoreOptions Options(const std::string& dsn) {
  PostgresStoreOptions o;
  o.dsn = dsn;
  o.pool_size = 4;
  o.connect_timeout = absl::Seconds(3);
  o.acquire_timeout = absl::Seconds(3);
  o.max_reconnect_backoff = absl::Milliseconds(500);
  return o;
}

// A PostgresCredentialStore on its own fresh database, owning its cipher.
class OwningPostgresStore final : public ForwardingCredentialStore {
 public:
  explicit OwningPostgresStore(const Clock* clock) {
    auto store = PostgresCredentialStore::Open(Options(FreshDsn()), &cipher_, clock);
    EXPECT_TRUE(store.ok()) << store.status();
    if (store.ok()) store_ = *std::move(store);
    set_target(store_.get());
  }

 private:
  FakeEnvelopeCipher cipher_;
  std::unique_ptr<PostgresCredentialStore> store_;
};

INSTANTIATE_TEST_SUITE_P(
    Postgres, CredentialStoreConformanceTest,
    ::testing::Values(StoreFactory{"postgres",
                                   [](const Clock* clock) -> std::unique_ptr<CredentialStore> {
                                     return std::make_unique<OwningPostgresStore>(clock);
                                   }}),
    [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

constexpr char kSecretMarker[] = "CLIENT-SECRET-MARKER-7f3a";
constexpr char kKeyMarker[] = "PRIVATE-KEY-MARKER-91bc";
constexpr char kTokenMarker[] = "ACCESS-TOKEN-MARKER-c0de";

Integration Sample(const std::string& id) {
  Integration in;
  in.id = id;
  in.display_name = "Display " + id;
  in.auth_method = AuthMethod::kJwt;
  in.client_id = "client-" + id;
  in.org_id = "ORG@AdobeOrg";
  in.technical_account_id = "TECH@techacct.adobe.com";
  in.scopes = {"openid", "AdobeID"};
  in.ims_url = "https://ims-na1.adobelogin.com";
  in.credentials.client_secrets = {SecretString(absl::StrCat(kSecretMarker, "-", id))};
  in.credentials.private_key_pem = SecretString(absl::StrCat(kKeyMarker, "-", id));
  return in;
}

AccessToken Token(const std::string& value) {
  AccessToken token;
  token.access_token = SecretString(value);
  token.issue_time = absl::FromUnixSeconds(1'800'000'000);
  token.expire_time = token.issue_time + absl::Hours(24);
  token.debug_id = "dbg";
  return token;
}

// The tail of a database DSN: its name.
std::string DatabaseOf(const std::string& dsn) { return dsn.substr(dsn.rfind('/') + 1); }

// Collects change feed events. Declare it before the store it listens to: the store's feed thread
// calls it until the store is destroyed (found by ThreadSanitizer: a Recorder destroyed first
// raced with a last delivery).
class Recorder {
 public:
  std::function<void(const StoreChange&)> Listener() {
    return [this](const StoreChange& change) {
      absl::MutexLock lock(&mu_);
      changes_.push_back(change);
    };
  }
  // Waits until a change of `kind` (and `id`, unless empty) arrives.
  bool WaitFor(StoreChange::Kind kind, const std::string& id,
               absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const StoreChange& c : changes_) {
        if (c.kind == kind && (id.empty() || c.id == id)) return true;
      }
      return false;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    changes_.clear();
  }
  std::vector<StoreChange> All() {
    absl::MutexLock lock(&mu_);
    return changes_;
  }

 private:
  absl::Mutex mu_;
  std::vector<StoreChange> changes_ ABSL_GUARDED_BY(mu_);
};

// Writes tokens of `id` through `writer` until `recorder` hears one: a
// change feed starts listening asynchronously.
::testing::AssertionResult WriteUntilHeard(PostgresCredentialStore& writer, Recorder& recorder,
                                           const std::string& id) {
  for (int i = 0; i < 50; ++i) {
    absl::Status put = writer.PutToken(id, Token("t"));
    if (!put.ok()) return ::testing::AssertionFailure() << put;
    if (recorder.WaitFor(StoreChange::Kind::kToken, id, absl::Milliseconds(200))) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "the change feed never heard of " << id;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<PostgresCredentialStore> OpenStore(const std::string& dsn,
                                                     const Clock* clock = nullptr) {
    auto store = PostgresCredentialStore::Open(Options(dsn), &cipher_, clock ? clock : &clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  FakeClock clock_;
  FakeEnvelopeCipher cipher_;
};

TEST_F(PostgresStoreTest, OpenTwiceAppliesMigrationsOnce) {
  std::string dsn = FreshDsn();
  ASSERT_NE(OpenStore(dsn), nullptr);
  ASSERT_NE(OpenStore(dsn), nullptr);
  absl::StatusOr<std::string> versions =
      SharedServer()->Psql(DatabaseOf(dsn),
                           "SELECT string_agg(version::text, ',' ORDER BY version) "
                           "FROM schema_migrations");
  ASSERT_TRUE(versions.ok()) << versions.status();
  std::vector<int> want;
  for (int v = 1; v <= PostgresCredentialStore::LatestSchemaVersion(); ++v) want.push_back(v);
  EXPECT_EQ(*versions, absl::StrJoin(want, ","));
}

TEST_F(PostgresStoreTest, ConcurrentOpensOfAFreshDatabaseAllSucceed) {
  std::string dsn = FreshDsn();
  constexpr int kReplicas = 6;
  std::vector<absl::Status> results(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      results[i] = PostgresCredentialStore::Open(Options(dsn), &cipher_, &clock_).status();
    });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  absl::StatusOr<std::string> count =
      SharedServer()->Psql(DatabaseOf(dsn), "SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, absl::StrCat(PostgresCredentialStore::LatestSchemaVersion()));
}

TEST_F(PostgresStoreTest, MigrateAloneNeedsNoCipherAndIsIdempotent) {
  std::string dsn = FreshDsn();
  absl::StatusOr<int> first = PostgresCredentialStore::Migrate(Options(dsn));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, PostgresCredentialStore::LatestSchemaVersion());
  absl::StatusOr<int> second = PostgresCredentialStore::Migrate(Options(dsn));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(OpenStore(dsn), nullptr);
}

TEST_F(PostgresStoreTest, OpenOfANewerSchemaIsFailedPrecondition) {
  std::string dsn = FreshDsn();
  ASSERT_NE(OpenStore(dsn), nullptr);
  ASSERT_TRUE(
      SharedServer()->Psql(DatabaseOf(dsn), "INSERT INTO schema_migrations VALUES (999)").ok());
  auto store = PostgresCredentialStore::Open(Options(dsn), &cipher_, &clock_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("999"));
}

TEST_F(PostgresStoreTest, OpenOfASchemaVersion2DatabaseReadsTheNewFieldsAsDefaults) {
  const std::string dsn = FreshDsn();
  Integration in = Sample("acme");
  in.credentials.client_secrets.emplace_back(std::string("second-secret"));
  in.console = ConsoleCredential{"4566206", "734521"};
  in.secret_rotation_period = absl::ZeroDuration();
  in.client_secret_info = {{absl::FromUnixSeconds(1'790'000'000), "uuid-1"}, ClientSecretInfo()};
  in.last_secret_rotation_time = absl::FromUnixSeconds(1'795'000'000);
  {
    auto store = OpenStore(dsn);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Create(in).ok());
  }
  // Back to what a binary of schema version 2 left: migration 3 undone.
  ASSERT_TRUE(
      SharedServer()
          ->Psql(DatabaseOf(dsn),
                 "ALTER TABLE integrations DROP COLUMN console_org_id, "
                 "DROP COLUMN console_credential_id, DROP COLUMN secret_rotation_period_ns, "
                 "DROP COLUMN client_secret_info, DROP COLUMN last_secret_rotation_time_ns; "
                 "DELETE FROM schema_migrations WHERE version = 3")
          .ok());

  auto store = OpenStore(dsn);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::string> version =
      SharedServer()->Psql(DatabaseOf(dsn), "SELECT max(version) FROM schema_migrations");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, absl::StrCat(PostgresCredentialStore::LatestSchemaVersion()));
  absl::StatusOr<Integration> got = store->Get("acme");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->credentials.client_secrets.size(), 2u);
  EXPECT_TRUE(got->console.empty());
  EXPECT_EQ(got->secret_rotation_period, std::nullopt);
  EXPECT_THAT(got->client_secret_info, ElementsAre(ClientSecretInfo(), ClientSecretInfo()));
  EXPECT_EQ(got->last_secret_rotation_time, absl::InfinitePast());
  ASSERT_TRUE(store->Update(in, got->etag).ok());
  EXPECT_EQ(store->Get("acme")->console, in.console);
}

TEST_F(PostgresStoreTest, LeaseIsRefusedToOthersWhileHeldAndExtendedForTheHolder) {
  auto store = OpenStore(FreshDsn());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->TryAcquireRefreshLease("acme", "replica-a", absl::Minutes(1)).value().held,
            true);
  EXPECT_EQ(store->TryAcquireRefreshLease("acme", "replica-b", absl::Minutes(1)).value().held,
            false);
  EXPECT_EQ(store->TryAcquireRefreshLease("acme", "replica-a", absl::Minutes(1)).value().held,
            true);
  // Leases are per integration.
  EXPECT_EQ(store->TryAcquireRefreshLease("other", "replica-b", absl::Minutes(1)).value().held,
            true);
  // Releasing someone else's lease does nothing.
  ASSERT_TRUE(store->ReleaseRefreshLease("acme", "replica-b").ok());
  EXPECT_EQ(store->TryAcquireRefreshLease("acme", "replica-b", absl::Minutes(1)).value().held,
            false);
  ASSERT_TRUE(store->ReleaseRefreshLease("acme", "replica-a").ok());
  EXPECT_EQ(store->TryAcquireRefreshLease("acme", "replica-b", absl::Minutes(1)).value().held,
            true);
}

TEST_F(PostgresStoreTest, LeaseExpiresByTheDatabaseClockNotTheReplicas) {
  std::string dsn = FreshDsn();
  // Replica B's clock runs a day ahead: it must not make A's lease expire.
  FakeClock ahead;
  ahead.Advance(absl::Hours(24));
  auto a = OpenStore(dsn);
  auto b = OpenStore(dsn, &ahead);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->TryAcquireRefreshLease("acme", "a", absl::Seconds(1)).value().held, true);
  EXPECT_EQ(b->TryAcquireRefreshLease("acme", "b", absl::Seconds(1)).value().held, false);
  absl::SleepFor(absl::Milliseconds(1300));
  EXPECT_EQ(b->TryAcquireRefreshLease("acme", "b", absl::Seconds(30)).value().held, true);
  EXPECT_EQ(a->TryAcquireRefreshLease("acme", "a", absl::Seconds(1)).value().held, false);
  absl::StatusOr<std::string> holder = SharedServer()->Psql(
      DatabaseOf(dsn),
      "SELECT holder || ' ' || (expires_at > now() + interval '20 seconds') FROM refresh_leases");
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(*holder, "b true");
}

TEST_F(PostgresStoreTest, ConcurrentLeaseAttemptsHaveOneWinner) {
  auto store = OpenStore(FreshDsn());
  ASSERT_NE(store, nullptr);
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<LeaseGrant> grant =
          store->TryAcquireRefreshLease("acme", absl::StrCat("r", i), absl::Minutes(1));
      EXPECT_TRUE(grant.ok()) << grant.status();
      if (grant.ok() && grant->held) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_F(PostgresStoreTest, DeleteDropsTheLease) {
  auto store = OpenStore(FreshDsn());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(Sample("acme")).ok());
  ASSERT_TRUE(store->TryAcquireRefreshLease("acme", "a", absl::Minutes(5)).value().held);
  ASSERT_TRUE(store->Delete("acme", "").ok());
  EXPECT_TRUE(store->TryAcquireRefreshLease("acme", "b", absl::Minutes(5)).value().held);
}

TEST_F(PostgresStoreTest, ChangeFeedDeliversChangesFromAnotherReplica) {
  std::string dsn = FreshDsn();
  Recorder recorder;
  auto listener = OpenStore(dsn);
  auto writer = OpenStore(dsn);
  ASSERT_NE(listener, nullptr);
  ASSERT_NE(writer, nullptr);
  listener->SetChangeListener(recorder.Listener());
  absl::StatusOr<Integration> created = writer->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  // The feed starts listening asynchronously: write until it hears.
  ASSERT_TRUE(WriteUntilHeard(*writer, recorder, "acme"));
  ASSERT_TRUE(writer->Update(*created, "").ok());
  EXPECT_TRUE(recorder.WaitFor(StoreChange::Kind::kIntegration, "acme"));
  recorder.Clear();
  ASSERT_TRUE(writer->Delete("acme", "").ok());
  EXPECT_TRUE(recorder.WaitFor(StoreChange::Kind::kIntegration, "acme"));

  // nullptr stops the calls.
  listener->SetChangeListener(nullptr);
  recorder.Clear();
  ASSERT_TRUE(writer->Create(Sample("beta")).ok());
  ASSERT_TRUE(writer->PutToken("beta", Token("t")).ok());
  EXPECT_FALSE(recorder.WaitFor(StoreChange::Kind::kToken, "beta", absl::Milliseconds(500)));
}

TEST_F(PostgresStoreTest, OwnWritesAreDeliveredOnceAndOtherReplicasWritesWithTheirExpiry) {
  std::string dsn = FreshDsn();
  Recorder recorder;
  auto self = OpenStore(dsn);
  auto other = OpenStore(dsn);
  ASSERT_NE(self, nullptr);
  ASSERT_NE(other, nullptr);
  self->SetChangeListener(recorder.Listener());
  ASSERT_TRUE(other->Create(Sample("marker")).ok());
  ASSERT_TRUE(WriteUntilHeard(*other, recorder, "marker"));
  recorder.Clear();

  ASSERT_TRUE(self->Create(Sample("acme")).ok());
  ASSERT_TRUE(self->PutToken("acme", Token("mine")).ok());
  ASSERT_TRUE(self->Delete("acme", "").ok());
  // The feed delivers notifications in commit order: once the other
  // replica's later write is heard, a notification of our own would have
  // been delivered before it.
  AccessToken later = Token("theirs");
  later.expire_time = absl::FromUnixSeconds(1'900'000'000);
  ASSERT_TRUE(other->PutToken("marker", later).ok());
  ASSERT_TRUE(recorder.WaitFor(StoreChange::Kind::kToken, "marker"));

  std::vector<StoreChange> changes = recorder.All();
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].kind, StoreChange::Kind::kIntegration);
  EXPECT_EQ(changes[1].kind, StoreChange::Kind::kToken);
  EXPECT_EQ(changes[1].token_expire_time, Token("mine").expire_time);
  EXPECT_EQ(changes[2].kind, StoreChange::Kind::kIntegration);
  EXPECT_TRUE(changes[2].deleted);
  EXPECT_EQ(changes[3].id, "marker");
  EXPECT_EQ(changes[3].token_expire_time, later.expire_time);
  self->SetChangeListener(nullptr);
}

TEST_F(PostgresStoreTest, LeaseGrantCarriesTheTokenTheLastHolderStored) {
  std::string dsn = FreshDsn();
  auto a = OpenStore(dsn);
  auto b = OpenStore(dsn);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->Create(Sample("acme")).ok());
  absl::StatusOr<LeaseGrant> first = a->TryAcquireRefreshLease("acme", "a", absl::Minutes(1));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->held);
  EXPECT_FALSE(first->stored_token.has_value());
  absl::StatusOr<LeaseGrant> refused = b->TryAcquireRefreshLease("acme", "b", absl::Minutes(1));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_FALSE(refused->held);
  EXPECT_FALSE(refused->stored_token.has_value());

  ASSERT_TRUE(a->PutTokenAndReleaseLease("acme", Token("minted-by-a"), "a").ok());
  absl::StatusOr<LeaseGrant> next = b->TryAcquireRefreshLease("acme", "b", absl::Minutes(1));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->held);
  ASSERT_TRUE(next->stored_token.has_value());
  EXPECT_EQ(next->stored_token->access_token.value(), "minted-by-a");
  EXPECT_EQ(next->stored_token->expire_time, Token("x").expire_time);
  EXPECT_EQ(next->stored_token->debug_id, "dbg");

  // Storing with a lease one does not hold stores, and releases nothing.
  ASSERT_TRUE(a->PutTokenAndReleaseLease("acme", Token("late"), "a").ok());
  EXPECT_FALSE(a->TryAcquireRefreshLease("acme", "a", absl::Minutes(1)).value().held);
  EXPECT_EQ(a->PutTokenAndReleaseLease("ghost", Token("t"), "a").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PostgresStoreTest, AFailedWriteNotifiesNothing) {
  std::string dsn = FreshDsn();
  Recorder recorder;  // before the store: it outlives the store's feed thread
  auto store = OpenStore(dsn);
  ASSERT_NE(store, nullptr);
  store->SetChangeListener(recorder.Listener());
  ASSERT_TRUE(store->Create(Sample("acme")).ok());
  ASSERT_TRUE(WriteUntilHeard(*store, recorder, "acme"));
  recorder.Clear();
  EXPECT_EQ(store->Update(Sample("acme"), "stale-etag").status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store->PutToken("ghost", Token("t")).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(recorder.WaitFor(StoreChange::Kind::kIntegration, "", absl::Milliseconds(500)));
  EXPECT_FALSE(recorder.WaitFor(StoreChange::Kind::kToken, "ghost", absl::Milliseconds(10)));
}

// Uses its own server: it restarts it.
TEST(PostgresStoreRestartTest, ChangeFeedResyncsAndStoreRecoversAfterServerRestart) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->CreateDatabase("restart").ok());
  const std::string dsn = (*server)->dsn("restart");
  FakeClock clock;
  FakeEnvelopeCipher cipher;
  // Declared before the stores, so destroyed after them: the listener's feed thread delivers
  // until its store is closed (AddressSanitizer found a stack-use-after-scope when the recorder
  // went first and the last notification came late).
  Recorder recorder;
  auto listener = PostgresCredentialStore::Open(Options(dsn), &cipher, &clock);
  auto writer = PostgresCredentialStore::Open(Options(dsn), &cipher, &clock);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Create(Sample("acme")).ok());
  (*listener)->SetChangeListener(recorder.Listener());
  ASSERT_TRUE(WriteUntilHeard(**writer, recorder, "acme"));
  ASSERT_TRUE((*writer)->Get("acme").ok());  // a pooled connection now idles

  ASSERT_TRUE((*server)->Restart().ok()) << (*server)->log();
  EXPECT_TRUE(recorder.WaitFor(StoreChange::Kind::kResync, ""));
  // The writer's pooled connections died with the old server: the first
  // call is retried on a fresh connection, transparently.
  absl::StatusOr<Integration> got = (*writer)->Get("acme");
  EXPECT_TRUE(got.ok()) << got.status();
  recorder.Clear();
  ASSERT_TRUE((*writer)->PutToken("acme", Token("after")).ok());
  EXPECT_TRUE(recorder.WaitFor(StoreChange::Kind::kToken, "acme"));
  EXPECT_TRUE((*listener)->CheckHealth().ok());

  // A crash (immediate shutdown) too.
  ASSERT_TRUE((*server)->Kill().ok());
  recorder.Clear();
  ASSERT_TRUE((*server)->Restart().ok()) << (*server)->log();
  EXPECT_TRUE(recorder.WaitFor(StoreChange::Kind::kResync, ""));
  EXPECT_TRUE((*writer)->Create(Sample("beta")).ok());
}

TEST(PostgresStoreRestartTest, CheckHealthIsUnavailableWhileTheServerIsDown) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  FakeEnvelopeCipher cipher;
  auto store = PostgresCredentialStore::Open(Options((*server)->dsn()), &cipher, &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->CheckHealth().ok());

  ASSERT_TRUE((*server)->Stop().ok());
  absl::Status health = (*store)->CheckHealth();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(health.message()), HasSubstr("postgres"));
  EXPECT_THAT(std::string(health.message()), Not(HasSubstr((*server)->password())));
  absl::Status get = (*store)->Get("acme").status();
  EXPECT_EQ(get.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(get.message()), HasSubstr("127.0.0.1"));
  EXPECT_THAT(std::string(get.message()), Not(HasSubstr((*server)->password())));

  ASSERT_TRUE((*server)->Restart().ok()) << (*server)->log();
  EXPECT_TRUE((*store)->CheckHealth().ok());
  EXPECT_EQ((*store)->Get("acme").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PostgresStoreTest, TerminatedSessionsAreReplacedTransparently) {
  const std::string dsn = FreshDsn();
  auto store = OpenStore(dsn);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(Sample("acme")).ok());
  for (int round = 0; round < 3; ++round) {
    // An administrator (or a proxy failing over) ends every session.
    absl::StatusOr<std::string> killed = SharedServer()->Psql(
        "postgres", absl::StrCat("SELECT count(pg_terminate_backend(pid, 5000)) FROM "
                                 "pg_stat_activity WHERE datname = '",
                                 DatabaseOf(dsn), "' AND application_name = 'tokenbroker'"));
    ASSERT_TRUE(killed.ok()) << killed.status();
    EXPECT_NE(*killed, "0");
    absl::StatusOr<Integration> got = store->Get("acme");
    EXPECT_TRUE(got.ok()) << got.status();
    absl::Status put = store->PutToken("acme", Token(absl::StrCat("t", round)));
    EXPECT_TRUE(put.ok()) << put;
  }
}

TEST_F(PostgresStoreTest, SecretsAreEncryptedAtRest) {
  auto real = KeyringEnvelopeCipher::New(*Keyring::Generate());
  ASSERT_TRUE(real.ok()) << real.status();
  std::string dsn = FreshDsn();
  auto store = PostgresCredentialStore::Open(Options(dsn), real->get(), &clock_);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Create(Sample("acme")).ok());
  ASSERT_TRUE((*store)->PutToken("acme", Token(kTokenMarker)).ok());
  absl::StatusOr<Integration> got = (*store)->Get("acme");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.client_secrets[0].value(), absl::StrCat(kSecretMarker, "-acme"));

  absl::StatusOr<std::string> dump = SharedServer()->Dump(DatabaseOf(dsn));
  ASSERT_TRUE(dump.ok()) << dump.status();
  EXPECT_THAT(*dump, HasSubstr("client-acme"));  // plaintext columns are there
  EXPECT_THAT(*dump, Not(HasSubstr(kSecretMarker)));
  EXPECT_THAT(*dump, Not(HasSubstr(kKeyMarker)));
  EXPECT_THAT(*dump, Not(HasSubstr(kTokenMarker)));
  absl::StatusOr<std::string> raw =
      SharedServer()->Psql(DatabaseOf(dsn),
                           "SELECT encode(credentials, 'escape') FROM integrations UNION ALL "
                           "SELECT encode(token, 'escape') FROM tokens");
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_THAT(*raw, Not(HasSubstr(kSecretMarker)));
  EXPECT_THAT(*raw, Not(HasSubstr(kTokenMarker)));
}

TEST_F(PostgresStoreTest, ScrubFreedDataVacuumsTheIntegrationsTable) {
  std::string dsn = FreshDsn();
  auto store = OpenStore(dsn);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(Sample("acme")).ok());
  Integration s2s = store->Get("acme").value();
  s2s.auth_method = AuthMethod::kOAuthServerToServer;
  s2s.credentials.private_key_pem = SecretString();
  ASSERT_TRUE(store->Update(s2s, s2s.etag).ok());  // the old row version is dead

  absl::Status scrubbed = store->ScrubFreedData();
  ASSERT_TRUE(scrubbed.ok()) << scrubbed;
  absl::StatusOr<std::string> vacuums = SharedServer()->Psql(
      DatabaseOf(dsn),
      "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'integrations'");
  ASSERT_TRUE(vacuums.ok()) << vacuums.status();
  EXPECT_THAT(*vacuums, HasSubstr("1"));
  EXPECT_TRUE(store->Get("acme").ok());
}

TEST_F(PostgresStoreTest, StoresTheSameCiphertextsAsSqlite) {
  // Same record encoding and envelope contexts: the fake cipher's
  // "ciphertext" shows both in clear.
  std::string dsn = FreshDsn();
  auto store = OpenStore(dsn);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(Sample("acme")).ok());
  absl::StatusOr<std::string> raw =
      SharedServer()->Psql(DatabaseOf(dsn),
                           "SELECT convert_from(credentials, 'UTF8') || ' ' || kek_id "
                           "FROM integrations");
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_THAT(*raw, HasSubstr("FAKE|test-key-1|integrations/acme/credentials|"));
  EXPECT_THAT(*raw, HasSubstr(" test-key-1"));
}

TEST_F(PostgresStoreTest, TamperedCiphertextIsDataLossAndListStillShowsTheRow) {
  std::string dsn = FreshDsn();
  auto store = OpenStore(dsn);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(Sample("acme")).ok());
  ASSERT_TRUE(store->Create(Sample("beta")).ok());
  ASSERT_TRUE(SharedServer()
                  ->Psql(DatabaseOf(dsn),
                         "UPDATE integrations SET ims_url = 'https://evil.example' "
                         "WHERE id = 'acme'")
                  .ok());
  EXPECT_EQ(store->Get("acme").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<IntegrationPage> page = store->List(10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->integrations.size(), 2u);
  EXPECT_TRUE(page->integrations[0].credentials.client_secrets.empty());
  EXPECT_FALSE(page->integrations[1].credentials.client_secrets.empty());
}

TEST_F(PostgresStoreTest, RekeyRewrapsEverythingToThePrimary) {
  auto store = OpenStore(FreshDsn());
  ASSERT_NE(store, nullptr);
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(store->Create(Sample(id)).ok());
    ASSERT_TRUE(store->PutToken(id, Token("tok")).ok());
  }
  EXPECT_THAT(store->KeyIdsInUse().value(), ElementsAre("test-key-1"));
  cipher_.SetPrimary("test-key-2");
  int callbacks = 0;
  auto done = store->Rekey([&](const PostgresCredentialStore::RekeyProgress&) { ++callbacks; },
                           /*batch_size=*/2);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->total, 6);
  EXPECT_EQ(done->rewrapped, 6);
  EXPECT_GE(callbacks, 3);
  EXPECT_THAT(store->KeyIdsInUse().value(), ElementsAre("test-key-2"));
  cipher_.RemoveKey("test-key-1");
  EXPECT_TRUE(store->Get("b").ok());
  EXPECT_TRUE(store->GetToken("c").value().has_value());
  absl::StatusOr<PostgresCredentialStore::Counts> counts = store->Count();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->integrations, 3);
  EXPECT_EQ(counts->tokens, 3);
}

TEST_F(PostgresStoreTest, ConcurrentUpdatesWithOneEtagHaveOneWinner) {
  auto store = OpenStore(FreshDsn());
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Integration> created = store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      absl::Status s = store->Update(*created, created->etag).status();
      if (s.ok()) ++ok;
      if (absl::IsAborted(s)) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
}

TEST_F(PostgresStoreTest, PoolServesManyThreadsWithFewConnections) {
  auto store = OpenStore(FreshDsn());  // pool of 4
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 16, kOps = 200;
  for (int t = 0; t < kThreads; ++t) ASSERT_TRUE(store->Create(Sample(absl::StrCat("i", t))).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string id = absl::StrCat("i", t);
      for (int op = 0; op < kOps; ++op) {
        absl::Status s;
        switch (op % 4) {
          case 0:
            s = store->PutToken(id, Token(absl::StrCat("tok-", op)));
            break;
          case 1:
            s = store->GetToken(id).status();
            break;
          case 2:
            s = store->Get(id).status();
            break;
          default:
            s = store->TryAcquireRefreshLease(id, "me", absl::Seconds(10)).status();
        }
        if (!s.ok()) {
          ADD_FAILURE() << s;
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<std::optional<AccessToken>> token = store->GetToken("i3");
  ASSERT_TRUE(token.ok() && token->has_value());
  EXPECT_EQ((*token)->access_token.value(), absl::StrCat("tok-", kOps - 4));
}

// Uses its own server: it restarts it with TLS on.
TEST(PostgresStoreTlsTest, TlsParametersWorkThroughTheUri) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  TestCa ca;
  CertSpec spec;
  spec.common_name = "localhost";
  spec.dns_names = {"localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  PemPair pair = ca.Issue(spec);
  ASSERT_TRUE((*server)->EnableTls(pair.certificate, pair.private_key).ok()) << (*server)->log();
  TempDir dir;
  WriteFile(dir.File("ca.pem"), ca.certificate());
  TestCa other("some other CA");
  WriteFile(dir.File("other.pem"), other.certificate());

  FakeEnvelopeCipher cipher;
  const std::string base = (*server)->dsn();
  auto verified = PostgresCredentialStore::Open(
      Options(base + "?sslmode=verify-full&sslrootcert=" + dir.File("ca.pem")), &cipher);
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_TRUE((*verified)->Create(Sample("acme")).ok());
  // The store's pooled connection is encrypted.
  absl::StatusOr<std::string> tls_sessions =
      (*server)->Psql("postgres",
                      "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                      "WHERE s.ssl AND a.application_name = 'tokenbroker'");
  ASSERT_TRUE(tls_sessions.ok()) << tls_sessions.status();
  EXPECT_NE(*tls_sessions, "0");

  auto impostor = PostgresCredentialStore::Open(
      Options(base + "?sslmode=verify-full&sslrootcert=" + dir.File("other.pem")), &cipher);
  EXPECT_EQ(impostor.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(impostor.status().message()), HasSubstr("certificate"));
  EXPECT_THAT(std::string(impostor.status().message()), Not(HasSubstr((*server)->password())));
}

TEST(PostgresStoreErrorsTest, WrongPasswordIsUnavailableAndNeverEchoed) {
  PostgresServer* server = SharedServer();
  ASSERT_NE(server, nullptr);
  const std::string wrong = "Wr0ngPassw0rdValue";
  const std::string dsn = absl::StrCat("postgresql://", server->user(), ":", wrong,
                                       "@127.0.0.1:", server->port(), "/postgres");
  FakeEnvelopeCipher cipher;
  auto store = PostgresCredentialStore::Open(Options(dsn), &cipher);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("127.0.0.1"));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("password authentication failed"));
  EXPECT_THAT(std::string(store.status().message()), Not(HasSubstr(wrong)));
}

TEST(PostgresStoreErrorsTest, UnreachableServerAndBadDsnsAreNamedWithoutThePassword) {
  FakeEnvelopeCipher cipher;
  auto closed =
      PostgresCredentialStore::Open(Options("postgresql://u:SekretSekret@127.0.0.1:1/db"), &cipher);
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(closed.status().message()), HasSubstr("host=127.0.0.1 port=1 dbname=db"));
  EXPECT_THAT(std::string(closed.status().message()), Not(HasSubstr("SekretSekret")));

  auto bad =
      PostgresCredentialStore::Open(Options("postgresql://u:SekretSekret@h:notaport/%zz"), &cipher);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), Not(HasSubstr("SekretSekret")));
  EXPECT_EQ(PostgresCredentialStore::DescribeDsn("postgresql://u:SekretSekret@db.internal/x"),
            "host=db.internal port=5432 dbname=x");
}

// The composition root: --store, --store-dsn-file and the keyring check.
class PostgresOpenStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(WriteKeyringFile(dir_.File("a.json"), *Keyring::Generate(), false).ok());
    ASSERT_TRUE(WriteKeyringFile(dir_.File("b.json"), *Keyring::Generate(), false).ok());
  }
  TempDir dir_;
};

TEST_F(PostgresOpenStorageTest, OpensFromUriAndDsnFileAndRefusesAnotherKeyring) {
  const std::string dsn = FreshDsn();
  ServerOptions options;
  options.store = dsn;
  options.kek_file = dir_.File("a.json");
  {
    absl::StatusOr<Storage> storage = OpenStorage(options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    EXPECT_EQ(storage->spec.kind, StoreSpec::Kind::kPostgres);
    ASSERT_NE(storage->maintenance, nullptr);
    ASSERT_NE(storage->coordination, nullptr);
    ASSERT_TRUE(storage->store->Create(Sample("acme")).ok());
  }
  // The DSN from a file (surrounding whitespace trimmed), --store unset.
  WriteFile(dir_.File("dsn"), "\n  " + dsn + "  \n");
  ServerOptions from_file;
  from_file.store_dsn_file = dir_.File("dsn");
  from_file.kek_file = dir_.File("a.json");
  {
    absl::StatusOr<Storage> storage = OpenStorage(from_file);
    ASSERT_TRUE(storage.ok()) << storage.status();
    EXPECT_TRUE(storage->store->Get("acme").ok());
  }
  const std::string described = StoreSpec::Parse(options.store, "").value().Describe();
  EXPECT_THAT(described, Not(HasSubstr(SharedServer()->password())));
  EXPECT_THAT(described, HasSubstr("127.0.0.1"));

  // Another keyring: its key ids do not include the one in use.
  from_file.kek_file = dir_.File("b.json");
  absl::StatusOr<Storage> wrong = OpenStorage(from_file);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(wrong.status().message()), HasSubstr("missing from the keyring"));
}

TEST_F(PostgresOpenStorageTest, DsnFileProblemsAreInvalidArgument) {
  ServerOptions options;
  options.kek_file = dir_.File("a.json");
  options.store_dsn_file = dir_.File("missing");
  EXPECT_EQ(OpenStorage(options).status().code(), absl::StatusCode::kInvalidArgument);
  WriteFile(dir_.File("empty"), " \n");
  options.store_dsn_file = dir_.File("empty");
  EXPECT_EQ(OpenStorage(options).status().code(), absl::StatusCode::kInvalidArgument);
  WriteFile(dir_.File("dsn"), "postgresql://x@127.0.0.1:1/db");
  options.store_dsn_file = dir_.File("dsn");
  options.store = "sqlite:" + dir_.File("db");
  EXPECT_EQ(OpenStorage(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresOpenStorageTest, MigrateAndCheckCommandsWork) {
  const std::string dsn = FreshDsn();
  WriteFile(dir_.File("dsn"), dsn);
  const std::string bin = BinDir() + "/tokenbroker";
  CommandResult migrate = RunCommand({bin, "migrate", "--store-dsn-file=" + dir_.File("dsn")});
  EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_THAT(migrate.out, HasSubstr("schema at version"));
  EXPECT_THAT(migrate.out + migrate.err, Not(HasSubstr(SharedServer()->password())));

  ServerOptions options;
  options.store = dsn;
  options.kek_file = dir_.File("a.json");
  {
    absl::StatusOr<Storage> storage = OpenStorage(options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    ASSERT_TRUE(storage->store->Create(Sample("acme")).ok());
    ASSERT_TRUE(storage->store->PutToken("acme", Token("t")).ok());
  }
  CommandResult check =
      RunCommand({bin, "check", "--store=" + dsn, "--kek-file=" + dir_.File("a.json")});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("1 integrations, 1 cached tokens"));
  EXPECT_THAT(check.out, HasSubstr("1 integrations readable, 0 failed"));

  CommandResult rekey =
      RunCommand({bin, "rekey", "--store=" + dsn, "--kek-file=" + dir_.File("a.json")});
  EXPECT_EQ(rekey.exit_code, 0) << rekey.err;
  EXPECT_THAT(rekey.out, HasSubstr("already current"));
}

// `tokenbroker check` opens every sealed record, cached tokens included.
TEST_F(PostgresOpenStorageTest, AFlippedTagByteInACachedTokenFailsCheckNamingTheRecord) {
  const std::string dsn = FreshDsn();
  ServerOptions options;
  options.store = dsn;
  options.kek_file = dir_.File("a.json");
  {
    absl::StatusOr<Storage> storage = OpenStorage(options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    for (const char* id : {"acme", "beta"}) {
      ASSERT_TRUE(storage->store->Create(Sample(id)).ok());
      ASSERT_TRUE(storage->store->PutToken(id, Token(kTokenMarker)).ok());
    }
  }
  const std::vector<std::string> check = {BinDir() + "/tokenbroker", "check", "--store=" + dsn,
                                          "--kek-file=" + dir_.File("a.json")};
  CommandResult clean = RunCommand(check);
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("2 integrations readable, 0 failed; "
                                   "2 cached tokens readable, 0 failed"));
  // The payload's GCM tag ends the envelope (crypto/FORMATS.md): flip its
  // last byte.
  ASSERT_TRUE(SharedServer()
                  ->Psql(DatabaseOf(dsn),
                         "UPDATE tokens SET token = set_byte(token, length(token) - 1, "
                         "get_byte(token, length(token) - 1) # 1) WHERE integration_id = 'beta'")
                  .ok());
  CommandResult tampered = RunCommand(check);
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
  EXPECT_THAT(tampered.out,
              HasSubstr("beta: cached token: integration 'beta': stored token failed its "
                        "integrity check"));
  EXPECT_THAT(tampered.out, HasSubstr("2 integrations readable, 0 failed; "
                                      "1 cached tokens readable, 1 failed"));
  EXPECT_THAT(tampered.err, HasSubstr("DATA_LOSS"));
  EXPECT_THAT(tampered.out + tampered.err, Not(HasSubstr(kTokenMarker)));
  EXPECT_THAT(tampered.out + tampered.err, Not(HasSubstr(SharedServer()->password())));
}

}  // namespace
}  // namespace tokenbroker::testing
