#include "server/flags.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/api/convert.h"
#include "server/common/error_details.h"
#include "server/common/flag_names.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address, host:port (port 0 picks a free port). "
          "Env: TOKENBROKER_LISTEN.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain to serve gRPC over TLS (with --tls-key); re-read when it changes "
          "on disk. TLS 1.2 or newer. Env: TOKENBROKER_TLS_CERT.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert. Env: TOKENBROKER_TLS_KEY.");
ABSL_FLAG(std::string, client_ca_file, "",
          "PEM CA bundle: turns on mutual TLS; callers must present a certificate it verifies. "
          "Env: TOKENBROKER_CLIENT_CA_FILE.");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(10),
          "How often the TLS files are checked for changes, on every port (gRPC, ext_authz, "
          "--http-listen). Env: TOKENBROKER_TLS_RELOAD_INTERVAL.");
ABSL_FLAG(bool, allow_unauthenticated_non_loopback, false,
          "DANGEROUS: listen on a non-loopback address although no caller is authenticated "
          "(anyone reaching the port gets tokens). Env: "
          "TOKENBROKER_ALLOW_UNAUTHENTICATED_NON_LOOPBACK.");
ABSL_FLAG(std::string, policy_file, "",
          "Caller policy (JSON: caller tokens as salted hashes, role bindings; see README). "
          "Re-read when it changes; an invalid new file is rejected and the old policy stays. "
          "Empty: every caller may do everything (loopback or mutual TLS only). "
          "Env: TOKENBROKER_POLICY_FILE.");
ABSL_FLAG(absl::Duration, policy_reload_interval, absl::Seconds(2),
          "How often --policy-file is checked for changes. Env: "
          "TOKENBROKER_POLICY_RELOAD_INTERVAL.");
ABSL_FLAG(std::string, audit_log, "",
          "Audit log: one JSON line per RPC to this file (0600, appended), or '-' for stdout. "
          "Env: TOKENBROKER_AUDIT_LOG.");
ABSL_FLAG(std::string, audit_key_file, "",
          "Key (32+ bytes) of the token fingerprints in the audit log; tokenctl audit "
          "fingerprint uses the same file. Env: TOKENBROKER_AUDIT_KEY_FILE.");
ABSL_FLAG(std::string, audit_failure_mode, "serve",
          "When the audit log cannot be written: 'serve' (keep serving, count and log the "
          "failures) or 'refuse' (answer UNAVAILABLE until it can). "
          "Env: TOKENBROKER_AUDIT_FAILURE_MODE.");
ABSL_FLAG(int, max_forced_refreshes, 6,
          "Forced refreshes (RefreshAccessToken) allowed per integration per "
          "--forced-refresh-window; more are RESOURCE_EXHAUSTED. 0: unlimited. "
          "Env: TOKENBROKER_MAX_FORCED_REFRESHES.");
ABSL_FLAG(absl::Duration, forced_refresh_window, absl::Minutes(1),
          "Window of --max-forced-refreshes. Env: TOKENBROKER_FORCED_REFRESH_WINDOW.");
ABSL_FLAG(std::string, port_file, "",
          "Write the bound port to this file once serving (for scripts and tests). "
          "Env: TOKENBROKER_PORT_FILE.");
ABSL_FLAG(std::string, store, "memory",
          "Where integrations live: 'sqlite:PATH' (encrypted, durable; the embedded default of "
          "`make run`), a PostgreSQL URI 'postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode="
          "verify-full&sslrootcert=CA.pem' (encrypted, shared by several replicas; every libpq "
          "parameter works, TLS ones included; prefer --store-dsn-file so the password is not "
          "on the command line), or 'memory' (lost on exit). Env: TOKENBROKER_STORE.");
ABSL_FLAG(std::string, store_dsn_file, "",
          "File holding the PostgreSQL connection string (URI or key=value pairs; surrounding "
          "whitespace is ignored), e.g. a mounted Kubernetes Secret. Selects the PostgreSQL "
          "store: leave --store unset. Only host, port and database are ever logged. "
          "Env: TOKENBROKER_STORE_DSN_FILE.");
