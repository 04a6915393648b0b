#include "server/auth/authorizer.h"

#include "absl/strings/str_cat.h"
#include "server/common/file_signature.h"
#include "server/common/log.h"
#include "server/common/quote.h"

namespace tokenbroker {

const char* PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kReadTokens:
      return "tokens of the integration (role reader)";
    case Permission::kReadIntegrations:
      return "reading integrations (role auditor or admin)";
    case Permission::kManageIntegrations:
      return "managing integrations (role admin)";
    case Permission::kActForWorkloads:
      return "calling for workloads (role proxy)";
  }
  return "?";
}

Authorizer::Authorizer() = default;

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::FromFile(const std::string& policy_file) {
  std::unique_ptr<Authorizer> authorizer(new Authorizer());
  authorizer->policy_path_ = policy_file;
  authorizer->file_signature_ = FileSignature(policy_file);
  absl::StatusOr<Policy> policy = Policy::LoadFromFile(policy_file);
  if (!policy.ok()) return policy.status();
  Log(LogLevel::kInfo, "policy loaded",
      {{"policy_file", policy_file},
       {"bindings", absl::StrCat(policy->binding_count())},
       {"caller_tokens", absl::StrCat(policy->token_count())}});
  authorizer->policy_.store(std::make_shared<const Policy>(*std::move(policy)));
  return authorizer;
}

Authorizer::~Authorizer() { Stop(); }

absl::StatusOr<std::string> Authorizer::Authenticate(const CallerCredentials& credentials) const {
  std::shared_ptr<const Policy> policy = policy_.load();
  if (credentials.malformed_authorization) {
    return absl::UnauthenticatedError(
        "the authorization metadata must be \"Bearer <caller token>\"");
  }
  if (credentials.bearer_token.has_value()) {
    std::optional<std::string> identity =
        policy != nullptr ? policy->IdentityForToken(*credentials.bearer_token) : std::nullopt;
    if (!identity.has_value()) {
      if (policy == nullptr && !enforcing()) return std::string("anonymous");
      return absl::UnauthenticatedError("unknown caller token");
    }
    return *identity;
  }
  if (credentials.certificate_identity.has_value()) return *credentials.certificate_identity;
  if (!enforcing()) return std::string("anonymous");
  return absl::UnauthenticatedError(
      "no caller credentials: present a client certificate or a caller token "
      "(authorization: Bearer <token>)");
}

absl::Status Authorizer::Authorize(const std::string& identity, Permission permission,
                                   absl::string_view integration_id) const {
  if (!enforcing()) return absl::OkStatus();
  std::shared_ptr<const Policy> policy = policy_.load();
  if (policy != nullptr && policy->Allows(identity, permission, integration_id)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "caller ", QuoteInput(identity), " is not granted ", PermissionName(permission),
      permission == Permission::kReadTokens ? absl::StrCat(" for integrations/", integration_id)
                                            : std::string()));
}

absl::Status Authorizer::Reload() {
  if (!enforcing()) return absl::OkStatus();
  absl::StatusOr<Policy> policy = Policy::LoadFromFile(policy_path_);
  if (!policy.ok()) {
    Log(LogLevel::kError, "policy file changed but is invalid; the previous policy stays",
        {{"policy_file", policy_path_}, {"error", std::string(policy.status().message())}});
    return policy.status();
  }
  Log(LogLevel::kInfo, "policy reloaded",
      {{"policy_file", policy_path_},
       {"bindings", absl::StrCat(policy->binding_count())},
       {"caller_tokens", absl::StrCat(policy->token_count())}});
  policy_.store(std::make_shared<const Policy>(*std::move(policy)));
  return absl::OkStatus();
}

void Authorizer::StartReloading(absl::Duration interval) {
  if (!enforcing() || reloader_.joinable()) return;
  reloader_ = std::thread([this, interval] {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval)) {
      std::string signature = FileSignature(policy_path_);
      if (signature != file_signature_) {
        file_signature_ = signature;
        mu_.Unlock();
        (void)Reload();
        mu_.Lock();
      }
    }
  });
}

void Authorizer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (reloader_.joinable()) reloader_.join();
}

}  // namespace tokenbroker
