// SqliteCredentialStore: the conformance suite, plus what only a file-backed,
// encrypted store has (permissions, WAL, migrations, secrets at rest,
// tampering, backup, rekey).
#include "server/store/sqlite_credential_store.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "server/crypto/envelope_cipher.h"
#include "server/crypto/keyring.h"
#include "server/server.h"
#include "server/store/sqlite_db.h"
#include "server/store/stored_record.h"
#include "tests/store/credential_store_conformance.h"
#include "tests/store/sqlite_test_cipher.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/forwarding_store.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A SqliteCredentialStore that owns its temporary directory and cipher, so
// the conformance suite gets a fresh database per test.
class OwningSqliteStore final : public ForwardingCredentialStore {
 public:
  explicit OwningSqliteStore(const Clock* clock) {
    auto store = SqliteCredentialStore::Open(dir_.File("store/tokenbroker.db"), &cipher_, clock);
    EXPECT_TRUE(store.ok()) << store.status();
    if (store.ok()) store_ = *std::move(store);
    set_target(store_.get());
  }

 private:
  TempDir dir_;
  FakeEnvelopeCipher cipher_;
  std::unique_ptr<SqliteCredentialStore> store_;
};

INSTANTIATE_TEST_SUITE_P(
    Sqlite, CredentialStoreConformanceTest,
    ::testing::Values(StoreFactory{"sqlite",
                                   [](const Clock* clock) -> std::unique_ptr<CredentialStore> {
                                     return std::make_unique<OwningSqliteStore>(clock);
                                   }}),
    [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

constexpr char kSecretMarker[] = "CLIENT-SECRET-MARKER-7f3a";
constexpr char kKeyMarker[] = "PRIVATE-KEY-MARKER-91bc";
constexpr char kTokenMarker[] = "ACCESS-TOKEN-MARKER-c0de";

Integration Sample(const std::string& id) {
  Integration in;
  in.id = id;
  in.display_name = "DISPLAY-NAME-MARKER " + id;
  in.auth_method = AuthMethod::kJwt;
  in.client_id = "client-" + id;
  in.org_id = "ORG@AdobeOrg";
  in.technical_account_id = "TECH@techacct.adobe.com";
  in.scopes = {"openid", "AdobeID"};
  in.metascopes = {"ent_dataservices_sdk"};
  in.ims_url = "https://ims-na1.adobelogin.com";
  in.credentials.client_secrets = {SecretString(absl::StrCat(kSecretMarker, "-", id))};
  in.credentials.private_key_pem = SecretString(absl::StrCat(kKeyMarker, "-", id));
  return in;
}

AccessToken SampleToken(const std::string& id, absl::Time now) {
  AccessToken token;
  token.access_token = SecretString(absl::StrCat(kTokenMarker, "-", id));
  token.issue_time = now;
  token.expire_time = now + absl::Hours(24);
  token.debug_id = "dbg-" + id;
  return token;
}

int Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

// Direct access to the database file, bypassing the store (an attacker or
// a broken disk).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    auto db = internal::SqliteConnection::Open(path, SQLITE_OPEN_READWRITE);
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    sqlite3_busy_timeout(db_->get(), 5000);
  }
  void Exec(const std::string& sql) { ASSERT_TRUE(db_->Exec(sql).ok()) << sql; }
  // The first column of the first row of `sql` with `?` bound to `param`.
  std::string Text(const std::string& sql, const std::string& param = "") {
    auto q = db_->Prepare(sql);
    EXPECT_TRUE(q.ok()) << q.status();
    if (!param.empty()) q->Bind(param);
    auto row = q->Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return row.ok() && *row ? q->Text(0) : "";
  }
  void SetBlob(const std::string& sql, const std::string& blob, const std::string& id) {
    auto q = db_->Prepare(sql);
    ASSERT_TRUE(q.ok()) << q.status();
    ASSERT_TRUE(q->BindBlob(blob).Bind(id).Run().ok());
    EXPECT_EQ(db_->Changes(), 1);
  }

 private:
  std::unique_ptr<internal::SqliteConnection> db_;
};

class SqliteCredentialStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteCredentialStore> OpenStore() {
    auto store = SqliteCredentialStore::Open(path_, &cipher_, &clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  void CreateSamples(SqliteCredentialStore* store, const std::vector<std::string>& ids,
                     bool with_tokens) {
    for (const std::string& id : ids) {
      ASSERT_TRUE(store->Create(Sample(id)).ok()) << id;
      if (with_tokens) {
        ASSERT_TRUE(store->PutToken(id, SampleToken(id, clock_.Now())).ok());
      }
    }
  }

  TempDir dir_;
  std::string path_ = dir_.File("state/db/tokenbroker.db");
  FakeEnvelopeCipher cipher_{"k1"};
  FakeClock clock_;
};

TEST_F(SqliteCredentialStoreTest, OpenCreatesPrivateDirectoriesAndFilesWhateverTheUmask) {
  mode_t old_umask = umask(0);  // the most permissive umask must not matter
  auto store = OpenStore();
  umask(old_umask);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(Sample("acme")).ok());
  EXPECT_EQ(Mode(dir_.File("state")), 0700);
  EXPECT_EQ(Mode(dir_.File("state/db")), 0700);
  EXPECT_EQ(Mode(path_), 0600);
  EXPECT_EQ(Mode(path_ + "-wal"), 0600);
  EXPECT_EQ(Mode(path_ + "-shm"), 0600);
}