ABSL_FLAG(int, store_pool_size, 8,
          "PostgreSQL store: connections per process (store calls in flight at once; one more "
          "listens for changes). Env: TOKENBROKER_STORE_POOL_SIZE.");
ABSL_FLAG(std::string, kek_file, "",
          "Keyring file holding the key-encryption keys (e.g. a mounted Kubernetes Secret). "
          "Empty: the keyring JSON (or its base64) from the environment variable "
          "TOKENBROKER_KEYRING. Env: TOKENBROKER_KEK_FILE.");
ABSL_FLAG(std::string, to, "", "backup: the file to write the snapshot to.");
ABSL_FLAG(std::string, from, "", "restore: the backup file to restore.");
ABSL_FLAG(std::string, key_id, "", "keyring remove: the key id to remove.");
ABSL_FLAG(std::string, identity, "", "caller-token create: the caller's identity.");
ABSL_FLAG(bool, force, false, "restore: replace an existing database (stop the server first).");
ABSL_FLAG(std::string, ims_url, "https://ims-na1.adobelogin.com",
          "Default Adobe IMS base URL (an integration's ims_url overrides it). "
          "Env: TOKENBROKER_IMS_URL.");
ABSL_FLAG(std::string, ims_ca_file, "",
          "PEM CA bundle to verify IMS's TLS certificate with, instead of the system store. "
          "Env: TOKENBROKER_IMS_CA_FILE.");
ABSL_FLAG(bool, allow_insecure_ims_http, false,
          "INSECURE: accept http:// IMS URLs. For loopback tests against an emulator only. "
          "Env: TOKENBROKER_ALLOW_INSECURE_IMS_HTTP.");
ABSL_FLAG(std::string, ims_token_path, "/ims/token/v3",
          "Path of the OAuth Server-to-Server token endpoint. Env: TOKENBROKER_IMS_TOKEN_PATH.");
ABSL_FLAG(std::string, ims_jwt_path, "/ims/exchange/jwt",
          "Path of the JWT exchange endpoint. Env: TOKENBROKER_IMS_JWT_PATH.");
ABSL_FLAG(std::string, console_api_url, "https://api.adobe.io",
          "Base URL of Adobe's I/O Management API, where the Developer Console's client secrets "
          "are listed, added and deleted (same TLS options as IMS). "
          "Env: TOKENBROKER_CONSOLE_API_URL.");
ABSL_FLAG(absl::Duration, secret_rotation_grace, absl::Minutes(15),
          "A client-secret rotation deletes the replaced secret at the Developer Console once "
          "the Console reports it unused this long (every replica has switched); "
          "'tokenctl secrets rotate --now' does not wait. Env: TOKENBROKER_SECRET_ROTATION_GRACE.");
ABSL_FLAG(absl::Duration, secret_rotation_period, absl::ZeroDuration(),
          "Rotate the client secret of every OAuth Server-to-Server integration with Console ids "
          "this long after its last rotation (or since its secret was stored), unless the "
          "integration sets its own period; 0 (the default): only integrations with their own "
          "period are rotated on a schedule. 0 or 1h..87600h. "
          "Env: TOKENBROKER_SECRET_ROTATION_PERIOD.");
ABSL_FLAG(absl::Duration, secret_rotation_check_interval, absl::Minutes(1),
          "How often each replica looks for client secrets due for rotation, and for rotations "
          "waiting for --secret-rotation-grace (one replica rotates, under a store lease). "
          "Env: TOKENBROKER_SECRET_ROTATION_CHECK_INTERVAL.");
ABSL_FLAG(absl::Duration, ims_connect_timeout, absl::Seconds(5),
          "TCP+TLS connect timeout for IMS. Env: TOKENBROKER_IMS_CONNECT_TIMEOUT.");
ABSL_FLAG(absl::Duration, ims_timeout, absl::Seconds(30),
          "Whole-request timeout of one IMS call. Env: TOKENBROKER_IMS_TIMEOUT.");
