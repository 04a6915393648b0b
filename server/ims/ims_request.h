// Plumbing shared by the exchangers: form encoding and one logged POST to
// an IMS token endpoint. Internal to server/ims.
#ifndef TOKENBROKER_SERVER_IMS_IMS_REQUEST_H_
#define TOKENBROKER_SERVER_IMS_IMS_REQUEST_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/secret.h"
#include "server/http/http_transport.h"
#include "server/ims/ims_response.h"
#include "server/model/integration.h"

namespace tokenbroker::internal {

// Percent-encodes everything but RFC 3986 unreserved characters
// (application/x-www-form-urlencoded as IMS accepts it).
std::string UrlEncode(absl::string_view value);

// `name=value&...`, each part UrlEncode()d. The result holds secrets.
SecretString FormEncode(const std::vector<std::pair<absl::string_view, absl::string_view>>& fields);

struct ImsPost {
  std::string url;
  SecretString form_body;
  absl::Duration timeout;
  ExpiresInUnit unit = ExpiresInUnit::kSeconds;
  absl::string_view flow;  // for logs: "oauth_s2s" or "jwt"
  int secret_index = 0;    // for logs: which client secret was used
};

// POSTs `post` with urlencoded content type, turns the answer into a token
// or a Status (ParseImsTokenResponse / ImsTransportError), and logs one line
// with the integration id, HTTP status, x-debug-id and latency (never the
// body). Thread-safe if `transport` is.
absl::StatusOr<AccessToken> PostTokenRequest(HttpTransport& transport, const Clock& clock,
                                             const Integration& integration, const ImsPost& post);

// The integration's non-empty client secrets, in order (at most two are
// meaningful; IMS rotates by holding two).
std::vector<const SecretString*> ClientSecrets(const Integration& integration);

// Tries `attempt` with each client secret (at most two) in order, moving on
// only when IMS answers invalid_client: how IMS rotates secrets without
// downtime. Logs a warning when only the second secret works.
absl::StatusOr<AccessToken> WithSecretFallback(
    const Integration& integration, const std::vector<const SecretString*>& secrets,
    const std::function<absl::StatusOr<AccessToken>(const SecretString& secret, int index)>&
        attempt);

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_IMS_IMS_REQUEST_H_