TEST_F(SqliteCredentialStoreTest, OpenTightensAnExistingLooseFile) {
  std::string path = dir_.File("loose.db");
  WriteFile(path, "");
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  auto store = SqliteCredentialStore::Open(path, &cipher_, &clock_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(Mode(path), 0600);
}

TEST_F(SqliteCredentialStoreTest, OpenOfNonDatabaseFileIsDataLoss) {
  std::string path = dir_.File("garbage.db");
  WriteFile(path, std::string(8192, 'x'));
  auto store = SqliteCredentialStore::Open(path, &cipher_, &clock_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("garbage.db"));
}

TEST_F(SqliteCredentialStoreTest, OpenWithoutCipherIsInvalidArgument) {
  EXPECT_EQ(SqliteCredentialStore::Open(path_, nullptr, &clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteCredentialStore::Open("", &cipher_, &clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteCredentialStoreTest, JournalModeIsWal) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawDb(path_).Text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteCredentialStoreTest, ReopenKeepsIntegrationsAndTokens) {
  std::string etag;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    CreateSamples(store.get(), {"acme", "beta"}, /*with_tokens=*/false);
    AccessToken token = SampleToken("acme", clock_.Now());
    token.issue_time = absl::InfinitePast();  // unknown times survive too
    ASSERT_TRUE(store->PutToken("acme", token).ok());
    etag = store->Get("acme")->etag;
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Integration> got = store->Get("acme");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->etag, etag);
  EXPECT_EQ(got->create_time, clock_.Now());
  EXPECT_EQ(got->scopes, Sample("acme").scopes);
  EXPECT_EQ(got->credentials.private_key_pem.value(), absl::StrCat(kKeyMarker, "-acme"));
  absl::StatusOr<std::optional<AccessToken>> token = store->GetToken("acme");
  ASSERT_TRUE(token.ok() && token->has_value()) << token.status();
  EXPECT_EQ((*token)->access_token.value(), absl::StrCat(kTokenMarker, "-acme"));
  EXPECT_EQ((*token)->issue_time, absl::InfinitePast());
  EXPECT_EQ((*token)->expire_time, clock_.Now() + absl::Hours(24));
  EXPECT_EQ((*token)->debug_id, "dbg-acme");
  absl::StatusOr<std::optional<AccessToken>> none = store->GetToken("beta");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(SqliteCredentialStoreTest, MigrationsAreRecordedOnce) {
  { ASSERT_NE(OpenStore(), nullptr); }
  clock_.Advance(absl::Hours(1));
  { ASSERT_NE(OpenStore(), nullptr); }  // a second open applies nothing
  RawDb raw(path_);
  EXPECT_EQ(raw.Text("SELECT count(*) FROM schema_migrations"),
            absl::StrCat(SqliteCredentialStore::LatestSchemaVersion()));
  EXPECT_EQ(raw.Text("SELECT applied_at FROM schema_migrations WHERE version = 1"),
            "2027-01-15T08:00:00Z");
}

TEST_F(SqliteCredentialStoreTest, OpenOfNewerSchemaIsFailedPrecondition) {
  { ASSERT_NE(OpenStore(), nullptr); }
  RawDb(path_).Exec("INSERT INTO schema_migrations VALUES (99, '2030-01-01T00:00:00Z')");
  auto store = SqliteCredentialStore::Open(path_, &cipher_, &clock_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("schema version 99"));
}

// What a binary of schema version 1 wrote: migration 1 as released, frozen
// here so that this test keeps describing old files whatever happens to the
// store's copy (which must never change either).
constexpr char kSchemaVersion1[] = R"sql(
CREATE TABLE schema_migrations (
  version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL) STRICT;
INSERT INTO schema_migrations VALUES (1, '2026-06-01T00:00:00Z');
CREATE TABLE integrations (
  id                   TEXT    NOT NULL PRIMARY KEY,
  display_name         TEXT    NOT NULL,
  auth_method          INTEGER NOT NULL,
  client_id            TEXT    NOT NULL,
  org_id               TEXT    NOT NULL,
  technical_account_id TEXT    NOT NULL,
  scopes               TEXT    NOT NULL,
  metascopes           TEXT    NOT NULL,
  ims_url              TEXT    NOT NULL,
  sandbox_name         TEXT    NOT NULL,
  state                INTEGER NOT NULL,
  include_org_header   INTEGER NOT NULL,
  create_time_ns       INTEGER NOT NULL,
  update_time_ns       INTEGER NOT NULL,
  etag                 TEXT    NOT NULL,
  credentials          BLOB    NOT NULL,
  kek_id               TEXT    NOT NULL
) STRICT;
CREATE INDEX integrations_by_kek_id ON integrations (kek_id);
CREATE TABLE tokens (
  integration_id TEXT    NOT NULL PRIMARY KEY
                         REFERENCES integrations (id) ON DELETE CASCADE,
  token          BLOB    NOT NULL,
  issue_time_ns  INTEGER,
  expire_time_ns INTEGER,
  debug_id       TEXT    NOT NULL,
  kek_id         TEXT    NOT NULL
) STRICT;
CREATE INDEX tokens_by_kek_id ON tokens (kek_id);
)sql";

// Writes a schema version 1 database at `path` holding `in`, sealed with
// `cipher` as a version 1 binary sealed it.
void WriteVersion1Database(const std::string& path, EnvelopeCipher* cipher, const Integration& in,
                           absl::Time now) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  auto db = internal::SqliteConnection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec(kSchemaVersion1).ok());
  absl::StatusOr<internal::Sealed> sealed = internal::SealWith(
      cipher, internal::EncodeCredentialsRecord(in).value(), internal::CredentialsContext(in.id));
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  auto q = (*db)->Prepare(
      "INSERT INTO integrations VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, 'v1-etag', ?, ?)");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->Bind(in.id)
                  .Bind(in.display_name)
                  .Bind(int64_t{static_cast<int>(in.auth_method)})
                  .Bind(in.client_id)
                  .Bind(in.org_id)
                  .Bind(in.technical_account_id)
                  .Bind(internal::ListToJson(in.scopes, "scopes").value())
                  .Bind(internal::ListToJson(in.metascopes, "metascopes").value())
                  .Bind(in.ims_url)
                  .Bind(in.sandbox_name)
                  .Bind(absl::ToUnixNanos(now))
                  .Bind(absl::ToUnixNanos(now))
                  .BindBlob(sealed->ciphertext)
                  .Bind(sealed->kek_id)
                  .Run()
                  .ok());
}

TEST_F(SqliteCredentialStoreTest, OpenOfASchemaVersion1DatabaseReadsTheNewFieldsAsDefaults) {
  Integration old = Sample("acme");
  old.credentials.client_secrets.emplace_back(std::string("second-secret"));
  ASSERT_NO_FATAL_FAILURE(WriteVersion1Database(path_, &cipher_, old, clock_.Now()));

  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawDb(path_).Text("SELECT max(version) FROM schema_migrations"),
            absl::StrCat(SqliteCredentialStore::LatestSchemaVersion()));
  absl::StatusOr<Integration> got = store->Get("acme");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->etag, "v1-etag");
  EXPECT_EQ(got->credentials.client_secrets.size(), 2u);
  EXPECT_TRUE(got->console.empty());
  EXPECT_EQ(got->secret_rotation_period, std::nullopt);
  EXPECT_THAT(got->client_secret_info, ElementsAre(ClientSecretInfo(), ClientSecretInfo()));
  EXPECT_EQ(got->last_secret_rotation_time, absl::InfinitePast());

  // The migrated row takes the new columns like any other.
  Integration changed = *got;
  changed.console = ConsoleCredential{"4566206", "734521"};
  changed.secret_rotation_period = absl::ZeroDuration();
  ASSERT_TRUE(store->Update(changed, got->etag).ok());
  EXPECT_EQ(store->Get("acme")->console, changed.console);
  EXPECT_EQ(store->Get("acme")->secret_rotation_period, absl::ZeroDuration());
}

