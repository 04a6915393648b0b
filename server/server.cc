#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_builder.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "server/api/call_guard.h"
#include "server/api/integration_service.h"
#include "server/api/token_service.h"
#include "server/audit/audit_log.h"
#include "server/auth/authorizer.h"
#include "server/broker/token_broker.h"
#include "server/common/error_details.h"
#include "server/common/executor.h"
#include "server/common/log.h"
#include "server/common/random.h"
#include "server/common/status_macros.h"
#include "server/console/console_secrets.h"
#include "server/crypto/keyring.h"
#include "server/crypto/reloading_envelope_cipher.h"
#include "server/edge/ext_authz_service.h"
#include "server/edge/http_token_endpoint.h"
#include "server/edge/route_table.h"
#include "server/http/curl_http_transport.h"
#include "server/ims/dispatching_exchanger.h"
#include "server/ims/jwt_exchanger.h"
#include "server/ims/oauth_s2s_exchanger.h"
#include "server/lifecycle/client_secrets.h"
#include "server/lifecycle/jwt_migration.h"
#include "server/lifecycle/rotation_scheduler.h"
#include "server/metrics/instrumented_store.h"
#include "server/metrics/metrics.h"
#include "server/store/memory_credential_store.h"
#include "server/store/postgres_credential_store.h"
#include "server/store/sqlite_credential_store.h"

namespace tokenbroker {

// Owned in construction order; destroyed in reverse.
struct Server::Components {
  std::unique_ptr<Metrics> metrics;
  Storage storage;
  std::unique_ptr<InstrumentedCredentialStore> instrumented_store;
  std::shared_ptr<HttpTransport> transport;
  std::unique_ptr<TokenExchanger> exchanger;
  std::unique_ptr<ConsoleSecrets> console;
  std::unique_ptr<ClientSecretManager> client_secrets;
  std::unique_ptr<JwtMigrator> migrator;
  BitGenRandomSource random;
  std::unique_ptr<ThreadPool> exchange_pool;
  std::unique_ptr<ThreadPool> admin_pool;
  std::unique_ptr<TokenBroker> broker;
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<AuditLogger> audit;
  std::unique_ptr<RefreshRateLimiter> limiter;
  std::unique_ptr<WatchLimiter> watches;
  ApiContext api;
  std::unique_ptr<TokenServiceImpl> token_service;
  std::unique_ptr<IntegrationServiceImpl> integration_service;
  std::unique_ptr<ReloadingRouteTable> ext_authz_routes;
  std::unique_ptr<ExtAuthzServiceImpl> ext_authz_service;
  std::unique_ptr<RotationScheduler> rotation;
  std::unique_ptr<MetricsHttpServer> metrics_server;
  std::unique_ptr<HttpTokenEndpoint> http_endpoint;