ABSL_FLAG(int, ims_max_attempts, 4,
          "Exchanges a caller waits through on 429/5xx/timeouts before it gets the error "
          "(backoff with jitter per integration, Retry-After honoured; no thread sleeps). "
          "Env: TOKENBROKER_IMS_MAX_ATTEMPTS.");
ABSL_FLAG(double, refresh_at, 0.75,
          "Refresh a token once this fraction of its lifetime has passed. "
          "Env: TOKENBROKER_REFRESH_AT.");
ABSL_FLAG(double, refresh_jitter, 0.1,
          "Refresh up to this fraction of the lifetime earlier, at random, so integrations "
          "do not refresh together. Env: TOKENBROKER_REFRESH_JITTER.");
ABSL_FLAG(absl::Duration, min_validity, absl::Seconds(60),
          "Minimum remaining validity of a returned token when the caller sets none (capped at "
          "10% of the token's lifetime). Env: TOKENBROKER_MIN_VALIDITY.");
ABSL_FLAG(int, exchange_threads, 8,
          "Threads kept to run IMS exchanges (blocking HTTP). Env: TOKENBROKER_EXCHANGE_THREADS.");
ABSL_FLAG(int, exchange_max_threads, 128,
          "Most threads running IMS exchanges at once: the pool grows past --exchange-threads "
          "while exchanges queue (e.g. IMS hangs for some integrations), first mints that "
          "callers wait for ahead of refreshes and retries. Env: "
          "TOKENBROKER_EXCHANGE_MAX_THREADS.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM, how long in-flight calls may finish before they are cancelled. "
          "Env: TOKENBROKER_SHUTDOWN_GRACE.");
ABSL_FLAG(absl::Duration, shutdown_delay, absl::ZeroDuration(),
          "On SIGTERM, how long to keep serving after readiness turns NOT_SERVING, so load "
          "balancers and Kubernetes endpoints stop routing here first (e.g. 5s in a cluster). "
          "The process exits at the latest after --shutdown-delay + --shutdown-grace + 5s. "
          "Env: TOKENBROKER_SHUTDOWN_DELAY.");
ABSL_FLAG(std::string, metrics_listen, "",
          "Serve Prometheus metrics (GET /metrics) on this host:port, e.g. 0.0.0.0:9090. "
          "Empty: off. Env: TOKENBROKER_METRICS_LISTEN.");
ABSL_FLAG(std::string, http_listen, "",
          "Serve the local HTTP token endpoint (GET /v1/integrations/{id}/token and /headers, "
          "JSON; callers send 'Tokenbroker-Request: true') on this host:port, e.g. "
          "127.0.0.1:8080; port 0 picks a free one. HTTPS with --tls-cert/--tls-key, client "
          "certificates verified with --client-ca-file; caller tokens and the policy as on the "
          "gRPC port. Beyond loopback only with caller authentication (or "
          "--allow-unauthenticated-non-loopback). Empty: off. Env: TOKENBROKER_HTTP_LISTEN.");
ABSL_FLAG(int, http_threads, 16,
          "HTTP token endpoint: connections served at once (one thread each, keep-alive "
          "included; idle ones close after 5s); more wait. Env: TOKENBROKER_HTTP_THREADS.");
ABSL_FLAG(std::string, ext_authz_listen, "",
          "Serve Envoy's external authorization API (envoy.service.auth.v3.Authorization, "
          "gRPC) on this host:port, e.g. 0.0.0.0:50052 (port 0 picks a free port): a proxy's "
          "ext_authz filter asks before each request and allowed requests go upstream with the "
          "integration's Adobe headers. Same TLS, client CA and caller policy as --listen (a "
          "proxy bound to the role 'proxy' speaks for the workload it reports); plaintext only on "
          "loopback. Empty: off. Env: TOKENBROKER_EXT_AUTHZ_LISTEN.");
