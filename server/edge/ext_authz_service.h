// Envoy's external authorization service (envoy.service.auth.v3.Authorization)
// on gRPC's callback API, on a port of its own (--ext-authz-listen): Envoy's
// ext_authz filter, or an Istio egress gateway's CUSTOM provider, asks before
// each request, and an allowed request reaches its upstream with the Adobe
// headers of the integration (Authorization: Bearer, x-api-key, ...), so the
// workload needs no SDK.
//
// Design note: a thin translator, like TokenServiceImpl. The caller is the
// proxy; when the policy binds the proxy to the role "proxy", the workload it
// reports (attributes.source.principal) is the caller the policy decides on
// (RpcScope::ActFor). Every decision is a CheckResponse (Envoy turns it into
// the upstream request or a local reply); only a draining server or an
// audit log refusing writes fail the RPC itself (UNAVAILABLE), so that
// Envoy's retry policy or status_on_error applies, as for every other RPC.
#ifndef TOKENBROKER_SERVER_EDGE_EXT_AUTHZ_SERVICE_H_
#define TOKENBROKER_SERVER_EDGE_EXT_AUTHZ_SERVICE_H_

#include <grpcpp/support/message_allocator.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "server/api/call_guard.h"
#include "server/broker/token_broker.h"
#include "server/edge/http_status.h"
#include "server/edge/route_table.h"

namespace tokenbroker {

inline constexpr char kExtAuthzCheckMethod[] = "/envoy.service.auth.v3.Authorization/Check";
// Where a Check names its integration, in order: Envoy's per-route context
// extension, then a request header (removed before the request goes
// upstream), then the --ext-authz-routes table.
inline constexpr char kIntegrationContextExtension[] = "tokenbroker.integration";
inline constexpr char kIntegrationHeader[] = "x-tokenbroker-integration";

// The integration a request is for, and whether the request header named it.
struct IntegrationChoice {
  std::string id;
  bool header_present = false;  // x-tokenbroker-integration is to be removed
};

// Chooses as described above; `routes` may be null (no table). Errors:
// INVALID_ARGUMENT (a malformed id, naming where it came from), NOT_FOUND
// (nothing names an integration for this host and path). Never tells whether
// an integration exists.
absl::StatusOr<IntegrationChoice> ChooseIntegration(
    const envoy::service::auth::v3::AttributeContext& attributes,
    const ReloadingRouteTable* routes);

// An allowed request: status OK, ok_response.headers = AdobeHeaders(snapshot),
// each OVERWRITE_IF_EXISTS_OR_ADD (and the deprecated `append` false, which
// older Envoys read), and x-tokenbroker-integration removed when present.
void FillAllowed(const TokenSnapshot& snapshot, bool remove_integration_header,
                 envoy::service::auth::v3::CheckResponse* response);

// A denied request: status carries the code and message; denied_response is
//   403 for UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT
//       (the request is refused; 403 for UNAUTHENTICATED too: the missing
//       identity is the proxy's or the workload's mesh identity, not a
//       credential the HTTP client could add, so 401 would mislead it);
//   503 with Retry-After for UNAVAILABLE, DEADLINE_EXCEEDED and
//       RESOURCE_EXHAUSTED (IMS or the broker cannot serve now; the delay
//       from the status's RetryInfo, else kDefaultRetryAfter: the HTTP
//       endpoint's rule, RetryAfterSeconds in http_status.h);
//   503 without Retry-After otherwise (e.g. FAILED_PRECONDITION: IMS
//       rejects the integration's credential; an operator must act).
// The body is {"error": CODE_NAME, "reason": message} (application/json):
// the message the gRPC API gives the same caller, never a secret.
void FillDenied(const absl::Status& status, envoy::service::auth::v3::CheckResponse* response);

// One Check, without gRPC: `origin` is the proxy's call. Calls `done`
// exactly once (inline when the token is cached or the request refused,
// else from the broker's executor) with OK and `response` filled, or with
// UNAVAILABLE when the server is draining or the audit log refuses writes
// (the RPC then fails; `response` stays empty). Every decision is audited.
void DecideCheck(TokenBroker* broker, const ApiContext& api, const ReloadingRouteTable* routes,
                 CallOrigin origin, const envoy::service::auth::v3::CheckRequest& request,
                 envoy::service::auth::v3::CheckResponse* response,
                 std::function<void(const absl::Status&)> done);

// Thread-safe (gRPC calls Check concurrently).
class ExtAuthzServiceImpl final : public envoy::service::auth::v3::Authorization::CallbackService {
 public:
  // `broker`, `api` and `routes` (may be null: no --ext-authz-routes) must
  // outlive the service.
  ExtAuthzServiceImpl(TokenBroker* broker, const ApiContext* api,
                      const ReloadingRouteTable* routes);

  // Answers from the broker's cache (default minimum validity) without
  // blocking; a token being minted finishes the call from the broker's
  // executor. Authorization: the caller (or the workload the proxy speaks
  // for) needs tokens of the integration (role reader).
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const envoy::service::auth::v3::CheckRequest* request,
                                  envoy::service::auth::v3::CheckResponse* response) override;

 private:
  // Wipes the injected headers (the bearer token) and the request's
  // authorization headers when gRPC frees the messages.
  class WipingAllocator final
      : public grpc::MessageAllocator<envoy::service::auth::v3::CheckRequest,
                                      envoy::service::auth::v3::CheckResponse> {
   public:
    grpc::MessageHolder<envoy::service::auth::v3::CheckRequest,
                        envoy::service::auth::v3::CheckResponse>*
    AllocateMessages() override;
  };

  TokenBroker* const broker_;
  const ApiContext* const api_;
  const ReloadingRouteTable* const routes_;
  WipingAllocator allocator_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_EDGE_EXT_AUTHZ_SERVICE_H_