TEST_F(SqliteCredentialStoreTest, NewColumnsHoldTheDocumentedEncodings) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  Integration set = Sample("acme");
  set.credentials.client_secrets.emplace_back(std::string("second-secret"));
  set.console = ConsoleCredential{"4566206", "734521"};
  set.secret_rotation_period = absl::ZeroDuration();
  set.client_secret_info = {{absl::FromUnixNanos(1'790'000'000'123'456'789), "uuid-1"},
                            {absl::InfinitePast(), ""}};
  ASSERT_TRUE(store->Create(set).ok());
  ASSERT_TRUE(store->Create(Sample("beta")).ok());  // every new field at its default

  RawDb raw(path_);
  const std::string columns =
      "SELECT console_org_id || ' ' || console_credential_id || ' ' || "
      "quote(secret_rotation_period_ns) || ' ' || quote(last_secret_rotation_time_ns) || ' ' || "
      "client_secret_info FROM integrations WHERE id = ?";
  EXPECT_EQ(raw.Text(columns, "acme"),
            "4566206 734521 0 NULL "
            R"([{"console_uuid":"uuid-1","create_time_ns":1790000000123456789},)"
            R"({"console_uuid":"","create_time_ns":null}])");
  EXPECT_EQ(raw.Text(columns, "beta"), "  NULL NULL []");
}

TEST_F(SqliteCredentialStoreTest, ClientSecretInfoIsFittedToTheSecretsWhenRead) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const ClientSecretInfo first{absl::FromUnixSeconds(1'790'000'000), "uuid-1"};
  Integration short_info = Sample("acme");
  short_info.credentials.client_secrets.emplace_back(std::string("second-secret"));
  short_info.client_secret_info = {first};
  absl::StatusOr<Integration> created = store->Create(short_info);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(store->Get("acme")->client_secret_info, ElementsAre(first, ClientSecretInfo()));

  Integration long_info = *created;
  long_info.credentials.client_secrets.pop_back();
  long_info.client_secret_info = {first, {absl::FromUnixSeconds(1), "uuid-2"}, ClientSecretInfo()};
  ASSERT_TRUE(store->Update(long_info, created->etag).ok());
  absl::StatusOr<IntegrationPage> page = store->List(10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->integrations.size(), 1u);
  EXPECT_THAT(page->integrations[0].client_secret_info, ElementsAre(first));
  EXPECT_THAT(store->GetWithToken("acme")->integration.client_secret_info, ElementsAre(first));
}

TEST_F(SqliteCredentialStoreTest, MalformedClientSecretInfoColumnIsDataLossForThatIdOnly) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"alpha", "bravo"}, /*with_tokens=*/false);
  RawDb(path_).Exec(R"(UPDATE integrations SET client_secret_info = '[{"create_time_ns":"soon"}]' )"
                    "WHERE id = 'bravo'");
  absl::StatusOr<Integration> broken = store->Get("bravo");
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(broken.status().message()), HasSubstr("'bravo'"));
  EXPECT_TRUE(store->Get("alpha").ok());
  // Listed, without credentials and so without secret info.
  absl::StatusOr<IntegrationPage> page = store->List(10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->integrations.size(), 2u);
  EXPECT_THAT(page->integrations[1].credentials.client_secrets, IsEmpty());
  EXPECT_THAT(page->integrations[1].client_secret_info, IsEmpty());
}

