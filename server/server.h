// The composition root: the one place that picks implementations (store,
// transport, exchangers, executors) and wires them into a gRPC server.
#ifndef TOKENBROKER_SERVER_SERVER_H_
#define TOKENBROKER_SERVER_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/broker/refresh_policy.h"
#include "server/crypto/envelope.h"
#include "server/store/credential_store.h"
#include "server/store/replica_coordination.h"
#include "server/store/store_maintenance.h"
#include "server/store/store_spec.h"

namespace tokenbroker {

// What one caller or connection may take; see flags.cc for each one.
struct ServerLimits {
  int max_token_request_bytes = 1024;
  int max_admin_request_bytes = 64 * 1024;
  int max_concurrent_streams = 100;
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  int max_ping_strikes = 2;
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration max_connection_idle = absl::Minutes(10);
  int max_watches_per_caller = 256;
  int max_waiters_per_integration = 10000;
};

// Everything main() takes from flags; see flags.cc for each one's meaning.
struct ServerOptions {
  std::string listen = "127.0.0.1:50051";
  // Server TLS (both or neither); re-read from disk when they change.
  std::string tls_cert;
  std::string tls_key;
  // Turns on mutual TLS: clients must present a certificate it verifies.
  std::string client_ca_file;
  absl::Duration tls_reload_interval = absl::Seconds(10);
  // Listening beyond loopback without caller authentication is refused
  // unless this is set.
  bool allow_unauthenticated_non_loopback = false;
  // Who may call what (see server/auth/policy.h); empty: everyone.
  std::string policy_file;
  absl::Duration policy_reload_interval = absl::Seconds(2);
  // Audit log: a file path, "-" for stdout, empty for none.
  std::string audit_log;
  std::string audit_key_file;
  bool audit_refuse_on_failure = false;
  // Forced refreshes allowed per integration per window.
  int max_forced_refreshes = 6;
  absl::Duration forced_refresh_window = absl::Minutes(1);
  std::string port_file;
  // "memory", "sqlite:PATH", or a PostgreSQL URI (postgres://... or
  // postgresql://...; secret: it may hold a password).
  std::string store = "memory";
  // A file holding the PostgreSQL connection string (e.g. a mounted
  // Kubernetes Secret), read and trimmed at start-up; --store is then
  // "memory" (the default) or "postgres".
  std::string store_dsn_file;
  // PostgreSQL connections per process.
  int store_pool_size = 8;
  // Keyring file (KEKs); empty: the TOKENBROKER_KEYRING environment variable.
  std::string kek_file;
  std::string ims_url = "https://ims-na1.adobelogin.com";
  std::string ims_ca_file;
  bool allow_insecure_ims_http = false;
  std::string ims_token_path = "/ims/token/v3";
  std::string ims_jwt_path = "/ims/exchange/jwt";
  // Adobe's I/O Management API (the Developer Console's client secrets).
  std::string console_api_url = "https://api.adobe.io";
  // How long a replaced client secret must be unused before it is deleted.
  absl::Duration secret_rotation_grace = absl::Minutes(15);
  // Scheduled rotation: the default period (zero: only integrations with
  // their own), and how often each replica checks.
  absl::Duration secret_rotation_period = absl::ZeroDuration();
  absl::Duration secret_rotation_check_interval = absl::Minutes(1);
  absl::Duration ims_connect_timeout = absl::Seconds(5);
  absl::Duration ims_timeout = absl::Seconds(30);
  int ims_max_attempts = 4;
  RefreshPolicy refresh;
  int exchange_threads = 8;
  int exchange_max_threads = 128;
  int admin_threads = 4;
  // Prometheus metrics (GET /metrics) on this host:port; empty: off.
  std::string metrics_listen;
  // Envoy's external authorization service (gRPC, same TLS and caller
  // authentication as --listen) on this host:port; empty: off.
  std::string ext_authz_listen;
  // Its route table (host and path prefix -> integration); empty: none.
  std::string ext_authz_routes;
  // This replica's name in refresh leases (shared stores).
  std::string replica_id;
  absl::Duration refresh_lease_ttl = absl::Seconds(30);
  // How often readiness (the store answers) is re-checked.
  absl::Duration readiness_interval = absl::Seconds(5);
  // Limits on callers (README "Limits"; 0 turns the optional ones off).
  ServerLimits limits;
};

// The credential store named by --store/--store-dsn-file, with the
// envelope cipher of its keyring (encrypted stores only). Checks that the
// keyring holds every key id the store uses and actually opens stored
// records. Only interfaces: nothing outside server.cc sees a concrete store.
struct Storage {
  StoreSpec spec;
  std::unique_ptr<EnvelopeCipher> cipher;  // declared first: outlives the store
  std::unique_ptr<CredentialStore> store;
  // Set for the encrypted stores (SQLite, PostgreSQL). Points into `store`.
  StoreMaintenance* maintenance = nullptr;
  // Set when replicas share the store (PostgreSQL): refresh leases. Points
  // into `store`.
  ReplicaCoordination* coordination = nullptr;
};
// Errors: INVALID_ARGUMENT (bad --store or --store-dsn-file), FAILED_PRECONDITION (no keyring,
// or a key id the store uses is missing: named), DATA_LOSS (the keyring's
// key does not decrypt the stored records), store errors.
absl::StatusOr<Storage> OpenStorage(const ServerOptions& options);
// As above, for an already parsed spec.
absl::StatusOr<Storage> OpenStorage(const ServerOptions& options, const StoreSpec& spec);

class Server {
 public:
  // Validates `options`, builds every component and starts serving.
  // Errors: INVALID_ARGUMENT (a bad option, named), UNAVAILABLE (cannot
  // listen), and those of the store.
  static absl::StatusOr<std::unique_ptr<Server>> BuildAndStart(const ServerOptions& options);
  ~Server();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // The metrics port (0: --metrics-listen is off).
  int metrics_port() const;
  // The ext_authz port (0: --ext-authz-listen is off).
  int ext_authz_port() const { return ext_authz_port_; }
  // Drains: readiness goes NOT_SERVING, then after `delay` (for load
  // balancers to notice) watch streams end with UNAVAILABLE, new calls are
  // refused and in-flight ones get until `grace` before they are cancelled;
  // then the broker stops.
  void Shutdown(absl::Duration grace, absl::Duration delay = absl::ZeroDuration());
  // Blocks until Shutdown.
  void Wait();

 private:
  struct Components;
  Server() = default;

  // Health services "", "readiness" and the API's follow readiness;
  // "liveness" is SERVING until shutdown.
  bool CheckReady(CredentialStore* store);
  static void StartRotationScheduler(const ServerOptions& options, CredentialStore* store,
                                     Components& c);
  // The second gRPC server, holding only the Authorization service (and
  // health). Errors: those of the route table, UNAVAILABLE (cannot listen).
  absl::Status StartExtAuthz(const ServerOptions& options,
                             const std::shared_ptr<grpc::ServerCredentials>& credentials);
  void SetReady(bool ready);

  std::unique_ptr<Components> components_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<grpc::Server> ext_authz_server_;  // null: --ext-authz-listen is off
  int port_ = 0;
  int ext_authz_port_ = 0;
  bool ready_ = false;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_SERVER_H_
