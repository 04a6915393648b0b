#include "server/admin_commands.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/auth/policy.h"
#include "server/common/status_macros.h"
#include "server/crypto/keyring.h"
#include "server/store/postgres_credential_store.h"
#include "server/store/store_maintenance.h"
#include "server/store/store_spec.h"

namespace tokenbroker {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "tokenbroker: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return 1;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "tokenbroker: %s (see tokenbroker --help)\n", message.c_str());
  return 2;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<StoreSpec> ParseStore(const ServerOptions& o) {
  return StoreSpec::Parse(o.store, o.store_dsn_file);
}

int KeyringCommand(const std::vector<std::string>& args, const AdminOptions& o) {
  if (args.size() != 2) return Usage("usage: tokenbroker keyring create|add|list|remove");
  const std::string& verb = args[1];
  const std::string& path = o.server.kek_file;
  if (path.empty()) return Usage("keyring " + verb + " needs --kek-file=PATH");
  if (verb == "create") {
    absl::StatusOr<Keyring> keyring = Keyring::Generate();
    if (!keyring.ok()) return Fail(keyring.status());
    absl::Status written = WriteKeyringFile(path, *keyring, /*overwrite=*/false);
    if (!written.ok()) return Fail(written);
    std::printf(
        "created keyring %s (mode 0600) with primary key %s\n"
        "Keep it secret and back it up apart from the database: without it the stored\n"
        "credentials cannot be decrypted by anyone, including you.\n",
        path.c_str(), keyring->primary_id().c_str());
    return 0;
  }
  absl::StatusOr<Keyring> keyring = Keyring::LoadFromFile(path);
  if (!keyring.ok()) return Fail(keyring.status());
  if (verb == "add") {
    std::string old_primary = keyring->primary_id();
    absl::StatusOr<std::string> id = keyring->AddPrimary();
    if (!id.ok()) return Fail(id.status());
    absl::Status written = WriteKeyringFile(path, *keyring, /*overwrite=*/true);
    if (!written.ok()) return Fail(written);
    std::printf(
        "added key %s as the primary of %s; %s is now decrypt-only.\n"
        "Running servers pick the new key up within seconds. Next: tokenbroker rekey "
        "--store=... --kek-file=%s\n",
        id->c_str(), path.c_str(), old_primary.c_str(), path.c_str());
    return 0;
  }
  if (verb == "list") {
    std::printf("%-20s %-8s %s\n", "KEY ID", "ROLE", "CREATED");
    for (const auto& key : keyring->metadata()) {
      std::printf("%-20s %-8s %s\n", key.id.c_str(), key.primary ? "primary" : "decrypt",
                  Rfc3339(key.create_time).c_str());
    }
    return 0;
  }
  if (verb == "remove") {
    if (o.key_id.empty()) return Usage("keyring remove needs --key-id=ID");
    absl::StatusOr<StoreSpec> spec = ParseStore(o.server);
    if (!spec.ok()) return Fail(spec.status());
    if (spec->encrypted()) {
      absl::StatusOr<Storage> storage = OpenStorage(o.server, *spec);
      if (!storage.ok()) return Fail(storage.status());
      absl::StatusOr<std::vector<std::string>> in_use = storage->maintenance->KeyIdsInUse();
      if (!in_use.ok()) return Fail(in_use.status());
      for (const auto& id : *in_use) {
        if (id == o.key_id) {
          return Fail(absl::FailedPreconditionError(
              absl::StrCat("key ", id, " still wraps stored data: run tokenbroker rekey first")));
        }
      }
    } else {
      std::fprintf(stderr,
                   "warning: no --store=sqlite:PATH or PostgreSQL store given, so nothing checked "
                   "that key %s is "
                   "no longer in use\n",
                   o.key_id.c_str());
    }
    absl::Status removed = keyring->Remove(o.key_id);
    if (!removed.ok()) return Fail(removed);
    absl::Status written = WriteKeyringFile(path, *keyring, /*overwrite=*/true);
    if (!written.ok()) return Fail(written);
    std::printf("removed key %s from %s\n", o.key_id.c_str(), path.c_str());
    return 0;
  }
  return Usage("unknown keyring command '" + verb + "' (create, add, list, remove)");
}

absl::StatusOr<Storage> OpenEncrypted(const AdminOptions& o, const std::string& command) {
  TB_ASSIGN_OR_RETURN(StoreSpec spec, ParseStore(o.server));
  if (!spec.encrypted()) {
    return absl::InvalidArgumentError(command +
                                      " needs --store=sqlite:PATH or a PostgreSQL store "
                                      "(--store=postgresql://... or --store-dsn-file=PATH)");
  }
  return OpenStorage(o.server, spec);
}

int RekeyCommand(const AdminOptions& o) {
  absl::StatusOr<Storage> storage = OpenEncrypted(o, "rekey");
  if (!storage.ok()) return Fail(storage.status());
  StoreMaintenance& store = *storage->maintenance;
  std::printf("re-wrapping every data key with primary key %s\n",
              storage->cipher->PrimaryKeyId().c_str());
  absl::Time start = absl::Now();
  auto progress = [](const StoreMaintenance::RekeyProgress& p) {
    std::printf("  %lld/%lld re-wrapped, %lld already current\n",
                static_cast<long long>(p.rewrapped), static_cast<long long>(p.total),
                static_cast<long long>(p.already_current));
    std::fflush(stdout);
  };
  absl::StatusOr<StoreMaintenance::RekeyProgress> done =
      store.Rekey(progress, StoreMaintenance::kDefaultRekeyBatchSize);
  if (!done.ok()) return Fail(done.status());
  absl::StatusOr<std::vector<std::string>> in_use = store.KeyIdsInUse();
  if (!in_use.ok()) return Fail(in_use.status());
  std::printf(
      "done in %s: %lld ciphertexts, %lld re-wrapped, %lld already current, %lld unreadable "
      "cached tokens dropped\nkey ids still in use: %s\n",
      absl::FormatDuration(absl::Now() - start).c_str(), static_cast<long long>(done->total),
      static_cast<long long>(done->rewrapped), static_cast<long long>(done->already_current),
      static_cast<long long>(done->dropped_tokens), absl::StrJoin(*in_use, ", ").c_str());
  return 0;
}

int MigrateCommand(const AdminOptions& o) {
  absl::StatusOr<StoreSpec> spec = ParseStore(o.server);
  if (!spec.ok()) return Fail(spec.status());
  switch (spec->kind) {
    case StoreSpec::Kind::kPostgres: {
      // Needs no keyring: only the schema is touched.
      PostgresStoreOptions pg;
      pg.dsn = spec->location;
      absl::StatusOr<int> version = PostgresCredentialStore::Migrate(pg);
      if (!version.ok()) return Fail(version.status());
      std::printf("PostgreSQL store %s: schema at version %d\n",
                  PostgresCredentialStore::DescribeDsn(pg.dsn).c_str(), *version);
      return 0;
    }
    case StoreSpec::Kind::kSqlite: {
      // The SQLite store migrates when opened (which needs the keyring).
      absl::StatusOr<Storage> storage = OpenStorage(o.server, *spec);
      if (!storage.ok()) return Fail(storage.status());
      absl::StatusOr<std::string> structure = storage->maintenance->CheckStructure();
      if (!structure.ok()) return Fail(structure.status());
      std::printf("SQLite store %s: schema at the latest version\n", spec->location.c_str());
      return 0;
    }
    case StoreSpec::Kind::kMemory:
      break;
  }
  return Usage("migrate needs --store=sqlite:PATH or a PostgreSQL store");
}

int BackupCommand(const AdminOptions& o) {
  if (o.to.empty()) return Usage("backup needs --to=FILE");
  absl::StatusOr<StoreSpec> spec = ParseStore(o.server);
  if (!spec.ok()) return Fail(spec.status());
  if (spec->kind != StoreSpec::Kind::kSqlite) return Usage("backup needs --store=sqlite:PATH");
  absl::StatusOr<Storage> storage = OpenStorage(o.server, *spec);
  if (!storage.ok()) return Fail(storage.status());
  absl::Status backed_up = storage->maintenance->Backup(o.to);
  if (!backed_up.ok()) return Fail(backed_up);
  std::printf("backup written to %s (encrypted: restore it with the same keyring)\n", o.to.c_str());
  return 0;
}

// What opening every sealed record found.
struct OpenedRecords {
  int64_t integrations_ok = 0, integrations_failed = 0;
  int64_t tokens_ok = 0, tokens_failed = 0;
};

// Opens every sealed record of `store`: each integration's credentials
// (Get) and its cached token, if any (GetToken). Prints each failure (the
// integration id, which record, the store's message: never secret bytes)
// and a summary.
absl::StatusOr<OpenedRecords> OpenEverySealedRecord(CredentialStore& store) {
  OpenedRecords r;
  std::string page_token;
  do {
    TB_ASSIGN_OR_RETURN(IntegrationPage page, store.List(500, page_token));
    for (const Integration& in : page.integrations) {
      absl::StatusOr<Integration> full = store.Get(in.id);
      if (full.ok()) {
        ++r.integrations_ok;
      } else if (absl::IsNotFound(full.status())) {
        continue;  // deleted since it was listed
      } else {
        ++r.integrations_failed;
        std::printf("  %s: credentials: %s\n", in.id.c_str(),
                    std::string(full.status().message()).c_str());
      }
      absl::StatusOr<std::optional<AccessToken>> token = store.GetToken(in.id);
      if (token.ok()) {
        if (token->has_value()) ++r.tokens_ok;
      } else if (!absl::IsNotFound(token.status())) {
        ++r.tokens_failed;
        std::printf("  %s: cached token: %s\n", in.id.c_str(),
                    std::string(token.status().message()).c_str());
      }
    }
    page_token = page.next_page_token;
  } while (!page_token.empty());
  std::printf("%lld integrations readable, %lld failed; %lld cached tokens readable, %lld failed\n",
              static_cast<long long>(r.integrations_ok),
              static_cast<long long>(r.integrations_failed), static_cast<long long>(r.tokens_ok),
              static_cast<long long>(r.tokens_failed));
  return r;
}

// The backend's own check, then what it holds.
absl::Status CheckStorage(const Storage& storage) {
  StoreMaintenance& store = *storage.maintenance;
  TB_ASSIGN_OR_RETURN(std::string structure, store.CheckStructure());
  std::printf("%s\n", structure.c_str());
  TB_ASSIGN_OR_RETURN(StoreMaintenance::Counts counts, store.Count());
  TB_ASSIGN_OR_RETURN(std::vector<std::string> in_use, store.KeyIdsInUse());
  std::printf("%s: %lld integrations, %lld cached tokens; key ids in use: %s\n",
              storage.spec.Describe().c_str(), static_cast<long long>(counts.integrations),
              static_cast<long long>(counts.tokens), absl::StrJoin(in_use, ", ").c_str());
  return absl::OkStatus();
}

int CheckCommand(const AdminOptions& o) {
  absl::StatusOr<Storage> storage = OpenEncrypted(o, "check");
  if (!storage.ok()) return Fail(storage.status());
  absl::Status checked = CheckStorage(*storage);
  if (!checked.ok()) return Fail(checked);
  absl::StatusOr<OpenedRecords> opened = OpenEverySealedRecord(*storage->store);
  if (!opened.ok()) return Fail(opened.status());
  if (opened->integrations_failed > 0 || opened->tokens_failed > 0) {
    return Fail(absl::DataLossError(
        absl::StrCat(opened->integrations_failed, " integrations' credentials and ",
                     opened->tokens_failed, " cached tokens failed to open (see above)")));
  }
  return 0;
}

int RestoreCommand(const AdminOptions& o) {
  if (o.from.empty()) return Usage("restore needs --from=FILE");
  absl::StatusOr<StoreSpec> spec = ParseStore(o.server);
  if (!spec.ok()) return Fail(spec.status());
  if (spec->kind != StoreSpec::Kind::kSqlite) return Usage("restore needs --store=sqlite:PATH");
  const std::string target = spec->location;
  std::error_code ec;
  if (std::filesystem::exists(target, ec) && !o.force) {
    return Fail(absl::AlreadyExistsError(
        absl::StrCat(target, " exists: stop the server and pass --force to replace it")));
  }
  // Verify the backup with the keyring before touching the target.
  StoreSpec backup_spec = *spec;
  backup_spec.location = o.from;
  absl::StatusOr<Storage> backup = OpenStorage(o.server, backup_spec);
  if (!backup.ok()) return Fail(backup.status());
  absl::Status checked = CheckStorage(*backup);
  if (!checked.ok()) return Fail(checked);
  absl::StatusOr<OpenedRecords> opened = OpenEverySealedRecord(*backup->store);
  if (!opened.ok()) return Fail(opened.status());
  // Cached tokens that fail are only a cache (the server mints new ones);
  // credentials that fail are not.
  if (opened->integrations_failed > 0) {
    return Fail(absl::DataLossError(
        absl::StrCat(opened->integrations_failed, " integrations failed their integrity check")));
  }
  const int64_t count = opened->integrations_ok;
  std::string tmp = target + ".restore-tmp";
  backup->store.reset();
  std::filesystem::path dir = std::filesystem::path(target).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    chmod(dir.c_str(), 0700);
  }
  std::filesystem::remove(tmp, ec);
  std::filesystem::copy_file(o.from, tmp, ec);
  if (ec) {
    return Fail(absl::InternalError("copy " + o.from + " to " + tmp + ": " + ec.message()));
  }
  chmod(tmp.c_str(), 0600);
  for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(target + suffix, ec);
  std::filesystem::rename(tmp, target, ec);
  if (ec) return Fail(absl::InternalError("rename onto " + target + ": " + ec.message()));
  std::printf("restored %lld integrations from %s into %s\n", static_cast<long long>(count),
              o.from.c_str(), target.c_str());
  return 0;
}

}  // namespace

