// The one parser of `--store` and `--store-dsn-file`.
#ifndef TOKENBROKER_SERVER_STORE_STORE_SPEC_H_
#define TOKENBROKER_SERVER_STORE_STORE_SPEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokenbroker {

// Which store the flags name, and where it is.
//
//   --store=memory                      kMemory
//   --store=sqlite:PATH                 kSqlite, location PATH
//   --store=postgresql://... (postgres://...)
//                                       kPostgres, location the URI
//   --store-dsn-file=FILE [--store=postgres|postgresql]
//                                       kPostgres, location the file's
//                                       contents, surrounding whitespace trimmed
struct StoreSpec {
  enum class Kind { kMemory, kSqlite, kPostgres };

  // Parses the flags' values (`dsn_file` empty when not given; reads it).
  // INVALID_ARGUMENT naming the flag: an unsupported store (never echoed
  // when it looks like it holds a password), `sqlite:` without a path, a
  // DSN file that cannot be read or is empty, or a DSN file together with a
  // --store naming another store.
  static absl::StatusOr<StoreSpec> Parse(absl::string_view store, absl::string_view dsn_file);

  // Encrypted stores (SQLite, PostgreSQL) need a keyring.
  bool encrypted() const { return kind != Kind::kMemory; }
  // For logs and messages: `memory`, `sqlite:PATH`, `postgres host=H
  // port=P dbname=D` (never the password), or `postgres (connection
  // string in FILE)`.
  std::string Describe() const;

  Kind kind = Kind::kMemory;
  // kSqlite: the database path. kPostgres: the libpq connection string
  // (secret: it may hold a password). Empty for kMemory.
  std::string location;
  // The --store-dsn-file the connection string came from, if any.
  std::string dsn_file;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_STORE_SPEC_H_