ABSL_FLAG(std::string, ext_authz_routes, "",
          "ext_authz route table (JSON array of {\"host\", \"path_prefix\", \"integration\"}; "
          "host exact, \"*.example.com\" or \"*\"; the longest path prefix wins) for requests "
          "whose route sets no context extension tokenbroker.integration and that send no "
          "x-tokenbroker-integration header. Re-read when it changes (checked every "
          "--policy-reload-interval); an invalid new file is rejected and the old table stays. "
          "Env: TOKENBROKER_EXT_AUTHZ_ROUTES.");
ABSL_FLAG(std::string, replica_id, "",
          "This replica's name in the refresh leases of a shared (PostgreSQL) store. Empty: "
          "hostname and process id. In Kubernetes, the pod name. Env: TOKENBROKER_REPLICA_ID.");
ABSL_FLAG(absl::Duration, refresh_lease_ttl, absl::Seconds(30),
          "Shared stores: the longest one replica holds an integration's refresh lease (shorter "
          "while a still-valid token is replaced: a third of its remaining life), i.e. how long "
          "a dead replica can delay the others. Env: TOKENBROKER_REFRESH_LEASE_TTL.");
ABSL_FLAG(absl::Duration, readiness_interval, absl::Seconds(5),
          "How often readiness (the store answers) is re-checked. "
          "Env: TOKENBROKER_READINESS_INTERVAL.");
ABSL_FLAG(int, max_token_request_bytes, 1024,
          "Largest serialized request of a token RPC (GetAccessToken, GetRequestHeaders, "
          "RefreshAccessToken, WatchAccessTokens; they need about 100 bytes); larger is "
          "INVALID_ARGUMENT naming this flag. Env: TOKENBROKER_MAX_TOKEN_REQUEST_BYTES.");
ABSL_FLAG(int, max_admin_request_bytes, 64 * 1024,
          "Largest serialized request of an IntegrationService RPC (a full integration with 100 "
          "scopes and an RSA key is about 30 KiB); larger is INVALID_ARGUMENT naming this flag. "
          "gRPC itself refuses messages over twice this (RESOURCE_EXHAUSTED) before parsing them. "
          "Env: TOKENBROKER_MAX_ADMIN_REQUEST_BYTES.");
ABSL_FLAG(int, max_concurrent_streams, 100,
          "Concurrent calls (HTTP/2 streams) per client connection; a client's further calls wait "
          "until one finishes. Env: TOKENBROKER_MAX_CONCURRENT_STREAMS.");
ABSL_FLAG(absl::Duration, min_client_ping_interval, absl::Seconds(10),
          "Clients must not send HTTP/2 keepalive pings more often than this; one that does "
          "more than --max-ping-strikes times is disconnected (GOAWAY too_many_pings). "
          "Env: TOKENBROKER_MIN_CLIENT_PING_INTERVAL.");
ABSL_FLAG(int, max_ping_strikes, 2,
          "Too-frequent pings tolerated before disconnecting the client (see "
          "--min-client-ping-interval). Env: TOKENBROKER_MAX_PING_STRIKES.");
ABSL_FLAG(absl::Duration, handshake_timeout, absl::Seconds(10),
          "A new connection that has not completed its TLS/HTTP/2 handshake within this is "
          "closed, so idle or half-open sockets cannot pile up. "
          "Env: TOKENBROKER_HANDSHAKE_TIMEOUT.");
ABSL_FLAG(absl::Duration, max_connection_idle, absl::Minutes(10),
          "A client connection without calls for this long is closed (GOAWAY; clients reconnect "
          "transparently). 0: never. Env: TOKENBROKER_MAX_CONNECTION_IDLE.");
ABSL_FLAG(int, max_watches_per_caller, 256,
          "Open WatchAccessTokens streams per caller identity (without a policy every caller "
          "is 'anonymous' and shares one budget); one more is RESOURCE_EXHAUSTED naming this "
          "flag. 0: unlimited. Env: TOKENBROKER_MAX_WATCHES_PER_CALLER.");
