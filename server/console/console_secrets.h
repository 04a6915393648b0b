// The Developer Console's client-secrets API (Adobe I/O Management API,
// "Rotating client secrets programmatically"; ../shared/IMS.md, "Credential
// lifecycle"): list, add and delete the secrets of one OAuth Server-to-Server
// credential. The rotation drives it; ConsoleSecrets is the seam its unit
// tests replace.
//
// Every call authenticates with a token minted by that same credential
// (scopes: adobeio_api, read_client_secret, manage_client_secrets, with the
// I/O Management API added to the project) and `x-api-key: <client_id>`.
#ifndef TOKENBROKER_SERVER_CONSOLE_CONSOLE_SECRETS_H_
#define TOKENBROKER_SERVER_CONSOLE_CONSOLE_SECRETS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/secret.h"
#include "server/http/http_transport.h"

namespace tokenbroker {

// The scopes a token needs for the secrets API, as Adobe lists them.
inline constexpr char kConsoleSecretsScopes[] =
    "AdobeID,openid,read_organizations,additional_info.projectedProductContext,"
    "additional_info.roles,adobeio_api,read_client_secret,manage_client_secrets";

// Which credential, as the Console numbers it.
struct ConsoleTarget {
  std::string org_id;         // the Console's numeric org id (`project.org.id`)
  std::string credential_id;  // `credentials[].id`
  std::string client_id;      // sent as x-api-key
};

// One secret as the Console lists it: never its value.
struct ConsoleSecret {
  std::string uuid;
  absl::Time created = absl::InfinitePast();
  // The latest token request that presented it; nullopt: never used.
  std::optional<absl::Time> last_used;
};

// A secret just added. Its value is returned once, here: persist it first.
struct AddedConsoleSecret {
  std::string uuid;
  absl::Time created = absl::InfinitePast();
  SecretString value;
};

// Errors of every call (ErrorInfo reason CONSOLE_REFUSED or
// CONSOLE_UNAVAILABLE, metadata http_status and Adobe's error_code):
// - FAILED_PRECONDITION, with what the operator must do: the token lacks the
//   scopes or the project the I/O Management API (403); the credential holds
//   2 secrets already (400 on add); a JWT -> S2S migration is in progress
//   (409); the Console refuses the token (401).
// - NOT_FOUND: no such credential or secret (404).
// - UNAVAILABLE: transport failures, 429 and 5xx (RetryInfo from Retry-After).
// - UNAVAILABLE with reason CONSOLE_BAD_RESPONSE: a 2xx the client cannot read.
// Messages never carry a secret or the token.
class ConsoleSecrets {
 public:
  virtual ~ConsoleSecrets() = default;
  virtual absl::StatusOr<std::vector<ConsoleSecret>> List(const ConsoleTarget& credential,
                                                          const SecretString& token) = 0;
  virtual absl::StatusOr<AddedConsoleSecret> Add(const ConsoleTarget& credential,
                                                 const SecretString& token) = 0;
  virtual absl::Status Delete(const ConsoleTarget& credential, const SecretString& token,
                              absl::string_view uuid) = 0;
};

// ConsoleSecrets over HTTPS at `base_url` (--console-api-url, default
// https://api.adobe.io). Thread-safe.
class HttpConsoleSecrets final : public ConsoleSecrets {
 public:
  HttpConsoleSecrets(std::shared_ptr<HttpTransport> transport, std::string base_url,
                     absl::Duration timeout);

  absl::StatusOr<std::vector<ConsoleSecret>> List(const ConsoleTarget& credential,
                                                  const SecretString& token) override;
  absl::StatusOr<AddedConsoleSecret> Add(const ConsoleTarget& credential,
                                         const SecretString& token) override;
  absl::Status Delete(const ConsoleTarget& credential, const SecretString& token,
                      absl::string_view uuid) override;

 private:
  absl::StatusOr<HttpResponse> Call(absl::string_view method, const ConsoleTarget& credential,
                                    const SecretString& token, absl::string_view suffix);

  const std::shared_ptr<HttpTransport> transport_;
  const std::string base_url_;
  const absl::Duration timeout_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_CONSOLE_CONSOLE_SECRETS_H_
