#include "server/lifecycle/jwt_migration.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace tokenbroker {
namespace {

const char* AuthMethodText(AuthMethod method) {
  switch (method) {
    case AuthMethod::kOAuthServerToServer:
      return "already uses OAuth Server-to-Server";
    case AuthMethod::kJwt:
      return "is a JWT integration";
    case AuthMethod::kUnspecified:
      break;
  }
  return "has no auth method";
}

// `status` with `prefix` before and `suffix` after its message; its code
// and payloads (ErrorInfo with IMS's error, RetryInfo) kept.
absl::Status Explain(const absl::Status& status, absl::string_view prefix,
                     absl::string_view suffix) {
  absl::Status out(status.code(), absl::StrCat(prefix, status.message(), suffix));
  status.ForEachPayload([&out](absl::string_view type_url, const absl::Cord& payload) {
    out.SetPayload(type_url, payload);
  });
  return out;
}

}  // namespace

Integration ConvertToServerToServer(const Integration& jwt, const std::vector<std::string>& scopes,
                                    const std::optional<SecretString>& client_secret,
                                    absl::Time now) {
  Integration s2s = jwt;
  s2s.auth_method = AuthMethod::kOAuthServerToServer;
  s2s.scopes = scopes;
  s2s.metascopes.clear();
  s2s.credentials.private_key_pem = SecretString();
  if (client_secret.has_value()) {
    ClientSecretInfo info{now, ""};
    for (size_t i = 0; i < jwt.credentials.client_secrets.size(); ++i) {
      if (jwt.credentials.client_secrets[i] == *client_secret &&
          i < jwt.client_secret_info.size()) {
        info = jwt.client_secret_info[i];  // the same secret keeps its age
      }
    }
    s2s.credentials.client_secrets = {*client_secret};
    s2s.client_secret_info = {info};
  }
  return s2s;
}

absl::StatusOr<Integration> JwtMigrator::Migratable(const JwtMigrationRequest& request) {
  TB_ASSIGN_OR_RETURN(Integration stored, store_->Get(request.id));
  if (stored.auth_method != AuthMethod::kJwt) {
    return absl::FailedPreconditionError(
        absl::StrCat("integration '", request.id, "' ", AuthMethodText(stored.auth_method),
                     ": only a JWT integration can be migrated to OAuth Server-to-Server"));
  }
  if (!request.etag.empty() && request.etag != stored.etag) {
    return absl::AbortedError(absl::StrCat("integration '", request.id,
                                           "' was changed concurrently (etag mismatch): re-read "
                                           "it"));
  }
  return stored;
}

absl::StatusOr<AccessToken> JwtMigrator::Prove(const Integration& converted) {
  absl::StatusOr<AccessToken> token = exchanger_->Exchange(converted);
  if (token.ok()) return token;
  const std::string prefix = absl::StrCat(
      "migrating integration '", converted.id,
      "' to OAuth Server-to-Server: the test exchange at IMS failed, the integration is "
      "unchanged (still JWT): ");
  if (absl::IsUnavailable(token.status())) {
    return Explain(token.status(), prefix, "; try again when IMS answers");
  }
  return Explain(token.status(), prefix,
                 "; check that the credential has OAuth Server-to-Server in the Developer "
                 "Console, that the scopes are those it lists there (invalid_scope) and that "
                 "the client secret is its current one (invalid_client: pass it with "
                 "--client-secret-file)");
}

void JwtMigrator::AfterCommit(const std::string& id, const AccessToken& token) {
  // The write dropped the cached JWT token: hand the broker (and its
  // watchers) the S2S one, so callers switch without another exchange.
  if (absl::Status put = store_->PutToken(id, token); !put.ok()) {
    Log(LogLevel::kWarning, "migration: storing the OAuth S2S token failed",
        {{"integration", id}, {"error", std::string(put.message())}});
  }
  if (maintenance_ == nullptr) return;
  if (absl::Status scrubbed = maintenance_->ScrubFreedData(); !scrubbed.ok()) {
    Log(LogLevel::kWarning,
        "migration: scrubbing the dropped private key's ciphertext from the store's files "
        "failed (the next WAL checkpoint or VACUUM does it)",
        {{"integration", id}, {"error", std::string(scrubbed.message())}});
  }
}

absl::StatusOr<Integration> JwtMigrator::Migrate(const JwtMigrationRequest& request) {
  TB_ASSIGN_OR_RETURN(Integration stored, Migratable(request));
  Integration converted =
      ConvertToServerToServer(stored, request.scopes, request.client_secret, clock_->Now());
  if (request.validate) TB_RETURN_IF_ERROR(request.validate(converted));
  TB_ASSIGN_OR_RETURN(AccessToken token, Prove(converted));
  // With the etag read: a change since then (a key rotated, scopes
  // edited) is ABORTED, not overwritten.
  TB_ASSIGN_OR_RETURN(Integration migrated, store_->Update(converted, stored.etag));
  AfterCommit(migrated.id, token);
  Log(LogLevel::kInfo, "integration migrated from JWT to OAuth Server-to-Server",
      {{"integration", migrated.id},
       {"client_id", migrated.client_id},
       {"scopes", absl::StrJoin(migrated.scopes, ",")},
       {"client_secret", request.client_secret ? "given" : "kept"},
       {"token_expire_time", absl::FormatTime(token.expire_time)}});
  return migrated;
}

}  // namespace tokenbroker