  // Readiness: the store answers (checked every readiness_interval).
  absl::Notification stop_readiness;
  std::thread readiness;
};

namespace {

constexpr char kKeyringEnv[] = "TOKENBROKER_KEYRING";
constexpr char kLivenessService[] = "liveness";
constexpr char kReadinessService[] = "readiness";

// Loads the keyring; `key_ids` receives its ids.
absl::StatusOr<std::unique_ptr<EnvelopeCipher>> LoadCipher(const ServerOptions& options,
                                                           std::vector<std::string>* key_ids) {
  absl::StatusOr<Keyring> keyring = options.kek_file.empty()
                                        ? Keyring::LoadFromEnv(kKeyringEnv)
                                        : Keyring::LoadFromFile(options.kek_file);
  if (absl::IsNotFound(keyring.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no keyring: ",
        options.kek_file.empty() ? "pass --kek-file=PATH or set TOKENBROKER_KEYRING"
                                 : absl::StrCat("--kek-file=", options.kek_file, " does not exist"),
        " (create one with: tokenbroker keyring create --kek-file=PATH)"));
  }
  if (!keyring.ok()) return keyring.status();
  Log(LogLevel::kInfo, "keyring loaded",
      {{"source", options.kek_file.empty() ? kKeyringEnv : options.kek_file},
       {"primary_key_id", keyring->primary_id()},
       {"keys", absl::StrCat(keyring->ids().size())}});
  *key_ids = keyring->ids();
  TB_ASSIGN_OR_RETURN(std::unique_ptr<ReloadingEnvelopeCipher> cipher,
                      ReloadingEnvelopeCipher::New(*std::move(keyring), options.kek_file));
  return std::unique_ptr<EnvelopeCipher>(std::move(cipher));
}

// Every key id in use must be in the keyring, and the keyring must really
// open stored records: a wrong key with the right id would otherwise only
// show when tokens are requested.
absl::Status VerifyKeyring(CredentialStore& store, const std::vector<std::string>& in_use,
                           const std::vector<std::string>& key_ids, const std::string& source) {
  for (const std::string& id : in_use) {
    if (std::find(key_ids.begin(), key_ids.end(), id) == key_ids.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("key-encryption key '", id, "' wraps stored data but is missing from the ",
                       "keyring (", source, ")"));
    }
  }
  TB_ASSIGN_OR_RETURN(IntegrationPage sample, store.List(20, ""));
  int opened = 0, failed = 0;
  std::string first_failure;
  for (const Integration& integration : sample.integrations) {
    absl::StatusOr<Integration> full = store.Get(integration.id);
    if (full.ok()) {
      ++opened;
    } else if (absl::IsFailedPrecondition(full.status())) {
      return full.status();  // names the missing key id
    } else {
      ++failed;
      if (first_failure.empty()) first_failure = std::string(full.status().message());
    }
  }
  if (opened == 0 && failed > 0) {
    return absl::DataLossError(absl::StrCat(
        "the keyring does not decrypt any of ", failed,
        " sampled integrations (wrong key material for key id(s) in use?): ", first_failure));
  }
  return absl::OkStatus();
}

bool IsLoopback(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" ||
         absl::StartsWith(host, "127.") || absl::StartsWith(listen, "unix:");
}

absl::Status CheckReadable(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) return InvalidField(flag, absl::StrCat("cannot read ", path));
  return absl::OkStatus();
}

