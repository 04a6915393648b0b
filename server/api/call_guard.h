// What every RPC does around its work: authenticate the caller, authorize
// the call before looking anything up, rate-limit forced refreshes, and
// write one audit line and count it in the metrics when it finishes.
#ifndef TOKENBROKER_SERVER_API_CALL_GUARD_H_
#define TOKENBROKER_SERVER_API_CALL_GUARD_H_

#include <grpcpp/server_context.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/message.h"
#include "server/audit/audit_log.h"
#include "server/auth/authorizer.h"
#include "server/broker/token_broker.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"

namespace tokenbroker {

// At most `max` forced refreshes per integration per `window` (token bucket:
// `max` burst, refilled continuously). Thread-safe.
class RefreshRateLimiter {
 public:
  RefreshRateLimiter(int max, absl::Duration window, const Clock* clock = SystemClock::Get())
      : max_(max), window_(window), clock_(clock) {}
  // OK, or RESOURCE_EXHAUSTED with a RetryInfo payload.
  absl::Status Acquire(const std::string& integration_id);

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  const int max_;
  const absl::Duration window_;
  const Clock* const clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// At most `max` open WatchAccessTokens streams per caller identity (callers
// without credentials share the identity "anonymous"). Thread-safe.
class WatchLimiter {
 public:
  explicit WatchLimiter(int max) : max_(max) {}
  // A slot for one more stream of `caller`, released when the returned
  // handle is destroyed; RESOURCE_EXHAUSTED naming --max-watches-per-caller
  // when `caller` already holds `max`.
  absl::StatusOr<std::shared_ptr<void>> Acquire(const std::string& caller);
  int open(const std::string& caller) const;

 private:
  void Release(const std::string& caller);
  const int max_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

// INVALID_ARGUMENT unless `request` serializes to at most `max_bytes`
// (0: no limit); the message names `flag`. Unknown fields count.
absl::Status CheckRequestSize(const google::protobuf::Message& request, size_t max_bytes,
                              absl::string_view flag);

// The collaborators every service shares. All but `authorizer` may be null.
struct ApiContext {
  const Authorizer* authorizer = nullptr;
  AuditLogger* audit = nullptr;
  RefreshRateLimiter* limiter = nullptr;
  Metrics* metrics = nullptr;
  WatchLimiter* watches = nullptr;
  // Largest serialized request of a token RPC / of an admin RPC; 0: none.
  size_t max_token_request_bytes = 0;
  size_t max_admin_request_bytes = 0;
  // The drain: once set, new calls are answered UNAVAILABLE (clients retry
  // elsewhere) while the `active` ones finish.
  std::atomic<bool> draining{false};
  mutable std::atomic<int> active{0};  // counted by RpcScope
};

// The HTTP endpoint's calls, as RpcScope records them.
inline constexpr char kHttpTokenMethod[] = "GET /v1/integrations/{id}/token";
inline constexpr char kHttpHeadersMethod[] = "GET /v1/integrations/{id}/headers";

// The full names of every method RpcScope records (metrics labels): the gRPC
// services' (those not linked in are left out) and the HTTP endpoint's.
const std::vector<std::string>& ApiMethodNames();

// Who is calling, independent of the transport (gRPC, the ext_authz port,
// the local HTTP endpoint): what RpcScope authenticates and audits.
struct CallOrigin {
  std::string peer;        // "ipv4:10.0.0.7:51234"
  std::string request_id;  // the caller's x-request-id if short and printable, else random
  // The verified client certificate's identity (see CertificateIdentity).
  std::optional<std::string> certificate_identity;
  // The raw `authorization` header, if the caller sent one.
  std::optional<std::string> authorization;
};

// The origin of a gRPC call. Peer and request id only when `with_audit_fields`
// (they are only needed for the audit line).
CallOrigin OriginOf(const grpc::CallbackServerContext& context, bool with_audit_fields);

// `candidate` if it is an acceptable client request id (1..64 of [A-Za-z0-9._-]),
// else a random one.
std::string RequestIdOr(absl::string_view candidate);

// One call: who called, what it touched, and its audit line.
class RpcScope {
 public:
  RpcScope(const ApiContext& api, grpc::CallbackServerContext* context, const char* method);
  RpcScope(const ApiContext& api, CallOrigin origin, const char* method);
  ~RpcScope();
  RpcScope(const RpcScope&) = delete;
  RpcScope& operator=(const RpcScope&) = delete;

  // Refuses calls while draining (UNAVAILABLE), authenticates
  // (UNAUTHENTICATED), checks the audit log accepts
  // (UNAVAILABLE in refuse mode), then authorizes (PERMISSION_DENIED).
  absl::Status Admit(Permission permission, absl::string_view integration_id = "");
  // Authentication only (before the request is parsed).
  absl::Status Authenticate();
  // A proxy (Envoy's ext_authz filter) calling for a workload: once the
  // proxy authenticated, `workload` (its SPIFFE id as the proxy reports it)
  // becomes the caller Admit authorizes, if the policy binds the proxy's
  // identity to the role "proxy"; the audit line then names the workload as
  // caller and the proxy as `via`. Without such a binding the proxy's own
  // identity stays the caller (and `workload` is only recorded). With the
  // binding, an empty `workload` is UNAUTHENTICATED.
  absl::Status ActFor(absl::string_view workload);

  void set_integration(std::string id) { record_.integration = std::move(id); }
  // Writes the audit line for the outcome; `snapshot` is the token handed
  // out, if any. Idempotent: only the first call writes.
  void Finish(const absl::Status& status, const SnapshotPtr& snapshot = nullptr);

  const ApiContext& api() const { return api_; }
  // The authenticated caller's identity ("" before Authenticate succeeds).
  const std::string& caller() const { return record_.caller; }

 private:
  const ApiContext& api_;
  CallOrigin origin_;
  AuditRecord record_;
  bool authenticated_ = false;
  bool finished_ = false;
};

// The caller's certificate identity from a verified TLS peer: the spiffe://
// URI SAN, else the first DNS SAN, else the CN.
std::optional<std::string> CertificateIdentity(const grpc::AuthContext& auth);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_API_CALL_GUARD_H_
