#ifndef TOKENBROKER_SERVER_HTTP_HTTP_TRANSPORT_H_
#define TOKENBROKER_SERVER_HTTP_HTTP_TRANSPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/secret.h"

namespace tokenbroker {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // The body; it carries client secrets and JWTs, hence SecretString.
  SecretString body;
  // Whole-request timeout; zero means the transport's default.
  absl::Duration timeout = absl::ZeroDuration();
};

struct HttpResponse {
  int status_code = 0;
  // Header names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  // May carry an access token: never log it.
  SecretString body;

  // The first header named `name` (case-insensitive), or "".
  std::string Header(absl::string_view name) const;
};

// Sends one HTTP request and returns the response.
//
// An HTTP status of 4xx or 5xx is a *successful* transport result: turning
// it into a Status is the caller's job, in one place (server/ims).
// Errors: UNAVAILABLE (DNS, connect, TLS handshake, timeout, reset: the
// message names which), INVALID_ARGUMENT (malformed URL), FAILED_PRECONDITION
// (an http:// URL while insecure HTTP is not allowed). Messages never carry
// the request body.
// Thread-safe; blocks until the response or the timeout.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_HTTP_HTTP_TRANSPORT_H_
