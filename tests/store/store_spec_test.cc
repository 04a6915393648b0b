// StoreSpec: the one parser of --store and --store-dsn-file.
#include "server/store/store_spec.h"

#include "gmock/gmock.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Kind = StoreSpec::Kind;

TEST(StoreSpecTest, ParsesEveryStoreKind) {
  absl::StatusOr<StoreSpec> memory = StoreSpec::Parse("memory", "");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->kind, Kind::kMemory);
  EXPECT_FALSE(memory->encrypted());
  EXPECT_EQ(memory->Describe(), "memory");

  absl::StatusOr<StoreSpec> sqlite = StoreSpec::Parse("sqlite:/var/lib/tb/tokenbroker.db", "");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  EXPECT_EQ(sqlite->kind, Kind::kSqlite);
  EXPECT_EQ(sqlite->location, "/var/lib/tb/tokenbroker.db");
  EXPECT_TRUE(sqlite->encrypted());
  EXPECT_EQ(sqlite->Describe(), "sqlite:/var/lib/tb/tokenbroker.db");

  for (const char* uri : {"postgresql://tb:Pa55word@db.internal:5432/tb?sslmode=verify-full",
                          "postgres://tb:Pa55word@db.internal:5432/tb"}) {
    absl::StatusOr<StoreSpec> pg = StoreSpec::Parse(uri, "");
    ASSERT_TRUE(pg.ok()) << pg.status();
    EXPECT_EQ(pg->kind, Kind::kPostgres);
    EXPECT_EQ(pg->location, uri);
    EXPECT_TRUE(pg->encrypted());
    EXPECT_EQ(pg->Describe(), "postgres host=db.internal port=5432 dbname=tb");
  }
}

TEST(StoreSpecTest, ReadsTheDsnFileTrimmed) {
  TempDir dir;
  WriteFile(dir.File("dsn"), "\n  postgresql://tb:Pa55word@127.0.0.1:5432/tb \n");
  for (const char* store : {"memory", "postgres", "postgresql", ""}) {
    absl::StatusOr<StoreSpec> spec = StoreSpec::Parse(store, dir.File("dsn"));
    ASSERT_TRUE(spec.ok()) << store << ": " << spec.status();
    EXPECT_EQ(spec->kind, Kind::kPostgres);
    EXPECT_EQ(spec->location, "postgresql://tb:Pa55word@127.0.0.1:5432/tb");
    EXPECT_THAT(spec->Describe(), HasSubstr(dir.File("dsn")));
    EXPECT_THAT(spec->Describe(), Not(HasSubstr("Pa55word")));
  }
}

// Each error names its flag and says what to do.
TEST(StoreSpecTest, ProblemsAreInvalidArgumentNamingTheFlag) {
  TempDir dir;
  struct Case {
    std::string store, dsn_file, fragment;
  };
  WriteFile(dir.File("empty"), " \n\t");
  WriteFile(dir.File("dsn"), "postgresql://x@127.0.0.1:1/db");
  for (const Case& c : std::vector<Case>{
           {"sqlite:", "", "sqlite:PATH needs a path"},
           {"mysql://db", "", "unsupported store 'mysql://db'"},
           {"postgres", "", "--store-dsn-file"},
           {"memory", dir.File("missing"), "cannot read"},
           {"memory", dir.File("empty"), "is empty"},
           {"sqlite:" + dir.File("db"), dir.File("dsn"), "leave --store unset"},
       }) {
    absl::StatusOr<StoreSpec> spec = StoreSpec::Parse(c.store, c.dsn_file);
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << c.store;
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(c.fragment)) << c.store;
  }
}

TEST(StoreSpecTest, AnUnsupportedStoreThatMayHoldAPasswordIsNotEchoed) {
  absl::StatusOr<StoreSpec> spec = StoreSpec::Parse("postgresq://tb:Pa55word@db/tb", "");
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("unsupported store"));
  EXPECT_THAT(std::string(spec.status().message()), Not(HasSubstr("Pa55word")));
}

}  // namespace
}  // namespace tokenbroker::testing
