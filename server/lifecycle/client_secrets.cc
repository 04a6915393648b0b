#include "server/lifecycle/client_secrets.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/error_details.h"
#include "server/common/status_macros.h"

namespace tokenbroker {

ConsoleTarget TargetOf(const Integration& integration) {
  return ConsoleTarget{integration.console.org_id, integration.console.credential_id,
                       integration.client_id};
}

SecretListing MatchSecrets(const Integration& integration,
                           const std::vector<ConsoleSecret>& listed) {
  const auto& secrets = integration.credentials.client_secrets;
  const auto& info = integration.client_secret_info;
  auto uuid_of = [&info](size_t i) { return i < info.size() ? info[i].console_uuid : ""; };
  SecretListing listing;
  std::vector<bool> matched(secrets.size(), false);
  for (const ConsoleSecret& at_adobe : listed) {
    ListedSecret out{at_adobe.uuid, at_adobe.created, at_adobe.last_used};
    for (size_t i = 0; i < secrets.size(); ++i) {
      // A uuid never recorded (an imported secret) is matched only when
      // both sides hold exactly one secret.
      bool same = uuid_of(i).empty() ? secrets.size() == 1 && listed.size() == 1
                                     : uuid_of(i) == at_adobe.uuid;
      if (!same || matched[i]) continue;
      matched[i] = true;
      out.held = true;
      out.in_use = i == 0;
      out.fingerprint = Fingerprint(secrets[i].value());
      if (i < info.size()) out.stored_time = info[i].create_time;
      break;
    }
    listing.secrets.push_back(std::move(out));
  }
  for (bool m : matched) listing.held_unmatched += m ? 0 : 1;
  return listing;
}

absl::Time NextRotationTime(const Integration& integration, absl::Duration default_period) {
  if (integration.auth_method != AuthMethod::kOAuthServerToServer || integration.console.empty()) {
    return absl::InfiniteFuture();
  }
  for (const ClientSecretInfo& info : integration.client_secret_info) {
    if (info.rotation != SecretRotationRole::kNone) return absl::InfinitePast();
  }
  const absl::Duration period = integration.secret_rotation_period.value_or(default_period);
  if (period <= absl::ZeroDuration() || integration.state != IntegrationState::kActive) {
    return absl::InfiniteFuture();
  }
  absl::Time since = integration.last_secret_rotation_time;
  if (!integration.client_secret_info.empty()) {
    since = std::max(since, integration.client_secret_info.front().create_time);
  }
  if (since == absl::InfinitePast()) since = integration.create_time;
  return since + period;
}

absl::StatusOr<Integration> ClientSecretManager::Rotatable(absl::string_view id) {
  TB_ASSIGN_OR_RETURN(Integration integration, store_->Get(id));
  if (integration.auth_method != AuthMethod::kOAuthServerToServer) {
    return absl::FailedPreconditionError(absl::StrCat(
        "integration '", id,
        "' is a JWT credential: only OAuth Server-to-Server credentials have client secrets "
        "at the Developer Console (convert it with 'tokenctl integrations migrate')"));
  }
  if (integration.console.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "integration '", id,
        "' has no console_credential: import it from the Developer Console's download "
        "('tokenctl integrations import FILE --update'), or set the Console's numeric org and "
        "credential ids ('tokenctl integrations update ",
        id, " --console-credential=ORG/CRED')"));
  }
  return integration;
}

absl::StatusOr<SecretString> ClientSecretManager::ConsoleToken(const Integration& integration) {
  Integration for_console = integration;
  for_console.scopes = absl::StrSplit(kConsoleSecretsScopes, ',');
  absl::StatusOr<AccessToken> token = exchanger_->Exchange(for_console);
  if (!token.ok()) {
    return WithContext(token.status(), "minting a token for the Developer Console's secrets API: ");
  }
  return std::move(token->access_token);
}

absl::StatusOr<SecretListing> ClientSecretManager::List(absl::string_view id) {
  TB_ASSIGN_OR_RETURN(Integration integration, Rotatable(id));
  TB_ASSIGN_OR_RETURN(SecretString token, ConsoleToken(integration));
  TB_ASSIGN_OR_RETURN(std::vector<ConsoleSecret> listed,
                      console_->List(TargetOf(integration), token));
  return MatchSecrets(integration, listed);
}

}  // namespace tokenbroker