TEST_F(SqliteCredentialStoreTest, SecretsNeverReachTheFilesInPlaintext) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"acme", "beta", "gamma"}, /*with_tokens=*/true);
  Integration updated = Sample("beta");
  ASSERT_TRUE(store->Update(updated, "").ok());
  ASSERT_TRUE(store->PutToken("beta", SampleToken("beta2", clock_.Now())).ok());

  auto expect_no_secrets = [](const std::string& file) {
    std::string bytes = ReadFile(file);
    ASSERT_FALSE(bytes.empty()) << file;
    // The non-secret columns are there in plaintext: the scan works.
    EXPECT_THAT(bytes, HasSubstr("DISPLAY-NAME-MARKER")) << file;
    EXPECT_THAT(bytes, Not(HasSubstr(kSecretMarker))) << file;
    EXPECT_THAT(bytes, Not(HasSubstr(kKeyMarker))) << file;
    EXPECT_THAT(bytes, Not(HasSubstr(kTokenMarker))) << file;
  };
  expect_no_secrets(path_ + "-wal");  // before any checkpoint: all in the WAL
  RawDb(path_).Exec("PRAGMA wal_checkpoint(FULL)");
  expect_no_secrets(path_);
}

// How many 32-byte windows of `blob` (every 16 bytes) occur in `bytes`.
int WindowsFound(const std::string& blob, const std::string& bytes) {
  int found = 0;
  for (size_t at = 0; at + 32 <= blob.size(); at += 16) {
    if (bytes.find(blob.substr(at, 32)) != std::string::npos) ++found;
  }
  return found;
}

TEST_F(SqliteCredentialStoreTest, ScrubFreedDataLeavesNoReplacedCiphertextInTheFiles) {
  // A real cipher: the fake one seals equal secrets to equal bytes, which
  // the new record would share with the old one.
  auto real = KeyringEnvelopeCipher::New(*Keyring::Generate());
  ASSERT_TRUE(real.ok()) << real.status();
  auto opened = SqliteCredentialStore::Open(path_, real->get(), &clock_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<SqliteCredentialStore> store = *std::move(opened);
  Integration jwt = Sample("acme");
  jwt.credentials.private_key_pem = SecretString(std::string(1700, 'k'));  // a key's size
  ASSERT_TRUE(store->Create(jwt).ok());
  const std::string old_blob =
      RawDb(path_).Text("SELECT credentials FROM integrations WHERE id = ?", "acme");
  ASSERT_GT(old_blob.size(), 1700u);

  Integration s2s = store->Get("acme").value();
  s2s.auth_method = AuthMethod::kOAuthServerToServer;
  s2s.credentials.private_key_pem = SecretString();
  ASSERT_TRUE(store->Update(s2s, s2s.etag).ok());
  // Without the scrub the old frames are still in the WAL: the check can fail.
  ASSERT_GT(WindowsFound(old_blob, ReadFile(path_ + "-wal")), 0);

  ASSERT_TRUE(store->ScrubFreedData().ok());
  EXPECT_EQ(ReadFile(path_ + "-wal").size(), 0u) << "truncated";
  EXPECT_EQ(WindowsFound(old_blob, ReadFile(path_)), 0) << "zeroed by secure_delete";
  EXPECT_TRUE(store->Get("acme").ok());
}

TEST_F(SqliteCredentialStoreTest, FlippedByteInCredentialsIsDataLossForThatIdOnly) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"alpha", "bravo", "charlie"}, /*with_tokens=*/false);
  RawDb raw(path_);
  std::string blob = raw.Text("SELECT credentials FROM integrations WHERE id = ?", "bravo");
  blob[blob.size() - 3] ^= 0x01;
  raw.SetBlob("UPDATE integrations SET credentials = ? WHERE id = ?", blob, "bravo");

  absl::StatusOr<Integration> broken = store->Get("bravo");
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(broken.status().message(),
            "integration 'bravo': stored credentials failed their integrity check");
  EXPECT_TRUE(store->Get("alpha").ok());
  EXPECT_TRUE(store->Get("charlie").ok());

  // List still shows every integration; the broken one without credentials.
  absl::StatusOr<IntegrationPage> page = store->List(10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->integrations.size(), 3u);
  EXPECT_EQ(page->integrations[1].id, "bravo");
  EXPECT_EQ(page->integrations[1].client_id, "client-bravo");
  EXPECT_THAT(page->integrations[1].credentials.client_secrets, IsEmpty());
  EXPECT_EQ(page->integrations[2].credentials.client_secrets.size(), 1u);
}

