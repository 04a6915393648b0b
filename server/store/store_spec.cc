#include "server/store/store_spec.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/store/postgres_credential_store.h"

namespace tokenbroker {
namespace {

constexpr char kSqlitePrefix[] = "sqlite:";

bool IsPostgresUri(absl::string_view store) {
  return absl::StartsWith(store, "postgres://") || absl::StartsWith(store, "postgresql://");
}

}  // namespace

absl::StatusOr<StoreSpec> StoreSpec::Parse(absl::string_view store, absl::string_view dsn_file) {
  StoreSpec spec;
  if (!dsn_file.empty()) {
    if (store != "memory" && store != "postgres" && store != "postgresql" && !store.empty()) {
      return InvalidField("--store-dsn-file",
                          "names the PostgreSQL store: leave --store unset (or 'postgres')");
    }
    std::ifstream in{std::string(dsn_file), std::ios::binary};
    if (!in) return InvalidField("--store-dsn-file", absl::StrCat("cannot read ", dsn_file));
    std::stringstream text;
    text << in.rdbuf();
    spec.location = std::string(absl::StripAsciiWhitespace(text.str()));
    if (spec.location.empty()) {
      return InvalidField("--store-dsn-file", absl::StrCat(dsn_file, " is empty"));
    }
    spec.kind = Kind::kPostgres;
    spec.dsn_file = std::string(dsn_file);
    return spec;
  }
  if (store == "memory") return spec;
  if (absl::StartsWith(store, kSqlitePrefix)) {
    spec.kind = Kind::kSqlite;
    spec.location = std::string(store.substr(sizeof(kSqlitePrefix) - 1));
    if (spec.location.empty()) return InvalidField("--store", "sqlite:PATH needs a path");
    return spec;
  }
  if (IsPostgresUri(store)) {
    spec.kind = Kind::kPostgres;
    spec.location = std::string(store);
    return spec;
  }
  if (store == "postgres" || store == "postgresql") {
    return InvalidField("--store", absl::StrCat("'", store,
                                                "' needs --store-dsn-file=PATH (or use "
                                                "--store=postgresql://USER@HOST:PORT/DB)"));
  }
  // A mistyped URI may hold a password: do not echo it.
  const bool secret_looking = absl::StrContains(store, "@");
  return InvalidField(
      "--store",
      absl::StrCat("unsupported store", secret_looking ? "" : absl::StrCat(" '", store, "'"),
                   " (use memory, sqlite:PATH, or postgresql://USER@HOST:PORT/DB)"));
}

std::string StoreSpec::Describe() const {
  switch (kind) {
    case Kind::kMemory:
      return "memory";
    case Kind::kSqlite:
      return absl::StrCat(kSqlitePrefix, location);
    case Kind::kPostgres:
      if (!dsn_file.empty()) return absl::StrCat("postgres (connection string in ", dsn_file, ")");
      return absl::StrCat("postgres ", PostgresCredentialStore::DescribeDsn(location));
  }
  return "memory";
}

}  // namespace tokenbroker
