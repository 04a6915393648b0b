// PgPool (the PostgreSQL store's connection pool): bounded, replaces broken
// connections, retries once only when that is safe.
#include "server/store/postgres_connection.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "server/common/status_macros.h"
#include "tests/testing/postgres.h"

namespace tokenbroker::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tokenbroker::testing::PostgresServer;

PgPool::Options Small(int size) {
  PgPool::Options o;
  o.size = size;
  o.acquire_timeout = absl::Milliseconds(300);
  o.connect_timeout = absl::Seconds(3);
  return o;
}

std::unique_ptr<PgPool> NewPool(int size) {
  absl::StatusOr<PostgresServer*> server = PostgresServer::Shared();
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  absl::StatusOr<PgDsn> dsn = PgDsn::Parse((*server)->dsn());
  EXPECT_TRUE(dsn.ok()) << dsn.status();
  return std::make_unique<PgPool>(*std::move(dsn), Small(size));
}

// Ends the session the statement runs in: the connection breaks mid-query.
constexpr char kSuicide[] = "SELECT pg_terminate_backend(pg_backend_pid())";

TEST(PgPoolTest, AcquireBeyondTheSizeWaitsThenIsUnavailable) {
  auto pool = NewPool(2);
  ASSERT_NE(pool, nullptr);
  auto a = pool->Acquire();
  auto b = pool->Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<PgPool::Lease> c = pool->Acquire();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("no free connection"));
  { PgPool::Lease released = *std::move(a); }
  EXPECT_TRUE(pool->Acquire().ok());
}

TEST(PgPoolTest, ABrokenConnectionIsReplaced) {
  auto pool = NewPool(1);
  ASSERT_NE(pool, nullptr);
  {
    auto lease = pool->Acquire();
    ASSERT_TRUE(lease.ok());
    absl::Status killed = (*lease)->Exec("suicide", kSuicide).status();
    EXPECT_EQ(killed.code(), absl::StatusCode::kUnavailable) << killed;
    EXPECT_TRUE((*lease)->Broken());
  }
  // The pool of one did not stay full of a dead connection.
  auto lease = pool->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE((*lease)->Exec("ping", "SELECT 1").ok());
}

TEST(PgPoolTest, RunRetriesOnceOnAFreshConnectionWhenSafe) {
  auto pool = NewPool(2);
  ASSERT_NE(pool, nullptr);
  int attempts = 0;
  absl::Status status = pool->Run([&](PgConnection& conn, bool*) -> absl::Status {
    ++attempts;
    return conn.Exec("work", attempts == 1 ? kSuicide : "SELECT 1").status();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);

  // Never more than once.
  attempts = 0;
  status = pool->Run([&](PgConnection& conn, bool*) -> absl::Status {
    ++attempts;
    return conn.Exec("work", kSuicide).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(attempts, 2);

  // Not when the work says a retry could apply it twice.
  attempts = 0;
  status = pool->Run([&](PgConnection& conn, bool* retry_safe) -> absl::Status {
    ++attempts;
    *retry_safe = false;
    return conn.Exec("work", kSuicide).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(attempts, 1);

  // Not for errors that are not about the connection.
  attempts = 0;
  status = pool->Run([&](PgConnection& conn, bool*) -> absl::Status {
    ++attempts;
    return conn.Exec("work", "SELECT * FROM no_such_table").status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("42P01"));
  EXPECT_EQ(attempts, 1);
}

TEST(PgPoolTest, TransactionLostBeforeCommitIsRetriedAndAppliedOnce) {
  auto pool = NewPool(2);
  ASSERT_NE(pool, nullptr);
  const std::string table = absl::StrCat("t_", getpid());
  ASSERT_TRUE(pool->Run([&](PgConnection& conn, bool*) {
                    return conn.ExecScript("create", "CREATE TABLE " + table + " (n int)");
                  })
                  .ok());
  int attempts = 0;
  absl::Status status = pool->Transaction([&](PgConnection& conn) -> absl::Status {
    ++attempts;
    TB_RETURN_IF_ERROR(conn.Exec("insert", "INSERT INTO " + table + " VALUES ($1)",
                                 PgParams().Add(int64_t{attempts}))
                           .status());
    if (attempts == 1) return conn.Exec("suicide", kSuicide).status();
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);
  absl::StatusOr<PgPool::Lease> lease = pool->Acquire();
  ASSERT_TRUE(lease.ok());
  absl::StatusOr<PgRows> rows = (*lease)->Exec("read", "SELECT n FROM " + table + " ORDER BY n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1);  // the first attempt was rolled back
  EXPECT_EQ(rows->Int(0, 0), 2);
}

TEST(PgPoolTest, ParametersAndBinaryResultsRoundTrip) {
  auto pool = NewPool(1);
  ASSERT_NE(pool, nullptr);
  auto lease = pool->Acquire();
  ASSERT_TRUE(lease.ok());
  const std::string bytes("\x00\x01\xff'\\x", 6);
  absl::StatusOr<PgRows> rows = (*lease)->Exec(
      "round trip", "SELECT $1::bytea, $2::text, $3::bigint, $4::bigint, $5::boolean, 7::int2",
      PgParams()
          .AddBytes(bytes)
          .Add("O'Brien; DROP TABLE x")
          .Add(int64_t{-9'000'000'000'000})
          .Add(std::optional<int64_t>())
          .Add("true"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->Bytes(0, 0), bytes);
  EXPECT_EQ(rows->Bytes(0, 1), "O'Brien; DROP TABLE x");
  EXPECT_EQ(rows->Int(0, 2), -9'000'000'000'000);
  EXPECT_FALSE(rows->OptionalInt(0, 3).has_value());
  EXPECT_EQ(rows->Int(0, 4), 1);
  EXPECT_EQ(rows->Int(0, 5), 7);
}

TEST(PgPoolTest, AStatementOverItsTimeoutIsCancelledAndUnavailable) {
  auto pool = NewPool(1);
  ASSERT_NE(pool, nullptr);
  {
    auto lease = pool->Acquire();
    ASSERT_TRUE(lease.ok());
    absl::Time start = absl::Now();
    absl::Status slow =
        (*lease)
            ->Exec("sleeping", "SELECT pg_sleep(30)", PgParams(), absl::Milliseconds(300))
            .status();
    EXPECT_EQ(slow.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(slow.message()), HasSubstr("no answer within"));
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  }
  auto lease = pool->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE((*lease)->Exec("ping", "SELECT 1").ok());
}

TEST(PgDsnTest, DescribesWithoutThePasswordAndScrubsIt) {
  absl::StatusOr<PgDsn> dsn =
      PgDsn::Parse("  postgresql://app:S3cretPassw0rd@db.example:6432/tb?sslmode=verify-full\n");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  EXPECT_EQ(dsn->description, "host=db.example port=6432 dbname=tb");
  EXPECT_EQ(ScrubPassword("FATAL: bad S3cretPassw0rd here", *dsn), "FATAL: bad <redacted> here");
  absl::StatusOr<PgDsn> keywords = PgDsn::Parse("host=h dbname=d password=S3cretPassw0rd");
  ASSERT_TRUE(keywords.ok());
  EXPECT_EQ(keywords->description, "host=h port=5432 dbname=d");
  absl::StatusOr<PgDsn> bad = PgDsn::Parse("postgresql://a:S3cretPassw0rd@h/%zz");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), Not(HasSubstr("S3cret")));
  EXPECT_EQ(PgDsn::Parse("  ").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokenbroker::internal