// The credentials of a port listening on `listen` (`flag` names it in
// errors): --listen and --ext-authz-listen share the TLS files, the client
// CA and the rule that a non-loopback port must authenticate its callers.
// TLS 1.2 is gRPC core's minimum version (TLS 1.0/1.1 handshakes fail); the
// certificate provider re-reads the files every `tls_reload_interval`, so a
// certificate rotated by Kubernetes is served without a restart.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerOptions& o, const std::string& listen, absl::string_view flag) {
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return InvalidField(o.tls_cert.empty() ? "--tls-cert" : "--tls-key",
                        "--tls-cert and --tls-key go together");
  }
  if (o.tls_cert.empty()) {
    if (!o.client_ca_file.empty()) {
      return InvalidField("--client-ca-file", "needs --tls-cert and --tls-key");
    }
    if (!IsLoopback(listen) && o.policy_file.empty() && !o.allow_unauthenticated_non_loopback) {
      return InvalidField(
          flag,
          absl::StrCat(listen,
                       " is not a loopback address and no caller authentication is configured: "
                       "anyone who can reach it could take every integration's tokens. Use "
                       "--tls-cert/--tls-key with --client-ca-file, or pass "
                       "--allow-unauthenticated-non-loopback if something else guards it"));
    }
    return grpc::InsecureServerCredentials();
  }
  TB_RETURN_IF_ERROR(CheckReadable(o.tls_cert, "--tls-cert"));
  TB_RETURN_IF_ERROR(CheckReadable(o.tls_key, "--tls-key"));
  if (!o.client_ca_file.empty()) {
    TB_RETURN_IF_ERROR(CheckReadable(o.client_ca_file, "--client-ca-file"));
  }
  if (o.client_ca_file.empty() && o.policy_file.empty() && !IsLoopback(listen) &&
      !o.allow_unauthenticated_non_loopback) {
    return InvalidField(
        flag, absl::StrCat(listen,
                           " is not a loopback address and TLS without --client-ca-file "
                           "authenticates no caller; pass --client-ca-file, or "
                           "--allow-unauthenticated-non-loopback if something else guards it"));
  }
  unsigned refresh =
      static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(o.tls_reload_interval)));
  auto provider = o.client_ca_file.empty()
                      ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                            o.tls_key, o.tls_cert, refresh)
                      : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                            o.tls_key, o.tls_cert, o.client_ca_file, refresh);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (!o.client_ca_file.empty()) {
    tls.watch_root_certs();
    // With a policy, callers may authenticate with a caller token instead of
    // a certificate (a certificate, when sent, is still verified); without
    // one, the certificate is the only authentication, so it is required.
    tls.set_cert_request_type(o.policy_file.empty()
                                  ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                  : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

// --http-listen: the rules of ServerCredentials for --listen (which checked
// the TLS flags already). Beyond loopback it needs a policy (caller tokens),
// mutual TLS, or --allow-unauthenticated-non-loopback.
absl::Status CheckHttpListen(const ServerOptions& o) {
  if (o.http_listen.empty() || IsLoopback(o.http_listen)) return absl::OkStatus();
  if (!o.policy_file.empty() || !o.client_ca_file.empty() || o.allow_unauthenticated_non_loopback) {
    return absl::OkStatus();
  }
  return InvalidField(
      "--http-listen",
      absl::StrCat(o.http_listen,
                   " is not a loopback address and no caller authentication is configured: "
                   "anyone who can reach it could take every integration's tokens. Use "
                   "--tls-cert/--tls-key with --client-ca-file, or --policy-file with caller "
                   "tokens, or pass --allow-unauthenticated-non-loopback if something else "
                   "guards it"));
}

// Starts --http-listen's endpoint (if set) with the gRPC port's TLS files.
absl::Status StartHttpEndpoint(const ServerOptions& o, TokenBroker* broker, const ApiContext* api,
                               std::unique_ptr<HttpTokenEndpoint>* out) {
  if (o.http_listen.empty()) return absl::OkStatus();
  HttpEndpointOptions http;
  http.listen = o.http_listen;
  http.tls_cert = o.tls_cert;
  http.tls_key = o.tls_key;
  http.client_ca_file = o.client_ca_file;
  http.client_certificate_optional = !o.policy_file.empty();  // as the gRPC port
  http.tls_reload_interval = o.tls_reload_interval;
  http.threads = o.http_threads;
  http.max_request_bytes = static_cast<size_t>(o.limits.max_token_request_bytes);
  TB_ASSIGN_OR_RETURN(*out, HttpTokenEndpoint::Start(http, broker, api));
  Log(IsLoopback(o.http_listen) || !o.tls_cert.empty() ? LogLevel::kInfo : LogLevel::kWarning,
      "http token endpoint serving",
      {{"listen", o.http_listen},
       {"port", absl::StrCat((*out)->port())},
       {"tls", o.tls_cert.empty() ? "off" : (o.client_ca_file.empty() ? "on" : "mutual")}});
  return absl::OkStatus();
}

absl::Status WritePortFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write --port-file ", path));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot write --port-file ", path));
  return absl::OkStatus();
}

absl::Status ValidateOptions(const ServerOptions& o) {
  if (o.listen.empty()) return InvalidField("--listen", "required (host:port)");
  if (!absl::StartsWith(o.ims_url, "https://") && !absl::StartsWith(o.ims_url, "http://")) {
    return InvalidField("--ims-url", "must be an https:// URL");
  }
  if (absl::StartsWith(o.ims_url, "http://") && !o.allow_insecure_ims_http) {
    return InvalidField("--ims-url",
                        "http:// is refused; --allow-insecure-ims-http exists for loopback tests");
  }
  if (!(o.refresh.refresh_fraction > 0 && o.refresh.refresh_fraction < 1)) {
    return InvalidField("--refresh-at", "must be between 0 and 1 (exclusive)");
  }
  if (!(o.refresh.jitter_fraction >= 0 && o.refresh.jitter_fraction < o.refresh.refresh_fraction)) {
    return InvalidField("--refresh-jitter", "must be >= 0 and below --refresh-at");
  }
  if (o.refresh.default_min_validity < absl::ZeroDuration()) {
    return InvalidField("--min-validity", "must not be negative");
  }
  if (o.exchange_threads < 1 || o.exchange_threads > 256) {
    return InvalidField("--exchange-threads", "must be 1..256");
  }
  if (o.exchange_max_threads < o.exchange_threads || o.exchange_max_threads > 1024) {
    return InvalidField("--exchange-max-threads", "must be --exchange-threads..1024");
  }
  if (o.store_pool_size < 1 || o.store_pool_size > 256) {
    return InvalidField("--store-pool-size", "must be 1..256");
  }
  if (o.ims_max_attempts < 1 || o.ims_max_attempts > 10) {
    return InvalidField("--ims-max-attempts", "must be 1..10");
  }
  if (o.refresh_lease_ttl < absl::Seconds(1)) {
    return InvalidField("--refresh-lease-ttl", "must be at least 1s");
  }
  if (o.readiness_interval <= absl::ZeroDuration()) {
    return InvalidField("--readiness-interval", "must be positive");
  }
  return absl::OkStatus();
}