TEST_F(SqliteCredentialStoreTest, CiphertextCopiedFromAnotherRowIsDataLoss) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"alpha", "bravo"}, /*with_tokens=*/true);
  RawDb raw(path_);
  raw.SetBlob("UPDATE integrations SET credentials = ? WHERE id = ?",
              raw.Text("SELECT credentials FROM integrations WHERE id = ?", "alpha"), "bravo");
  raw.SetBlob("UPDATE tokens SET token = ? WHERE integration_id = ?",
              raw.Text("SELECT token FROM tokens WHERE integration_id = ?", "alpha"), "bravo");
  EXPECT_EQ(store->Get("bravo").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<std::optional<AccessToken>> token = store->GetToken("bravo");
  EXPECT_EQ(token.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("'bravo'"));
  EXPECT_TRUE(store->Get("alpha").ok());
}

TEST_F(SqliteCredentialStoreTest, EditedImsUrlColumnIsDataLoss) {
  // The IMS URL decides where the secret is sent: it is sealed with it.
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"acme"}, /*with_tokens=*/false);
  RawDb(path_).Exec("UPDATE integrations SET ims_url = 'https://attacker.example' WHERE id='acme'");
  EXPECT_EQ(store->Get("acme").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(SqliteCredentialStoreTest, UnknownKekIsFailedPreconditionNamingTheKey) {
  cipher_.SetPrimary("retired-key");
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"acme"}, /*with_tokens=*/true);
  cipher_.SetPrimary("k2");
  cipher_.RemoveKey("retired-key");

  absl::StatusOr<Integration> got = store->Get("acme");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("retired-key"));
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("'acme'"));
  EXPECT_EQ(store->GetToken("acme").status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<IntegrationPage> page = store->List(10, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->integrations.size(), 1u);

  absl::StatusOr<SqliteCredentialStore::RekeyProgress> rekey =
      store->Rekey(nullptr, StoreMaintenance::kDefaultRekeyBatchSize);
  EXPECT_EQ(rekey.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(rekey.status().message()), HasSubstr("retired-key"));
  EXPECT_THAT(std::string(rekey.status().message()), HasSubstr("'acme'"));
}

TEST_F(SqliteCredentialStoreTest, ConcurrentUpdatesWithTheSameEtagHaveOneWinner) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Integration> created = store->Create(Sample("acme"));
  ASSERT_TRUE(created.ok());
  std::atomic<int> won{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<Integration> r = store->Update(*created, created->etag);
      if (r.ok()) ++won;
      if (absl::IsAborted(r.status())) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(aborted, 7);
}

TEST_F(SqliteCredentialStoreTest, IntegrityCheckIsOkThenReportsOrphanedTokens) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"acme", "beta"}, /*with_tokens=*/true);
  EXPECT_TRUE(store->IntegrityCheck().ok()) << store->IntegrityCheck();
  // Foreign keys are off by default in other clients (the sqlite3 shell).
  RawDb(path_).Exec("DELETE FROM integrations WHERE id = 'beta'");
  absl::Status check = store->IntegrityCheck();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(check.message()), HasSubstr("tokens"));
}

TEST_F(SqliteCredentialStoreTest, BackupIsAPrivateOpenableCopyAndNeverOverwrites) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"acme", "beta"}, /*with_tokens=*/true);
  std::string backup = dir_.File("backup.db");
  ASSERT_TRUE(store->Backup(backup).ok()) << store->Backup(backup);
  EXPECT_EQ(Mode(backup), 0600);
  ASSERT_TRUE(store->Create(Sample("after-backup")).ok());

  absl::Status again = store->Backup(backup);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.message()), HasSubstr("backup.db"));
  EXPECT_EQ(store->Backup(dir_.File("no/such/dir/backup.db")).code(),
            absl::StatusCode::kFailedPrecondition);

  auto copy = SqliteCredentialStore::Open(backup, &cipher_, &clock_);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_TRUE((*copy)->IntegrityCheck().ok());
  absl::StatusOr<IntegrationPage> page = (*copy)->List(10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->integrations.size(), 2u);
  EXPECT_EQ(page->integrations[0].credentials.client_secrets[0].value(),
            absl::StrCat(kSecretMarker, "-acme"));
  absl::StatusOr<std::optional<AccessToken>> token = (*copy)->GetToken("beta");
  ASSERT_TRUE(token.ok() && token->has_value());
}

