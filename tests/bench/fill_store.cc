// bench-fill-store: writes N integrations straight into an encrypted SQLite
// store through SqliteCredentialStore (the same code path, envelope cipher
// and durability settings as the server), for the start-up benchmark
// (tests/bench/startup.sh). Not a test.
//
//   bench-fill-store --db=PATH --kek-file=KEYRING [--count=100000] [--with-tokens]
//                    [--threads=2] [--id-prefix=bench-]
//
// Integrations are `<prefix>NNNNNN` (six digits, from 0), OAuth
// server-to-server, with realistic sizes: a 32-hex client id, an org id
// (24 hex + "@AdobeOrg"), two 32-character client secrets (each with its
// stored time and Developer Console uuid), the Console's org and credential
// ids, three scopes.
// With --with-tokens each also gets a cached access token (a ~1 KB
// JWT-shaped string expiring in --token-lifetime, 24 h), so a restarted
// broker serves it from the store with no IMS exchange.
//
// The store API has no batch insert: every Create and PutToken is its own
// transaction, committed with synchronous=FULL (one WAL fsync each). Sealing
// runs outside the store's mutex, so --threads overlaps the crypto of one
// thread with the commit of another. Progress every 10,000; the last line,
// `RESULT key=value ...`, is what startup.sh parses.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/flag_names.h"
#include "server/crypto/envelope_cipher.h"
#include "server/crypto/keyring.h"
#include "server/model/integration.h"
#include "server/store/sqlite_credential_store.h"

ABSL_FLAG(std::string, db, "", "SQLite database file to fill (created if missing).");
ABSL_FLAG(std::string, kek_file, "", "Keyring file (tokenbroker keyring create --kek-file=...).");
ABSL_FLAG(int, count, 100000, "Number of integrations to write.");
ABSL_FLAG(int, first, 0, "Number of the first integration (ids <prefix>NNNNNN).");
ABSL_FLAG(std::string, id_prefix, "bench-", "Integration id prefix.");
ABSL_FLAG(bool, with_tokens, false, "Also store a cached access token per integration.");
ABSL_FLAG(absl::Duration, token_lifetime, absl::Hours(24), "Lifetime of the stored tokens.");
ABSL_FLAG(int, threads, 2, "Writer threads (sealing overlaps commits; commits are serialised).");
ABSL_FLAG(int, progress_every, 10000, "Print progress every this many integrations.");

namespace {

using tokenbroker::AccessToken;
using tokenbroker::AuthMethod;
using tokenbroker::Integration;
using tokenbroker::SecretString;

// Random lowercase (or uppercase) hex of `n` characters.
std::string Hex(absl::BitGen& gen, int n, bool upper = false) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out(n, '0');
  for (char& c : out) c = digits[absl::Uniform(gen, 0, 16)];
  return out;
}

std::string RandomBytes(absl::BitGen& gen, int n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(absl::Uniform<unsigned>(gen, 0, 256));
  return out;
}

std::string IdOf(int n) { return absl::StrFormat("%s%06d", absl::GetFlag(FLAGS_id_prefix), n); }

// What ims-emulator and Adobe IMS hand out: an RS256 JWT (header, payload
// with id/client_id/user_id/org/created_at/expires_in/scope, 256-byte
// signature), base64url without padding; about 1 KB.
std::string JwtLikeToken(absl::BitGen& gen, const Integration& in, absl::Time issued,
                         absl::Duration lifetime) {
  std::string header =
      R"({"alg":"RS256","x5u":"ims_na1-key-at-1.cer","kid":"ims_na1-key-at-1","itt":"at"})";
  std::string payload = absl::StrCat(
      R"({"id":")", absl::ToUnixMillis(issued), "_", Hex(gen, 8), "-", Hex(gen, 4), "-",
      Hex(gen, 4), "-", Hex(gen, 4), "-", Hex(gen, 12), R"(_ue1","type":"access_token",)",
      R"("client_id":")", in.client_id, R"(","user_id":")", Hex(gen, 24, true),
      R"(@techacct.adobe.com","as":"ims-na1","aa_id":")", Hex(gen, 24, true),
      R"(@techacct.adobe.com","ctp":0,"fg":")", Hex(gen, 26, true), R"(======","moi":")",
      Hex(gen, 8), R"(","expires_in":")", absl::ToInt64Milliseconds(lifetime), R"(","scope":")",
      absl::StrJoin(in.scopes, ","), R"(","created_at":")", absl::ToUnixMillis(issued), "\"}");
  return absl::StrCat(absl::WebSafeBase64Escape(header), ".", absl::WebSafeBase64Escape(payload),
                      ".", absl::WebSafeBase64Escape(RandomBytes(gen, 256)));
}