// Makes a random 256-bit caller token and its policy entry.
int CallerTokenCommand(const std::vector<std::string>& args, const AdminOptions& o) {
  if (args.size() != 2 || args[1] != "create") {
    return Usage("usage: tokenbroker caller-token create --identity=NAME");
  }
  if (o.identity.empty()) return Usage("caller-token create needs --identity=NAME");
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return Fail(absl::InternalError("the random generator failed"));
  }
  std::string token = absl::StrCat(
      "tbk_", absl::WebSafeBase64Escape(std::string(reinterpret_cast<char*>(bytes), 32)));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  nlohmann::json entry = {{"identity", o.identity}, {"hash", Policy::HashToken(token)}};
  std::printf("%s\n", token.c_str());
  std::fprintf(stderr,
               "The line above is the caller token for '%s': give it to the caller (it is not "
               "stored anywhere).\nAdd this entry to \"caller_tokens\" in the policy file:\n%s\n",
               o.identity.c_str(), entry.dump().c_str());
  OPENSSL_cleanse(token.data(), token.size());
  return 0;
}

bool IsAdminCommand(const std::string& command) {
  return command == "caller-token" || command == "keyring" || command == "rekey" ||
         command == "backup" || command == "restore" || command == "check" || command == "migrate";
}

int RunAdminCommand(const std::vector<std::string>& args, const AdminOptions& options) {
  const std::string& command = args.at(0);
  if (command == "keyring") return KeyringCommand(args, options);
  if (command == "caller-token") return CallerTokenCommand(args, options);
  if (args.size() != 1) return Usage("unexpected argument '" + args[1] + "'");
  if (command == "rekey") return RekeyCommand(options);
  if (command == "backup") return BackupCommand(options);
  if (command == "restore") return RestoreCommand(options);
  if (command == "check") return CheckCommand(options);
  if (command == "migrate") return MigrateCommand(options);
  return Usage("unknown command '" + command + "'");
}

}  // namespace tokenbroker
