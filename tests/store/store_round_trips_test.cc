// How many times the broker's two token paths go to the store, per backend:
// the figures of SCHEMA.md's "Round trips" table.
//
// The sequences are the broker's (server/broker/): a cold mint reads the
// integration with its stored token, takes the refresh lease when the store
// coordinates replicas (the grant carries the token stored meanwhile),
// exchanges, then stores the token (releasing the lease in the same write);
// a refresh takes the lease, exchanges and stores. Three figures:
// - store calls: CredentialStore/ReplicaCoordination calls (a counting
//   decorator), every backend;
// - SQLite: SQL statements run (BEGIN and COMMIT included), in process;
// - PostgreSQL: statements sent and awaited, i.e. network round trips.
#include <cstdint>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "server/store/memory_credential_store.h"
#include "server/store/postgres_credential_store.h"
#include "server/store/sqlite_credential_store.h"
#include "tests/store/sqlite_test_cipher.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/postgres.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker::testing {
namespace {

// Counts the calls made through it.
class CountingStore final : public CredentialStore, public ReplicaCoordination {
 public:
  CountingStore(CredentialStore* store, ReplicaCoordination* coordination)
      : store_(store), coordination_(coordination) {}
  int64_t calls() const { return calls_; }
  bool coordinates() const { return coordination_ != nullptr; }

  absl::StatusOr<Integration> Create(const Integration& i) override {
    ++calls_;
    return store_->Create(i);
  }
  absl::StatusOr<Integration> Get(absl::string_view id) override {
    ++calls_;
    return store_->Get(id);
  }
  absl::StatusOr<IntegrationPage> List(int size, absl::string_view token) override {
    ++calls_;
    return store_->List(size, token);
  }
  absl::StatusOr<Integration> Update(const Integration& i, absl::string_view etag) override {
    ++calls_;
    return store_->Update(i, etag);
  }
  absl::StatusOr<std::vector<Integration>> WriteAll(
      const std::vector<IntegrationWrite>& writes) override {
    ++calls_;
    return store_->WriteAll(writes);
  }
  absl::Status Delete(absl::string_view id, absl::string_view etag) override {
    ++calls_;
    return store_->Delete(id, etag);
  }
  absl::Status PutToken(absl::string_view id, const AccessToken& t) override {
    ++calls_;
    return store_->PutToken(id, t);
  }
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id) override {
    ++calls_;
    return store_->GetToken(id);
  }
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) override {
    ++calls_;
    return store_->GetWithToken(id);
  }
  void SetChangeListener(StoreChangeListener listener) override {
    store_->SetChangeListener(std::move(listener));
  }
  absl::StatusOr<LeaseGrant> TryAcquireRefreshLease(absl::string_view id, absl::string_view holder,
                                                    absl::Duration ttl) override {
    ++calls_;
    return coordination_->TryAcquireRefreshLease(id, holder, ttl);
  }
  absl::Status PutTokenAndReleaseLease(absl::string_view id, const AccessToken& token,
                                       absl::string_view holder) override {
    ++calls_;
    return coordination_->PutTokenAndReleaseLease(id, token, holder);
  }
  absl::Status ReleaseRefreshLease(absl::string_view id, absl::string_view holder) override {
    ++calls_;
    return coordination_->ReleaseRefreshLease(id, holder);
  }
  absl::StatusOr<bool> TryAcquireLease(absl::string_view name, absl::string_view holder,
                                       absl::Duration ttl) override {
    ++calls_;
    return coordination_->TryAcquireLease(name, holder, ttl);
  }
  absl::Status ReleaseLease(absl::string_view name, absl::string_view holder) override {
    ++calls_;
    return coordination_->ReleaseLease(name, holder);
  }

 private:
  CredentialStore* const store_;
  ReplicaCoordination* const coordination_;
  int64_t calls_ = 0;
};

Integration Sample(const std::string& id) {
  Integration in;
  in.id = id;
  in.display_name = id;
  in.auth_method = AuthMethod::kOAuthServerToServer;
  in.client_id = "client-" + id;
  in.org_id = "ORG@AdobeOrg";
  in.scopes = {"openid"};
  in.credentials.client_secrets = {SecretString(std::string("secret"))};
  return in;
}

AccessToken Token(const std::string& value, absl::Time now) {
  AccessToken token;
  token.access_token = SecretString(value);
  token.issue_time = now;
  token.expire_time = now + absl::Hours(24);
  return token;
}

constexpr char kReplica[] = "replica-a";