std::string KeyringSource(const ServerOptions& options) {
  return options.kek_file.empty() ? kKeyringEnv : absl::StrCat("--kek-file=", options.kek_file);
}

}  // namespace

absl::StatusOr<Storage> OpenStorage(const ServerOptions& options) {
  TB_ASSIGN_OR_RETURN(StoreSpec spec, StoreSpec::Parse(options.store, options.store_dsn_file));
  return OpenStorage(options, spec);
}

absl::StatusOr<Storage> OpenStorage(const ServerOptions& options, const StoreSpec& spec) {
  Storage storage;
  storage.spec = spec;
  if (spec.kind == StoreSpec::Kind::kMemory) {
    Log(LogLevel::kWarning,
        "--store=memory: integrations and tokens live in memory only and are lost on exit");
    storage.store = std::make_unique<InMemoryCredentialStore>();
    return storage;
  }
  std::vector<std::string> key_ids;
  TB_ASSIGN_OR_RETURN(storage.cipher, LoadCipher(options, &key_ids));
  if (spec.kind == StoreSpec::Kind::kPostgres) {
    PostgresStoreOptions pg;
    pg.dsn = spec.location;
    pg.pool_size = options.store_pool_size;
    TB_ASSIGN_OR_RETURN(std::unique_ptr<PostgresCredentialStore> postgres,
                        PostgresCredentialStore::Open(pg, storage.cipher.get()));
    storage.maintenance = postgres.get();
    storage.coordination = postgres.get();
    storage.store = std::move(postgres);
  } else {
    TB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteCredentialStore> sqlite,
                        SqliteCredentialStore::Open(spec.location, storage.cipher.get()));
    storage.maintenance = sqlite.get();
    storage.store = std::move(sqlite);
  }
  TB_ASSIGN_OR_RETURN(std::vector<std::string> in_use, storage.maintenance->KeyIdsInUse());
  TB_RETURN_IF_ERROR(VerifyKeyring(*storage.store, in_use, key_ids, KeyringSource(options)));
  return storage;
}

namespace {

// Sets the gRPC server's per-connection limits (README "Limits").
void ApplyConnectionLimits(const ServerLimits& l, grpc::ServerBuilder& builder) {
  auto ms = [](absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); };
  // Twice the admin limit, so that a request a little too large is parsed
  // and answered by the service naming the flag; larger ones are refused by
  // gRPC before parsing (RESOURCE_EXHAUSTED).
  builder.SetMaxReceiveMessageSize(2 * l.max_admin_request_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, l.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ms(l.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, l.max_ping_strikes);
  // Also bounds how long a connection may stay without the client's HTTP/2
  // SETTINGS: sockets that never send a byte are closed after it.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, ms(l.handshake_timeout));
  if (l.max_connection_idle > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, ms(l.max_connection_idle));
  }
}

