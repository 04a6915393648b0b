// A private PostgreSQL server for tests: a throw-away cluster in a
// temporary directory, listening on 127.0.0.1 only, on a free port.
//
// Needs the PostgreSQL server binaries (Debian package `postgresql`, which
// `make deps` installs) under /usr/lib/postgresql/<version>/bin. Tests that
// use it fail, never skip, when they are missing. When the tests run as root
// (PostgreSQL refuses to), initdb, pg_ctl and the server run as the
// `postgres` user through runuser.
//
// Logins: superuser `tokenbroker` with a random password, scram-sha-256
// over TCP. Not thread-safe; one instance per test or per test binary.
#ifndef TOKENBROKER_TESTS_TESTING_POSTGRES_H_
#define TOKENBROKER_TESTS_TESTING_POSTGRES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker::testing {

class PostgresServer {
 public:
  // initdb + start. FAILED_PRECONDITION when the binaries are missing;
  // INTERNAL (with the server log's tail) when the server does not start.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  // One server for the whole test process, started on first use and
  // stopped at exit. Tests give each case its own database
  // (CreateFreshDatabase).
  static absl::StatusOr<PostgresServer*> Shared();

  // Stops the server (immediate mode) and removes its files.
  ~PostgresServer();

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  // `postgresql://tokenbroker:PASSWORD@127.0.0.1:PORT/DATABASE`.
  std::string dsn(const std::string& database = "postgres") const;

  // CREATE DATABASE `name` (letters, digits, underscores).
  absl::Status CreateDatabase(const std::string& name);
  // A new database with a unique name; returns the name.
  absl::StatusOr<std::string> CreateFreshDatabase();
  // Runs `sql` with psql in `database`; returns its unaligned, tuples-only
  // output (`psql -XAtq`). INTERNAL with psql's stderr when it fails.
  absl::StatusOr<std::string> Psql(const std::string& database, const std::string& sql);
  // `pg_dump` of `database` (plain SQL, schema and data).
  absl::StatusOr<std::string> Dump(const std::string& database);

  // Turns on TLS with this server certificate and key (PEM) and restarts:
  // clients may then use sslmode=require/verify-ca/verify-full (plain TCP
  // is still accepted).
  absl::Status EnableTls(const std::string& certificate_pem, const std::string& private_key_pem);

  // Clean shutdown (`pg_ctl stop -m fast`): sessions are terminated.
  absl::Status Stop();
  // Crash-like shutdown (`pg_ctl stop -m immediate`).
  absl::Status Kill();
  // Starts the stopped server again: same data, same port.
  absl::Status Restart();
  bool running() const { return running_; }

  // The server log, for failure messages.
  std::string log() const;

 private:
  PostgresServer() = default;
  absl::Status StartServer();
  // `argv`, as the postgres user when running as root.
  std::vector<std::string> AsServerUser(std::vector<std::string> argv) const;

  TempDir dir_;
  std::string bin_dir_;
  std::string user_ = "tokenbroker";
  std::string password_;
  int port_ = 0;
  bool running_ = false;
  int next_database_ = 0;
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_POSTGRES_H_