Integration MakeIntegration(absl::BitGen& gen, int n) {
  Integration in;
  in.id = IdOf(n);
  in.display_name = absl::StrCat("Benchmark integration ", n);
  in.auth_method = AuthMethod::kOAuthServerToServer;
  in.client_id = Hex(gen, 32);
  in.org_id = absl::StrCat(Hex(gen, 24, true), "@AdobeOrg");
  in.scopes = {"openid", "AdobeID", "read_organizations"};
  in.include_org_header = true;
  in.credentials.client_secrets.emplace_back(absl::StrCat("p8e-", Hex(gen, 28)));
  in.credentials.client_secrets.emplace_back(absl::StrCat("p8e-", Hex(gen, 28)));
  in.console.org_id = absl::StrCat(absl::Uniform(gen, 1'000'000, 10'000'000));
  in.console.credential_id = absl::StrCat(absl::Uniform(gen, 100'000, 1'000'000));
  for (size_t i = 0; i < in.credentials.client_secrets.size(); ++i) {
    in.client_secret_info.push_back(tokenbroker::ClientSecretInfo{
        absl::Now(), absl::StrCat(Hex(gen, 8), "-", Hex(gen, 4), "-", Hex(gen, 4), "-", Hex(gen, 4),
                                  "-", Hex(gen, 12))});
  }
  return in;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> storage;  // --flag-name and --flag_name both work
  std::vector<char*> args = tokenbroker::NormalizeFlagNames(argc, argv, &storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  const std::string db = absl::GetFlag(FLAGS_db);
  const std::string kek_file = absl::GetFlag(FLAGS_kek_file);
  const int count = absl::GetFlag(FLAGS_count);
  const int first = absl::GetFlag(FLAGS_first);
  const bool with_tokens = absl::GetFlag(FLAGS_with_tokens);
  const absl::Duration lifetime = absl::GetFlag(FLAGS_token_lifetime);
  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const int progress_every = std::max(1, absl::GetFlag(FLAGS_progress_every));
  if (db.empty() || kek_file.empty() || count < 0 || first < 0 || first + count > 1000000) {
    std::fprintf(stderr,
                 "usage: bench-fill-store --db=PATH --kek-file=PATH [--count=N] [--with-tokens] "
                 "[--threads=T] (ids up to 999999)\n");
    return 2;
  }

  absl::StatusOr<tokenbroker::Keyring> keyring = tokenbroker::Keyring::LoadFromFile(kek_file);
  if (!keyring.ok()) {
    std::fprintf(stderr, "bench-fill-store: %s\n", keyring.status().ToString().c_str());
    return 1;
  }
  auto cipher = tokenbroker::KeyringEnvelopeCipher::New(*std::move(keyring));
  if (!cipher.ok()) {
    std::fprintf(stderr, "bench-fill-store: %s\n", cipher.status().ToString().c_str());
    return 1;
  }
  const int64_t open_start = NowNanos();
  auto store = tokenbroker::SqliteCredentialStore::Open(db, cipher->get());
  if (!store.ok()) {
    std::fprintf(stderr, "bench-fill-store: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const double open_ms = (NowNanos() - open_start) / 1e6;

  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<int64_t> create_ns{0}, put_token_ns{0}, token_bytes{0};
  absl::Mutex error_mu;
  std::string first_error;
  absl::Mutex print_mu;
  const int64_t start = NowNanos();

  auto worker = [&] {
    absl::BitGen gen;
    while (true) {
      int i = next.fetch_add(1);
      if (i >= count) return;
      {
        absl::MutexLock lock(&error_mu);
        if (!first_error.empty()) return;
      }
      Integration in = MakeIntegration(gen, first + i);
      int64_t t0 = NowNanos();
      absl::StatusOr<Integration> created = (*store)->Create(in);
      int64_t t1 = NowNanos();
      create_ns.fetch_add(t1 - t0, std::memory_order_relaxed);
      absl::Status status = created.status();
      if (status.ok() && with_tokens) {
        AccessToken token;
        token.issue_time = absl::Now();
        token.expire_time = token.issue_time + lifetime;
        token.access_token = SecretString(JwtLikeToken(gen, in, token.issue_time, lifetime));
        token.debug_id = Hex(gen, 32);
        token_bytes.fetch_add(static_cast<int64_t>(token.access_token.value().size()),
                              std::memory_order_relaxed);
        int64_t t2 = NowNanos();
        status = (*store)->PutToken(in.id, token);
        put_token_ns.fetch_add(NowNanos() - t2, std::memory_order_relaxed);
      }
      if (!status.ok()) {
        absl::MutexLock lock(&error_mu);
        if (first_error.empty()) first_error = absl::StrCat(in.id, ": ", status.ToString());
        return;
      }
      int n = done.fetch_add(1) + 1;
      if (n % progress_every == 0 || n == count) {
        double s = (NowNanos() - start) / 1e9;
        absl::MutexLock lock(&print_mu);
        std::printf("  %7d / %d integrations%s  %6.1f s  %7.0f integrations/s\n", n, count,
                    with_tokens ? " (+ tokens)" : "", s, n / s);
        std::fflush(stdout);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  const double seconds = (NowNanos() - start) / 1e9;
  if (!first_error.empty()) {
    std::fprintf(stderr, "bench-fill-store: failed at %s\n", first_error.c_str());
    return 1;
  }
  store->reset();  // closes the connection: the WAL is checkpointed into the file

  struct stat st {};
  int64_t db_bytes = stat(db.c_str(), &st) == 0 ? st.st_size : -1;
  const int n = done.load();
  std::printf(
      "filled %d integrations%s in %.1f s (%.0f/s, %d threads); per call (wall, incl. waiting for "
      "the store lock): Create %.0f us%s; database %.1f MiB (%.0f bytes/integration)\n",
      n, with_tokens ? " with tokens" : "", seconds, n > 0 ? n / seconds : 0.0, threads,
      n > 0 ? create_ns.load() / 1e3 / n : 0.0,
      with_tokens
          ? absl::StrFormat(", PutToken %.0f us", n > 0 ? put_token_ns.load() / 1e3 / n : 0.0)
                .c_str()
          : "",
      db_bytes / 1048576.0, n > 0 ? static_cast<double>(db_bytes) / n : 0.0);
  std::printf(
      "RESULT count=%d with_tokens=%d seconds=%.3f rate=%.1f threads=%d open_ms=%.1f "
      "create_us=%.1f put_token_us=%.1f token_bytes=%.0f db_bytes=%lld\n",
      n, with_tokens ? 1 : 0, seconds, n > 0 ? n / seconds : 0.0, threads, open_ms,
      n > 0 ? create_ns.load() / 1e3 / n : 0.0, n > 0 ? put_token_ns.load() / 1e3 / n : 0.0,
      n > 0 ? static_cast<double>(token_bytes.load()) / n : 0.0, static_cast<long long>(db_bytes));
  return 0;
}