// Every connection (idle ones included, until --handshake-timeout or
// --max-connection-idle closes them) holds a descriptor: lift the soft
// RLIMIT_NOFILE to the hard limit so that a crowd of sockets meets the
// timeouts before it meets EMFILE.
void RaiseFileLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < 4096) {
    Log(LogLevel::kWarning,
        "few file descriptors: each client connection holds one; raise the hard limit "
        "(ulimit -Hn) to at least 4096",
        {{"rlimit_nofile", absl::StrCat(limit.rlim_cur)}});
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::BuildAndStart(const ServerOptions& options) {
  TB_RETURN_IF_ERROR(ValidateOptions(options));
  RaiseFileLimit();
  std::unique_ptr<Server> server(new Server());
  server->components_ = std::make_unique<Components>();
  Components& c = *server->components_;

  TB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                      ServerCredentials(options, options.listen, "--listen"));
  TB_RETURN_IF_ERROR(CheckHttpListen(options));
  std::shared_ptr<grpc::ServerCredentials> ext_authz_credentials;
  if (!options.ext_authz_listen.empty()) {
    TB_ASSIGN_OR_RETURN(ext_authz_credentials,
                        ServerCredentials(options, options.ext_authz_listen, "--ext-authz-listen"));
  }
  c.metrics = std::make_unique<Metrics>(ApiMethodNames());
  TB_ASSIGN_OR_RETURN(c.storage, OpenStorage(options));
  c.instrumented_store =
      std::make_unique<InstrumentedCredentialStore>(c.storage.store.get(), c.metrics.get());
  CredentialStore* store = c.instrumented_store.get();

  CurlHttpTransportOptions http;
  http.ca_file = options.ims_ca_file;
  http.connect_timeout = options.ims_connect_timeout;
  http.total_timeout = options.ims_timeout;
  http.allow_insecure_http = options.allow_insecure_ims_http;
  http.max_idle_connections = options.exchange_threads;
  TB_ASSIGN_OR_RETURN(c.transport, CurlHttpTransport::New(http));

  ImsOptions ims;
  ims.default_base_url = options.ims_url;
  ims.oauth_token_path = options.ims_token_path;
  ims.jwt_exchange_path = options.ims_jwt_path;
  ims.request_timeout = options.ims_timeout;
  // No retry decorator: the broker owns retries (per-integration backoff in
  // its scheduler), so no exchange thread ever sleeps.
  c.exchanger = std::make_unique<DispatchingExchanger>(
      std::make_unique<OAuthServerToServerExchanger>(c.transport.get(), SystemClock::Get(), ims),
      std::make_unique<JwtExchanger>(c.transport.get(), SystemClock::Get(), ims));
  // The Developer Console's API shares IMS's transport (CA file, timeouts,
  // --allow-insecure-ims-http for a loopback emulator).
  c.console = std::make_unique<HttpConsoleSecrets>(c.transport, options.console_api_url,
                                                   options.ims_timeout);
  ClientSecretOptions secret_options;
  secret_options.grace = options.secret_rotation_grace;
  secret_options.coordination = c.storage.coordination;
  secret_options.replica_id = options.replica_id;
  c.client_secrets = std::make_unique<ClientSecretManager>(
      store, c.console.get(), c.exchanger.get(), SystemClock::Get(), secret_options);
  // Mints with the dispatcher: the converted integration is OAuth S2S.
  // The encrypted stores scrub the dropped private key from their files.
  c.migrator = std::make_unique<JwtMigrator>(store, c.storage.maintenance, c.exchanger.get(),
                                             SystemClock::Get());

  c.exchange_pool =
      std::make_unique<ThreadPool>(options.exchange_threads, options.exchange_max_threads);
  c.admin_pool = std::make_unique<ThreadPool>(options.admin_threads);
  BrokerOptions broker_options;
  broker_options.refresh = options.refresh;
  broker_options.max_attempts = options.ims_max_attempts;
  broker_options.max_waiters = options.limits.max_waiters_per_integration;
  broker_options.observer = c.metrics.get();
  if (c.storage.coordination != nullptr) {
    broker_options.replica.coordination = c.storage.coordination;
    broker_options.replica.replica_id = options.replica_id;
    broker_options.replica.lease_ttl = options.refresh_lease_ttl;
    Log(LogLevel::kInfo, "replica coordination on: refreshes are shared through the store",
        {{"replica_id", options.replica_id},
         {"lease_ttl", absl::FormatDuration(options.refresh_lease_ttl)}});
  }
  c.broker = std::make_unique<TokenBroker>(store, c.exchanger.get(), c.exchange_pool.get(),
                                           SystemClock::Get(), &c.random, broker_options);
  TokenBroker* broker = c.broker.get();
  c.metrics->SetCacheSource([broker] { return broker->SampleCache(); });
  if (options.policy_file.empty()) {
    c.authorizer = std::make_unique<Authorizer>();
  } else {
    TB_ASSIGN_OR_RETURN(c.authorizer, Authorizer::FromFile(options.policy_file));
    c.authorizer->StartReloading(options.policy_reload_interval);
  }
  if (!options.audit_log.empty()) {
    std::unique_ptr<AuditSink> sink;
    if (options.audit_log == "-") {
      sink = std::make_unique<StdoutAuditSink>();
    } else {
      TB_ASSIGN_OR_RETURN(sink, FileAuditSink::Open(options.audit_log));
    }
    SecretString key;
    if (options.audit_key_file.empty()) {
      unsigned char bytes[32];
      RAND_bytes(bytes, sizeof(bytes));
      key = SecretString(std::string(reinterpret_cast<char*>(bytes), sizeof(bytes)));
      OPENSSL_cleanse(bytes, sizeof(bytes));
      Log(LogLevel::kWarning,
          "no --audit-key-file: token fingerprints in the audit log use a random per-process "
          "key and cannot be matched with tokenctl audit fingerprint");
    } else {
      TB_ASSIGN_OR_RETURN(key, LoadAuditKey(options.audit_key_file));
    }
    c.audit = std::make_unique<AuditLogger>(
        std::move(sink), std::move(key),
        options.audit_refuse_on_failure ? AuditFailureMode::kRefuse : AuditFailureMode::kServe);
  }
  if (options.max_forced_refreshes > 0) {
    c.limiter = std::make_unique<RefreshRateLimiter>(options.max_forced_refreshes,
                                                     options.forced_refresh_window);
  }
  c.api.authorizer = c.authorizer.get();
  c.api.audit = c.audit.get();
  c.api.limiter = c.limiter.get();
  c.api.metrics = c.metrics.get();
  if (options.limits.max_watches_per_caller > 0) {
    c.watches = std::make_unique<WatchLimiter>(options.limits.max_watches_per_caller);
  }
  c.api.watches = c.watches.get();
  c.api.max_token_request_bytes = options.limits.max_token_request_bytes;
  c.api.max_admin_request_bytes = options.limits.max_admin_request_bytes;
  c.token_service = std::make_unique<TokenServiceImpl>(c.broker.get(), &c.api);
  ValidationOptions validation;
  validation.allow_insecure_ims_http = options.allow_insecure_ims_http;
  c.integration_service = std::make_unique<IntegrationServiceImpl>(
      store, c.admin_pool.get(), validation, &c.api, SystemClock::Get(), c.client_secrets.get(),
      c.migrator.get());

  StartRotationScheduler(options, store, c);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ApplyConnectionLimits(options.limits, builder);
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.RegisterService(c.token_service.get());
  builder.RegisterService(c.integration_service.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on --listen=", options.listen));
  }
  grpc::HealthCheckServiceInterface* health = server->grpc_server_->GetHealthCheckService();
  health->SetServingStatus(kLivenessService, true);
  server->SetReady(server->CheckReady(store));
  c.broker->Start();
  if (!options.metrics_listen.empty()) {
    TB_ASSIGN_OR_RETURN(c.metrics_server,
                        MetricsHttpServer::Start(options.metrics_listen, c.metrics.get()));
    Log(LogLevel::kInfo, "metrics serving",
        {{"listen", options.metrics_listen}, {"port", absl::StrCat(c.metrics_server->port())}});
  }
  TB_RETURN_IF_ERROR(StartHttpEndpoint(options, c.broker.get(), &c.api, &c.http_endpoint));
  // Before the readiness thread, which then sets both servers' health.
  if (ext_authz_credentials != nullptr) {
    TB_RETURN_IF_ERROR(server->StartExtAuthz(options, ext_authz_credentials));
  }
  c.readiness = std::thread([server = server.get(), store, interval = options.readiness_interval] {
    while (!server->components_->stop_readiness.WaitForNotificationWithTimeout(interval)) {
      server->SetReady(server->CheckReady(store));
    }
  });
  if (!options.port_file.empty()) {
    TB_RETURN_IF_ERROR(WritePortFile(options.port_file, server->port_));
  }
  if (options.tls_cert.empty()) {
    Log(IsLoopback(options.listen) ? LogLevel::kInfo : LogLevel::kWarning,
        IsLoopback(options.listen)
            ? "no TLS and no caller authentication: serving on loopback only"
            : "NO TLS AND NO CALLER AUTHENTICATION on a non-loopback address "
              "(--allow-unauthenticated-non-loopback)",
        {{"listen", options.listen}});
  }
  Log(LogLevel::kInfo, "tokenbroker serving",
      {{"listen", options.listen},
       {"tls",
        options.tls_cert.empty() ? "off" : (options.client_ca_file.empty() ? "on" : "mutual")},
       {"port", absl::StrCat(server->port_)},
       {"store", c.storage.spec.Describe()},
       {"ims_url", options.ims_url}});
  return server;
}

