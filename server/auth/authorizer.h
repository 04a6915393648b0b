#ifndef TOKENBROKER_SERVER_AUTH_AUTHORIZER_H_
#define TOKENBROKER_SERVER_AUTH_AUTHORIZER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/policy.h"

namespace tokenbroker {

// What a caller presented, extracted from the transport by the API layer.
struct CallerCredentials {
  // The verified client certificate's identity (spiffe URI SAN, else DNS
  // SAN, else CN), if any.
  std::optional<std::string> certificate_identity;
  // The bearer token from the `authorization` metadata, if any.
  std::optional<std::string> bearer_token;
  // True when an `authorization` header was present but not "Bearer <t>".
  bool malformed_authorization = false;
};

// Decides who a caller is and whether it may do something.
//
// Without a policy (no --policy-file) every caller is allowed: the server
// then listens on loopback only, or requires mutual TLS. With a policy,
// anything not granted is denied. The policy file is re-read when it
// changes; an invalid new file is rejected with a log line and the last
// valid policy stays in force.
//
// Thread-safe. Authenticate/Authorize do no I/O and take no lock (the
// policy is an atomic shared_ptr).
class Authorizer {
 public:
  // No policy: everything allowed.
  Authorizer();
  // Loads `policy_file`. Errors: those of Policy::LoadFromFile.
  static absl::StatusOr<std::unique_ptr<Authorizer>> FromFile(const std::string& policy_file);
  ~Authorizer();

  bool enforcing() const { return !policy_path_.empty(); }

  // The caller's identity: the caller token's identity, else the
  // certificate's. Without a policy a caller token is not checked and a
  // caller without a certificate is "anonymous".
  // Errors: UNAUTHENTICATED (no credentials while a policy is enforced, an
  // unknown or malformed token; a token is checked even when a certificate
  // was presented too).
  absl::StatusOr<std::string> Authenticate(const CallerCredentials& credentials) const;

  // Errors: PERMISSION_DENIED naming the identity and the permission (never
  // whether the integration exists).
  absl::Status Authorize(const std::string& identity, Permission permission,
                         absl::string_view integration_id) const;

  // Starts/stops a thread that re-reads the policy file every `interval`
  // when its modification time or size changed.
  void StartReloading(absl::Duration interval);
  void Stop();
  // Re-reads the file now. Returns the load error (the old policy stays).
  absl::Status Reload();

 private:
  std::string policy_path_;
  std::atomic<std::shared_ptr<const Policy>> policy_;
  std::string file_signature_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reloader_;
};

// "<kind>" names used in messages and audit lines.
const char* PermissionName(Permission permission);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_AUTH_AUTHORIZER_H_
