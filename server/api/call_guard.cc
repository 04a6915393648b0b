#include "server/api/call_guard.h"

#include <google/protobuf/descriptor.h>
#include <grpc/grpc_security_constants.h>
#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/error_details.h"
#include "server/common/quote.h"

namespace tokenbroker {
namespace {

std::string RandomRequestId() {
  unsigned char bytes[8];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

}  // namespace

std::string RequestIdOr(absl::string_view candidate) {
  if (!candidate.empty() && candidate.size() <= 64 &&
      std::all_of(candidate.begin(), candidate.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
      })) {
    return std::string(candidate);
  }
  return RandomRequestId();
}

CallOrigin OriginOf(const grpc::CallbackServerContext& context, bool with_audit_fields) {
  CallOrigin origin;
  const auto& metadata = context.client_metadata();
  if (with_audit_fields) {
    origin.peer = context.peer();
    auto it = metadata.find("x-request-id");
    origin.request_id =
        RequestIdOr(it == metadata.end() ? absl::string_view()
                                         : absl::string_view(it->second.data(), it->second.size()));
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) origin.certificate_identity = CertificateIdentity(*auth);
  auto it = metadata.find("authorization");
  if (it != metadata.end())
    origin.authorization = std::string(it->second.data(), it->second.size());
  return origin;
}

absl::Status RefreshRateLimiter::Acquire(const std::string& integration_id) {
  absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(integration_id, Bucket{double(max_), now});
  Bucket& b = it->second;
  // Never negative: a wall clock stepped backwards must not drain the bucket.
  double refill =
      absl::FDivDuration(std::max(now - b.updated, absl::ZeroDuration()), window_) * max_;
  b.tokens = std::min<double>(max_, b.tokens + refill);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return absl::OkStatus();
  }
  absl::Duration wait = window_ * ((1.0 - b.tokens) / max_);
  return WithRetryDelay(
      absl::ResourceExhaustedError(
          absl::StrCat("forced refreshes of integration '", integration_id, "' are limited to ",
                       max_, " per ", absl::FormatDuration(window_), "; retry in ",
                       absl::FormatDuration(absl::Ceil(wait, absl::Seconds(1))))),
      wait);
}

absl::StatusOr<std::shared_ptr<void>> WatchLimiter::Acquire(const std::string& caller) {
  {
    absl::MutexLock lock(&mu_);
    int& open = open_[caller];
    if (open >= max_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("caller ", QuoteInput(caller), " already has ", open,
                       " open WatchAccessTokens streams, the most allowed "
                       "(--max-watches-per-caller=",
                       max_, "); close one first"));
    }
    ++open;
  }
  // A non-null handle whose deleter gives the slot back.
  return std::shared_ptr<void>(this, [this, caller](void*) { Release(caller); });
}