absl::Status Server::StartExtAuthz(const ServerOptions& options,
                                   const std::shared_ptr<grpc::ServerCredentials>& credentials) {
  Components& c = *components_;
  if (!options.ext_authz_routes.empty()) {
    TB_ASSIGN_OR_RETURN(c.ext_authz_routes,
                        ReloadingRouteTable::FromFile(options.ext_authz_routes));
    c.ext_authz_routes->StartReloading(options.policy_reload_interval);
  }
  c.ext_authz_service =
      std::make_unique<ExtAuthzServiceImpl>(c.broker.get(), &c.api, c.ext_authz_routes.get());
  grpc::ServerBuilder builder;
  ApplyConnectionLimits(options.limits, builder);
  builder.AddListeningPort(options.ext_authz_listen, credentials, &ext_authz_port_);
  builder.RegisterService(c.ext_authz_service.get());
  ext_authz_server_ = builder.BuildAndStart();
  if (ext_authz_server_ == nullptr || ext_authz_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on --ext-authz-listen=", options.ext_authz_listen));
  }
  ext_authz_server_->GetHealthCheckService()->SetServingStatus(kLivenessService, true);
  SetReady(ready_);
  Log(LogLevel::kInfo, "ext_authz serving",
      {{"listen", options.ext_authz_listen},
       {"port", absl::StrCat(ext_authz_port_)},
       {"routes", options.ext_authz_routes.empty() ? "none" : options.ext_authz_routes}});
  return absl::OkStatus();
}