// [lease; its grant carries the token stored now] → exchange → store (and
// release the lease).
void LeaseAndStore(CountingStore& store, const std::string& id, const AccessToken& minted,
                   bool token_stored) {
  if (!store.coordinates()) {
    ASSERT_TRUE(store.PutToken(id, minted).ok());
    return;
  }
  absl::StatusOr<LeaseGrant> grant = store.TryAcquireRefreshLease(id, kReplica, absl::Seconds(30));
  ASSERT_TRUE(grant.ok()) << grant.status();
  ASSERT_TRUE(grant->held);
  ASSERT_EQ(grant->stored_token.has_value(), token_stored);
  ASSERT_TRUE(store.PutTokenAndReleaseLease(id, minted, kReplica).ok());
}

// GetWithToken (no token yet) → LeaseAndStore.
void ColdMint(CountingStore& store, const std::string& id, const AccessToken& minted) {
  absl::StatusOr<IntegrationWithToken> loaded = store.GetWithToken(id);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_FALSE(loaded->token.has_value());
  LeaseAndStore(store, id, minted, /*token_stored=*/false);
}

struct Measured {
  int64_t cold_calls = 0, cold_backend = 0, refresh_calls = 0, refresh_backend = 0;
};

// Runs both sequences; `backend` reads the backend's own counter.
Measured Measure(CountingStore& store, const std::function<int64_t()>& backend, FakeClock& clock) {
  Measured m;
  EXPECT_TRUE(store.Create(Sample("acme")).ok());
  int64_t calls = store.calls(), units = backend();
  ColdMint(store, "acme", Token("first", clock.Now()));
  m.cold_calls = store.calls() - calls;
  m.cold_backend = backend() - units;
  clock.Advance(absl::Hours(20));
  calls = store.calls();
  units = backend();
  LeaseAndStore(store, "acme", Token("second", clock.Now()), /*token_stored=*/true);
  m.refresh_calls = store.calls() - calls;
  m.refresh_backend = backend() - units;
  std::printf(
      "store calls: cold mint %lld, refresh %lld; backend units: cold mint %lld, "
      "refresh %lld\n",
      static_cast<long long>(m.cold_calls), static_cast<long long>(m.refresh_calls),
      static_cast<long long>(m.cold_backend), static_cast<long long>(m.refresh_backend));
  return m;
}

TEST(StoreRoundTripsTest, MemoryColdMintIsTwoCallsAndRefreshOne) {
  FakeClock clock;
  InMemoryCredentialStore memory(&clock);
  CountingStore store(&memory, nullptr);
  Measured m = Measure(
      store, [&] { return store.calls(); }, clock);
  EXPECT_EQ(m.cold_calls, 2);
  EXPECT_EQ(m.refresh_calls, 1);
}

TEST(StoreRoundTripsTest, SqliteColdMintIsTwoStatementsAndRefreshOne) {
  FakeClock clock;
  FakeEnvelopeCipher cipher;
  TempDir dir;
  auto sqlite = SqliteCredentialStore::Open(dir.File("db"), &cipher, &clock);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  CountingStore store(sqlite->get(), nullptr);
  Measured m = Measure(
      store, [&] { return (*sqlite)->StatementsRun(); }, clock);
  EXPECT_EQ(m.cold_calls, 2);
  EXPECT_EQ(m.refresh_calls, 1);
  // One SELECT with a join; one INSERT ... ON CONFLICT (autocommit).
  EXPECT_EQ(m.cold_backend, 2);
  EXPECT_EQ(m.refresh_backend, 1);
}

TEST(StoreRoundTripsTest, PostgresColdMintIsThreeRoundTripsAndRefreshTwo) {
  absl::StatusOr<PostgresServer*> server = PostgresServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::string> db = (*server)->CreateFreshDatabase();
  ASSERT_TRUE(db.ok()) << db.status();
  FakeClock clock;
  FakeEnvelopeCipher cipher;
  PostgresStoreOptions options;
  options.dsn = (*server)->dsn(*db);
  options.pool_size = 2;
  auto postgres = PostgresCredentialStore::Open(options, &cipher, &clock);
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  CountingStore store(postgres->get(), postgres->get());
  Measured m = Measure(
      store, [&] { return (*postgres)->RoundTrips(); }, clock);
  EXPECT_EQ(m.cold_calls, 3);
  EXPECT_EQ(m.refresh_calls, 2);
  // GetWithToken: one SELECT ... LEFT JOIN; the lease: one statement that
  // also returns the stored token; the token, its NOTIFY and the release:
  // one statement (its own transaction).
  EXPECT_EQ(m.cold_backend, 3);
  EXPECT_EQ(m.refresh_backend, 2);
}

}  // namespace
}  // namespace tokenbroker::testing