TEST_F(SqliteCredentialStoreTest, RekeyRewrapsEverythingToTheNewPrimaryInBatches) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"a", "b", "c", "d", "e"}, /*with_tokens=*/false);
  for (const char* id : {"a", "c", "e"}) {
    ASSERT_TRUE(store->PutToken(id, SampleToken(id, clock_.Now())).ok());
  }
  EXPECT_THAT(*store->KeyIdsInUse(), ElementsAre("k1"));
  cipher_.SetPrimary("k2");
  ASSERT_TRUE(store->Create(Sample("f")).ok());  // sealed with k2 already
  EXPECT_THAT(*store->KeyIdsInUse(), ElementsAre("k1", "k2"));

  std::vector<SqliteCredentialStore::RekeyProgress> seen;
  absl::StatusOr<SqliteCredentialStore::RekeyProgress> done = store->Rekey(
      [&](const SqliteCredentialStore::RekeyProgress& p) {
        seen.push_back(p);
        EXPECT_TRUE(store->KeyIdsInUse().ok());  // the callback may use the store
      },
      2);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->total, 9);
  EXPECT_EQ(done->rewrapped, 8);
  EXPECT_EQ(done->already_current, 1);
  EXPECT_EQ(done->dropped_tokens, 0);
  // Credentials: a b | c d | e; tokens: a c | e.
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].rewrapped, 2);
  EXPECT_EQ(seen[2].rewrapped, 5);
  EXPECT_EQ(seen.back().rewrapped, 8);
  EXPECT_THAT(*store->KeyIdsInUse(), ElementsAre("k2"));

  cipher_.RemoveKey("k1");  // nothing needs it any more
  for (const char* id : {"a", "b", "c", "d", "e", "f"}) {
    absl::StatusOr<Integration> got = store->Get(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->credentials.client_secrets[0].value(), absl::StrCat(kSecretMarker, "-", id));
  }
  absl::StatusOr<std::optional<AccessToken>> token = store->GetToken("c");
  ASSERT_TRUE(token.ok() && token->has_value()) << token.status();
  EXPECT_EQ((*token)->access_token.value(), absl::StrCat(kTokenMarker, "-c"));

  seen.clear();
  absl::StatusOr<SqliteCredentialStore::RekeyProgress> again =
      store->Rekey([&](const SqliteCredentialStore::RekeyProgress& p) { seen.push_back(p); }, 2);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->rewrapped, 0);
  EXPECT_EQ(again->already_current, 9);
  EXPECT_THAT(seen, IsEmpty());
}

TEST_F(SqliteCredentialStoreTest, GetWithTokenReadsATamperedTokenAsAbsentAndGetTokenFails) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"acme"}, /*with_tokens=*/true);
  RawDb raw(path_);
  std::string blob = raw.Text("SELECT token FROM tokens WHERE integration_id = ?", "acme");
  blob.back() ^= 0x01;
  raw.SetBlob("UPDATE tokens SET token = ? WHERE integration_id = ?", blob, "acme");
  absl::StatusOr<IntegrationWithToken> both = store->GetWithToken("acme");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->integration.id, "acme");
  EXPECT_FALSE(both->token.has_value());  // a cache: the broker mints a new one
  EXPECT_EQ(store->GetToken("acme").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(SqliteCredentialStoreTest, RekeyDropsCachedTokensThatCannotBeOpened) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  CreateSamples(store.get(), {"acme", "beta"}, /*with_tokens=*/true);
  RawDb raw(path_);
  std::string blob = raw.Text("SELECT token FROM tokens WHERE integration_id = ?", "acme");
  blob.back() ^= 0x01;
  raw.SetBlob("UPDATE tokens SET token = ? WHERE integration_id = ?", blob, "acme");
  cipher_.SetPrimary("k2");
  absl::StatusOr<SqliteCredentialStore::RekeyProgress> done =
      store->Rekey(nullptr, StoreMaintenance::kDefaultRekeyBatchSize);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->rewrapped, 3);
  EXPECT_EQ(done->dropped_tokens, 1);
  absl::StatusOr<std::optional<AccessToken>> token = store->GetToken("acme");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_FALSE(token->has_value());
  EXPECT_THAT(*store->KeyIdsInUse(), ElementsAre("k2"));
}