ABSL_FLAG(int, max_waiters_per_integration, 10000,
          "Callers waiting at once for one integration's token exchange; one more is "
          "RESOURCE_EXHAUSTED naming this flag (callers served from the cache never wait). "
          "0: unlimited. Env: TOKENBROKER_MAX_WAITERS_PER_INTEGRATION.");
ABSL_FLAG(std::string, log_level, "info",
          "Minimum log level: debug, info, warning, error. Env: TOKENBROKER_LOG_LEVEL.");
ABSL_FLAG(bool, allow_core_dumps, false,
          "DEBUGGING ONLY: leave core dumps on and the process dumpable (by default the core "
          "limit is 0 and PR_SET_DUMPABLE is cleared, so that no dump or same-user process "
          "can read secrets from memory). Env: TOKENBROKER_ALLOW_CORE_DUMPS.");

namespace tokenbroker {
namespace {

constexpr const char* kFlagNames[] = {"tls_cert",
                                      "tls_key",
                                      "client_ca_file",
                                      "tls_reload_interval",
                                      "allow_unauthenticated_non_loopback",
                                      "policy_file",
                                      "audit_log",
                                      "audit_key_file",
                                      "audit_failure_mode",
                                      "max_forced_refreshes",
                                      "forced_refresh_window",
                                      "listen",
                                      "port_file",
                                      "store",
                                      "store_dsn_file",
                                      "store_pool_size",
                                      "ims_url",
                                      "ims_ca_file",
                                      "allow_insecure_ims_http",
                                      "ims_token_path",
                                      "ims_jwt_path",
                                      "console_api_url",
                                      "secret_rotation_grace",
                                      "secret_rotation_period",
                                      "secret_rotation_check_interval",
                                      "ims_connect_timeout",
                                      "ims_timeout",
                                      "ims_max_attempts",
                                      "refresh_at",
                                      "refresh_jitter",
                                      "min_validity",
                                      "exchange_threads",
                                      "exchange_max_threads",
                                      "shutdown_grace",
                                      "shutdown_delay",
                                      "metrics_listen",
                                      "http_listen",
                                      "http_threads",
                                      "ext_authz_listen",
                                      "ext_authz_routes",
                                      "replica_id",
                                      "refresh_lease_ttl",
                                      "readiness_interval",
                                      "max_token_request_bytes",
                                      "max_admin_request_bytes",
                                      "max_concurrent_streams",
                                      "min_client_ping_interval",
                                      "max_ping_strikes",
                                      "handshake_timeout",
                                      "max_connection_idle",
                                      "max_watches_per_caller",
                                      "max_waiters_per_integration",
                                      "log_level",
                                      "allow_core_dumps"};

// TOKENBROKER_<FLAG> sets the flag's value before the command line is read.
absl::Status ApplyEnvironment() {
  for (const char* name : kFlagNames) {
    std::string env = absl::StrCat("TOKENBROKER_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      return InvalidField(env, error);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerLimits> LimitsFromFlags() {
  ServerLimits l;
  l.max_token_request_bytes = absl::GetFlag(FLAGS_max_token_request_bytes);
  l.max_admin_request_bytes = absl::GetFlag(FLAGS_max_admin_request_bytes);
  l.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  l.min_client_ping_interval = absl::GetFlag(FLAGS_min_client_ping_interval);
  l.max_ping_strikes = absl::GetFlag(FLAGS_max_ping_strikes);
  l.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  l.max_connection_idle = absl::GetFlag(FLAGS_max_connection_idle);
  l.max_watches_per_caller = absl::GetFlag(FLAGS_max_watches_per_caller);
  l.max_waiters_per_integration = absl::GetFlag(FLAGS_max_waiters_per_integration);
  if (l.max_token_request_bytes < 256) return InvalidField("--max-token-request-bytes", ">= 256");
  if (l.max_admin_request_bytes < 4096 || l.max_admin_request_bytes > (1 << 29)) {
    return InvalidField("--max-admin-request-bytes", "between 4096 and 2^29");
  }
  if (l.max_concurrent_streams < 1) return InvalidField("--max-concurrent-streams", ">= 1");
  if (l.max_ping_strikes < 0) return InvalidField("--max-ping-strikes", ">= 0");
  if (l.handshake_timeout <= absl::ZeroDuration()) {
    return InvalidField("--handshake-timeout", "must be positive");
  }
  if (l.max_watches_per_caller < 0) return InvalidField("--max-watches-per-caller", ">= 0");
  if (l.max_waiters_per_integration < 0) {
    return InvalidField("--max-waiters-per-integration", ">= 0");
  }
  return l;
}

}  // namespace

absl::StatusOr<ServerOptions> ParseServerFlags(int argc, char** argv,
                                               std::vector<std::string>* positional) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "server/flags.cc");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.normalize_filename = [](absl::string_view file) { return std::string(file); };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(
      "hands out Adobe IMS access tokens over gRPC.\n\n"
      "Usage: tokenbroker [flags]                       serve (--some-flag = --some_flag)\n"
      "       tokenbroker keyring create|add|list --kek-file=PATH\n"
      "       tokenbroker keyring remove --kek-file=PATH --key-id=ID [--store=STORE]\n"
      "       tokenbroker rekey   --store=STORE --kek-file=PATH   re-wrap data keys online\n"
      "       tokenbroker backup  --store=sqlite:PATH --kek-file=PATH --to=FILE\n"
      "       tokenbroker restore --store=sqlite:PATH --kek-file=PATH --from=FILE [--force]\n"
      "       tokenbroker check   --store=STORE --kek-file=PATH   decrypt every record, count\n"
      "       tokenbroker migrate --store=STORE   apply schema migrations and exit (e.g. a Helm\n"
      "                                           pre-upgrade Job); PostgreSQL needs no keyring\n"
      "       tokenbroker caller-token create --identity=NAME   a caller token + policy entry\n"
      "STORE is sqlite:PATH or postgresql://... (or --store-dsn-file=PATH for PostgreSQL).\n"
      "Every flag can also be set by the environment variable TOKENBROKER_<FLAG> (upper case,\n"
      "e.g. TOKENBROKER_IMS_URL); the command line wins.");
  absl::Status env = ApplyEnvironment();
  if (!env.ok()) return env;
  std::vector<std::string> storage;
  std::vector<char*> args = NormalizeFlagNames(argc, argv, &storage);
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  for (char* arg : rest) positional->push_back(arg);

  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return InvalidField("--log-level", "one of debug, info, warning, error");
  }
  SetMinLogLevel(level);

  ServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.port_file = absl::GetFlag(FLAGS_port_file);
  o.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key = absl::GetFlag(FLAGS_tls_key);
  o.client_ca_file = absl::GetFlag(FLAGS_client_ca_file);
  o.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  o.allow_unauthenticated_non_loopback = absl::GetFlag(FLAGS_allow_unauthenticated_non_loopback);
  o.policy_file = absl::GetFlag(FLAGS_policy_file);
  o.policy_reload_interval = absl::GetFlag(FLAGS_policy_reload_interval);
  o.audit_log = absl::GetFlag(FLAGS_audit_log);
  o.audit_key_file = absl::GetFlag(FLAGS_audit_key_file);
  std::string mode = absl::GetFlag(FLAGS_audit_failure_mode);
  if (mode != "serve" && mode != "refuse") {
    return InvalidField("--audit-failure-mode", "serve or refuse");
  }
  o.audit_refuse_on_failure = mode == "refuse";
  o.max_forced_refreshes = absl::GetFlag(FLAGS_max_forced_refreshes);
  o.forced_refresh_window = absl::GetFlag(FLAGS_forced_refresh_window);
  o.store = absl::GetFlag(FLAGS_store);
  o.store_dsn_file = absl::GetFlag(FLAGS_store_dsn_file);
  o.store_pool_size = absl::GetFlag(FLAGS_store_pool_size);
  o.kek_file = absl::GetFlag(FLAGS_kek_file);
  o.ims_url = absl::GetFlag(FLAGS_ims_url);
  o.ims_ca_file = absl::GetFlag(FLAGS_ims_ca_file);
  o.console_api_url = absl::GetFlag(FLAGS_console_api_url);
  o.secret_rotation_grace = absl::GetFlag(FLAGS_secret_rotation_grace);
  o.secret_rotation_period = absl::GetFlag(FLAGS_secret_rotation_period);
  if (o.secret_rotation_period != absl::ZeroDuration() &&
      (o.secret_rotation_period < kMinSecretRotationPeriod ||
       o.secret_rotation_period > kMaxSecretRotationPeriod)) {
    return InvalidField("--secret-rotation-period", "0 (off), or between 1h and 87600h");
  }
  o.secret_rotation_check_interval = absl::GetFlag(FLAGS_secret_rotation_check_interval);
  if (o.secret_rotation_check_interval <= absl::ZeroDuration()) {
    return InvalidField("--secret-rotation-check-interval", "must be positive");
  }
  o.allow_insecure_ims_http = absl::GetFlag(FLAGS_allow_insecure_ims_http);
  o.ims_token_path = absl::GetFlag(FLAGS_ims_token_path);
  o.ims_jwt_path = absl::GetFlag(FLAGS_ims_jwt_path);
  o.ims_connect_timeout = absl::GetFlag(FLAGS_ims_connect_timeout);
  o.ims_timeout = absl::GetFlag(FLAGS_ims_timeout);
  o.ims_max_attempts = absl::GetFlag(FLAGS_ims_max_attempts);
  o.refresh.refresh_fraction = absl::GetFlag(FLAGS_refresh_at);
  o.refresh.jitter_fraction = absl::GetFlag(FLAGS_refresh_jitter);
  o.refresh.default_min_validity = absl::GetFlag(FLAGS_min_validity);
  o.exchange_threads = absl::GetFlag(FLAGS_exchange_threads);
  o.exchange_max_threads = absl::GetFlag(FLAGS_exchange_max_threads);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.http_listen = absl::GetFlag(FLAGS_http_listen);
  o.http_threads = absl::GetFlag(FLAGS_http_threads);
  if (o.http_threads < 1 || o.http_threads > 1024) {
    return InvalidField("--http-threads", "between 1 and 1024");
  }
  o.ext_authz_listen = absl::GetFlag(FLAGS_ext_authz_listen);
  o.ext_authz_routes = absl::GetFlag(FLAGS_ext_authz_routes);
  if (!o.ext_authz_routes.empty() && o.ext_authz_listen.empty()) {
    return InvalidField("--ext-authz-routes", "needs --ext-authz-listen (the port it serves)");
  }
  o.replica_id = absl::GetFlag(FLAGS_replica_id);
  if (o.replica_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    o.replica_id = absl::StrCat(host, "-", getpid());
  }
  o.refresh_lease_ttl = absl::GetFlag(FLAGS_refresh_lease_ttl);
  o.readiness_interval = absl::GetFlag(FLAGS_readiness_interval);
  TB_ASSIGN_OR_RETURN(o.limits, LimitsFromFlags());
  return o;
}

AdminOptions AdminOptionsFromFlags(const ServerOptions& server) {
  AdminOptions o;
  o.server = server;
  o.to = absl::GetFlag(FLAGS_to);
  o.from = absl::GetFlag(FLAGS_from);
  o.key_id = absl::GetFlag(FLAGS_key_id);
  o.identity = absl::GetFlag(FLAGS_identity);
  o.force = absl::GetFlag(FLAGS_force);
  return o;
}

absl::Duration ShutdownGrace() { return absl::GetFlag(FLAGS_shutdown_grace); }
absl::Duration ShutdownDelay() { return absl::GetFlag(FLAGS_shutdown_delay); }
bool AllowCoreDumps() { return absl::GetFlag(FLAGS_allow_core_dumps); }

}  // namespace tokenbroker