namespace {

// A scheduled rotation's audit line: the RPC's method, the scheduler as
// caller, no peer.
AuditRecord RotationAuditRecord(const RotationOutcome& outcome) {
  AuditRecord record;
  record.time = absl::Now();
  unsigned char bytes[8];
  RAND_bytes(bytes, sizeof(bytes));
  record.request_id =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
  record.caller = "tokenbroker/secret-rotation-scheduler";
  record.method = "/tokenbroker.v1.IntegrationService/RotateClientSecret";
  record.integration = outcome.integration;
  record.code = outcome.status.code();
  return record;
}

}  // namespace

// Scheduled rotations report to the metrics and the audit log; the
// scheduler's readings feed the client-secret gauges.
void Server::StartRotationScheduler(const ServerOptions& options, CredentialStore* store,
                                    Components& c) {
  RotationScheduleOptions schedule;
  schedule.default_period = options.secret_rotation_period;
  schedule.check_interval = options.secret_rotation_check_interval;
  Metrics* metrics = c.metrics.get();
  AuditLogger* audit = c.audit.get();
  c.rotation = std::make_unique<RotationScheduler>(
      store, c.client_secrets.get(), SystemClock::Get(), schedule,
      [metrics, audit](const RotationOutcome& outcome) {
        const bool waiting = outcome.phase == RotationResult::Phase::kWaiting;
        metrics->RecordSecretRotation(!outcome.status.ok() ? "failed"
                                      : waiting            ? "waiting"
                                                           : "done");
        if (audit != nullptr) audit->Record(RotationAuditRecord(outcome));
      });
  RotationScheduler* rotation = c.rotation.get();
  metrics->SetClientSecretSource([rotation] {
    ClientSecretReading reading{rotation->passes()};
    for (const SecretAgeSample& s : rotation->Samples()) {
      reading.samples.push_back({s.integration, s.oldest_secret_time, s.last_rotation_time});
    }
    return reading;
  });
  c.rotation->Start();
  Log(LogLevel::kInfo, "client-secret rotation scheduler started",
      {{"default_period", options.secret_rotation_period == absl::ZeroDuration()
                              ? std::string("off")
                              : absl::FormatDuration(options.secret_rotation_period)},
       {"check_interval", absl::FormatDuration(options.secret_rotation_check_interval)}});
}