void WatchLimiter::Release(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(caller);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

int WatchLimiter::open(const std::string& caller) const {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(caller);
  return it == open_.end() ? 0 : it->second;
}

absl::Status CheckRequestSize(const google::protobuf::Message& request, size_t max_bytes,
                              absl::string_view flag) {
  if (max_bytes == 0) return absl::OkStatus();
  size_t size = request.ByteSizeLong();
  if (size <= max_bytes) return absl::OkStatus();
  return InvalidField("request",
                      absl::StrCat("the request is ", size, " bytes; this method takes at most ",
                                   max_bytes, " (", flag, "=", max_bytes, ")"));
}

std::optional<std::string> CertificateIdentity(const grpc::AuthContext& auth) {
  auto first = [&auth](const char* property) -> std::optional<std::string> {
    for (const auto& value : auth.FindPropertyValues(property)) {
      return std::string(value.data(), value.size());
    }
    return std::nullopt;
  };
  if (first(GRPC_X509_PEM_CERT_PROPERTY_NAME) == std::nullopt &&
      first(GRPC_X509_CN_PROPERTY_NAME) == std::nullopt) {
    return std::nullopt;  // no client certificate
  }
  for (const auto& value : auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    std::string uri(value.data(), value.size());
    if (absl::StartsWith(uri, "spiffe://")) return uri;
  }
  if (auto spiffe = first(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME)) return spiffe;
  if (auto dns = first(GRPC_PEER_DNS_PROPERTY_NAME)) return dns;
  return first(GRPC_X509_CN_PROPERTY_NAME);
}

const std::vector<std::string>& ApiMethodNames() {
  static const auto* names = [] {
    auto* names = new std::vector<std::string>();
    for (const char* service : {"tokenbroker.v1.TokenService", "tokenbroker.v1.IntegrationService",
                                "envoy.service.auth.v3.Authorization"}) {
      const google::protobuf::ServiceDescriptor* descriptor =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
      for (int i = 0; descriptor != nullptr && i < descriptor->method_count(); ++i) {
        names->push_back(absl::StrCat("/", service, "/", descriptor->method(i)->name()));
      }
    }
    // The local HTTP endpoint's routes (server/edge/http_token_endpoint.h).
    names->push_back(kHttpTokenMethod);
    names->push_back(kHttpHeadersMethod);
    return names;
  }();
  return *names;
}

RpcScope::RpcScope(const ApiContext& api, grpc::CallbackServerContext* context, const char* method)
    : RpcScope(api, OriginOf(*context, /*with_audit_fields=*/api.audit != nullptr), method) {}

RpcScope::RpcScope(const ApiContext& api, CallOrigin origin, const char* method)
    : api_(api), origin_(std::move(origin)) {
  api_.active.fetch_add(1);
  record_.method = method;
  if (api_.audit != nullptr) {  // only pay for what the audit line needs
    record_.time = absl::Now();
    record_.peer = origin_.peer;
    record_.request_id =
        origin_.request_id.empty() ? RequestIdOr(absl::string_view()) : origin_.request_id;
  }
}

RpcScope::~RpcScope() { api_.active.fetch_sub(1); }

absl::Status RpcScope::Authenticate() {
  if (authenticated_) return absl::OkStatus();
  if (api_.draining.load(std::memory_order_relaxed)) {
    return absl::UnavailableError("the server is shutting down; retry on another replica");
  }
  CallerCredentials credentials;
  credentials.certificate_identity = origin_.certificate_identity;
  if (origin_.authorization.has_value()) {
    absl::string_view value = *origin_.authorization;
    if (absl::StartsWithIgnoreCase(value, "bearer ") && value.size() > 7) {
      credentials.bearer_token = std::string(absl::StripAsciiWhitespace(value.substr(7)));
    } else {
      credentials.malformed_authorization = true;
    }
  }
  absl::StatusOr<std::string> identity = api_.authorizer->Authenticate(credentials);
  if (!identity.ok()) return identity.status();
  record_.caller = *identity;
  authenticated_ = true;
  return absl::OkStatus();
}

absl::Status RpcScope::ActFor(absl::string_view workload) {
  absl::Status authenticated = Authenticate();
  if (!authenticated.ok()) return authenticated;
  const bool vouches =
      api_.authorizer->enforcing() &&
      api_.authorizer->Authorize(record_.caller, Permission::kActForWorkloads, "").ok();
  if (!vouches) {
    record_.workload = std::string(workload);  // recorded; the proxy decides
    return absl::OkStatus();
  }
  if (workload.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "proxy ", QuoteInput(record_.caller),
        " reported no workload identity (source.principal is empty: the workload's connection to "
        "the proxy is not mutual TLS)"));
  }
  record_.via = record_.caller;
  record_.caller = std::string(workload);
  return absl::OkStatus();
}

absl::Status RpcScope::Admit(Permission permission, absl::string_view integration_id) {
  absl::Status authenticated = Authenticate();
  if (!authenticated.ok()) return authenticated;
  if (api_.audit != nullptr && !api_.audit->Accepting()) {
    return absl::UnavailableError(
        "the audit log cannot be written; refusing calls "
        "(--audit-failure-mode=refuse)");
  }
  return api_.authorizer->Authorize(record_.caller, permission, integration_id);
}

void RpcScope::Finish(const absl::Status& status, const SnapshotPtr& snapshot) {
  if (finished_) return;
  finished_ = true;
  if (api_.metrics != nullptr) api_.metrics->RecordRpc(record_.method, status.code());
  if (api_.audit == nullptr) return;
  record_.code = status.code();
  if (snapshot != nullptr) {
    record_.x_debug_id = snapshot->token.debug_id;
    // Aliasing: shares the snapshot's ownership, points at its token.
    record_.token = std::shared_ptr<const SecretString>(snapshot, &snapshot->token.access_token);
  } else if (auto info = GetErrorInfo(status)) {
    auto it = info->metadata().find("x_debug_id");
    if (it != info->metadata().end()) record_.x_debug_id = it->second;
  }
  api_.audit->Record(record_);
}

}  // namespace tokenbroker