TEST_F(SqliteCredentialStoreTest, RekeyRunsOnlineAlongsideReadersAndWriters) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(absl::StrCat("int-", 1000 + i));
  CreateSamples(store.get(), ids, /*with_tokens=*/false);
  cipher_.SetPrimary("k2");

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, failures{0};
  std::thread reader([&] {
    for (size_t i = 0; !stop; i = (i + 7) % ids.size()) {
      absl::StatusOr<Integration> got = store->Get(ids[i]);
      if (!got.ok() || got->credentials.client_secrets.size() != 1) ++failures;
      ++reads;
    }
  });
  std::thread writer([&] {
    for (size_t i = 0; !stop; i = (i + 13) % ids.size()) {
      if (!store->Update(Sample(ids[i]), "").ok()) ++failures;
      if (!store->PutToken(ids[i], SampleToken(ids[i], clock_.Now())).ok()) ++failures;
    }
  });
  absl::StatusOr<SqliteCredentialStore::RekeyProgress> done = store->Rekey(nullptr, 10);
  // Let the reader overlap at least a little even on a fast machine.
  while (reads < 50) std::this_thread::yield();
  stop = true;
  reader.join();
  writer.join();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(failures, 0);
  // Rows the writer re-sealed first are nobody's work: rewrapped <= total.
  EXPECT_GT(done->rewrapped, 0);
  EXPECT_LE(done->rewrapped + done->already_current, done->total);
  EXPECT_THAT(*store->KeyIdsInUse(), ElementsAre("k2"));
  cipher_.RemoveKey("k1");
  for (const std::string& id : ids) ASSERT_TRUE(store->Get(id).ok()) << id;
}

TEST_F(SqliteCredentialStoreTest, RekeyRejectsANonPositiveBatch) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Rekey(nullptr, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

// `tokenbroker check` opens every sealed record, cached tokens included.
TEST(SqliteCheckCommandTest, AFlippedTagByteInACachedTokenFailsCheckNamingTheRecord) {
  TempDir dir;
  const std::string kek = dir.File("keyring.json");
  ASSERT_TRUE(WriteKeyringFile(kek, *Keyring::Generate(), false).ok());
  const std::string db = dir.File("tb.db");
  ServerOptions options;
  options.store = "sqlite:" + db;
  options.kek_file = kek;
  {
    absl::StatusOr<Storage> storage = OpenStorage(options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    for (const char* id : {"acme", "beta"}) {
      ASSERT_TRUE(storage->store->Create(Sample(id)).ok());
      ASSERT_TRUE(storage->store->PutToken(id, SampleToken(id, absl::Now())).ok());
    }
  }
  const std::vector<std::string> check = {BinDir() + "/tokenbroker", "check",
                                          "--store=sqlite:" + db, "--kek-file=" + kek};
  CommandResult clean = RunCommand(check);
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("PRAGMA integrity_check: ok"));
  EXPECT_THAT(clean.out, HasSubstr("2 integrations, 2 cached tokens"));
  EXPECT_THAT(clean.out, HasSubstr("2 integrations readable, 0 failed; "
                                   "2 cached tokens readable, 0 failed"));
  {
    RawDb raw(db);
    std::string blob = raw.Text("SELECT token FROM tokens WHERE integration_id = ?", "beta");
    ASSERT_FALSE(blob.empty());
    blob.back() ^= 0x01;  // the payload's GCM tag ends the envelope (crypto/FORMATS.md)
    raw.SetBlob("UPDATE tokens SET token = ? WHERE integration_id = ?", blob, "beta");
  }
  CommandResult tampered = RunCommand(check);
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
  EXPECT_THAT(tampered.out,
              HasSubstr("beta: cached token: integration 'beta': stored token failed its "
                        "integrity check"));
  EXPECT_THAT(tampered.out, HasSubstr("2 integrations readable, 0 failed; "
                                      "1 cached tokens readable, 1 failed"));
  EXPECT_THAT(tampered.err, HasSubstr("DATA_LOSS"));
  EXPECT_THAT(tampered.out + tampered.err, Not(HasSubstr(kTokenMarker)));
}

}  // namespace
}  // namespace tokenbroker::testing