Server::~Server() {
  if (grpc_server_ != nullptr) Shutdown(absl::ZeroDuration());
}

bool Server::CheckReady(CredentialStore* store) {
  absl::Status health = store->CheckHealth();
  if (!health.ok()) {
    Log(LogLevel::kWarning, "not ready: the store does not answer",
        {{"error", std::string(health.message())}});
  }
  return health.ok();
}

void Server::SetReady(bool ready) {
  grpc::HealthCheckServiceInterface* health = grpc_server_->GetHealthCheckService();
  for (const char* service : {"", kReadinessService, "tokenbroker.v1.TokenService",
                              "tokenbroker.v1.IntegrationService"}) {
    health->SetServingStatus(service, ready);
  }
  if (ext_authz_server_ != nullptr) {
    grpc::HealthCheckServiceInterface* edge = ext_authz_server_->GetHealthCheckService();
    for (const char* service : {"", kReadinessService, "envoy.service.auth.v3.Authorization"}) {
      edge->SetServingStatus(service, ready);
    }
  }
  components_->metrics->SetReady(ready);
  if (ready != ready_) {
    Log(ready ? LogLevel::kInfo : LogLevel::kWarning, ready ? "ready" : "not ready");
    ready_ = ready;
  }
}

int Server::metrics_port() const {
  return components_->metrics_server == nullptr ? 0 : components_->metrics_server->port();
}

int Server::http_port() const {
  return components_->http_endpoint == nullptr ? 0 : components_->http_endpoint->port();
}

void Server::Shutdown(absl::Duration grace, absl::Duration delay) {
  if (grpc_server_ == nullptr) return;
  Components& c = *components_;
  c.stop_readiness.Notify();
  if (c.readiness.joinable()) c.readiness.join();
  absl::Time started = absl::Now();
  // 1. Readiness off, so load balancers and Kubernetes stop sending calls.
  SetReady(false);
  if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
  // 2. New calls are refused (UNAVAILABLE: clients retry elsewhere) and
  //    watch streams end now with UNAVAILABLE, so their clients reconnect.
  c.api.draining = true;
  // A rotation under way finishes its step (each one is stored).
  if (c.rotation != nullptr) c.rotation->Stop();
  c.broker->EndWatches(absl::UnavailableError(
      "the server is shutting down; reconnect (another replica will serve)"));
  // 3. In-flight calls get until the grace is over. gRPC's own Shutdown
  //    deadline also waits for clients to close idle connections, so it is
  //    only used once our calls are done (or the grace is spent): then
  //    nothing is left to wait for and the rest is cancelled at once.
  absl::Time deadline = absl::Now() + grace;
  while (c.api.active.load() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (int left = c.api.active.load(); left > 0) {
    Log(LogLevel::kWarning, "calls still running at the end of the grace are cancelled",
        {{"calls", absl::StrCat(left)}});
    // Calls waiting for an exchange are answered now; gRPC cancels the rest.
    c.broker->FailWaiters(absl::UnavailableError(
        "the server is shutting down and the call did not finish within its grace; retry"));
  }
  // The HTTP endpoint's calls were counted in `active` too: stop it now
  // (idle keep-alive connections close; none is waiting for the broker).
  if (c.http_endpoint != nullptr) c.http_endpoint->Stop();
  grpc_server_->GetHealthCheckService()->SetServingStatus(false);
  grpc_server_->Shutdown(absl::ToChronoTime(absl::Now()));
  if (ext_authz_server_ != nullptr) {
    ext_authz_server_->GetHealthCheckService()->SetServingStatus(false);
    ext_authz_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    ext_authz_server_->Wait();
  }
  grpc_server_->Wait();
  c.broker->Shutdown();
  if (c.audit != nullptr) c.audit->Flush();
  c.metrics_server.reset();
  if (c.ext_authz_routes != nullptr) c.ext_authz_routes->Stop();
  ext_authz_server_.reset();
  grpc_server_.reset();
  Log(LogLevel::kInfo, "tokenbroker stopped",
      {{"drain", absl::FormatDuration(absl::Now() - started)}});
}

void Server::Wait() {
  if (grpc_server_ != nullptr) grpc_server_->Wait();
}

}  // namespace tokenbroker
