// How a tokenbroker::client::Client reaches the server: address, transport
// security, the caller's own credential, deadlines and retries.
#ifndef TOKENBROKER_CLIENT_OPTIONS_H_
#define TOKENBROKER_CLIENT_OPTIONS_H_

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace tokenbroker::client {

// Retries of calls that fail with UNAVAILABLE (server unreachable, or IMS
// unreachable and no cached token good enough). No other code is retried:
// the rest are answers, not outages. Waits grow exponentially with jitter
// (each wait is drawn uniformly from [b/2, b] for the nominal backoff b) and
// never exceed `max_backoff`; a server-sent google.rpc.RetryInfo delay is
// honoured when it is longer. The call's deadline bounds everything: no
// retry starts that could not finish before it.
struct RetryPolicy {
  // Attempts in all, the first included. 1 disables retries. At least 1.
  int max_attempts = 4;
  // The nominal wait before the second attempt. Positive.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  // The longest wait between two attempts. At least `initial_backoff`.
  absl::Duration max_backoff = absl::Seconds(2);
  // Growth of the nominal wait per attempt. At least 1.
  double multiplier = 2.0;
};

// Everything Client::New needs. The defaults reach a server listening with
// TLS on 127.0.0.1:50051 and verified against the system roots; a sidecar
// on loopback without TLS needs `plaintext = true`.
struct ClientOptions {
  // Required. `host:port`, or any gRPC target URI (`dns:///broker:50051`,
  // `unix:///run/tokenbroker.sock`).
  std::string target = "127.0.0.1:50051";

  // No transport security. Only for loopback or a Unix socket: the tokens
  // (and `caller_token`) then cross the wire in clear.
  bool plaintext = false;
  // TLS: PEM roots to verify the server with. Empty: the system roots.
  std::string ca_file;
  // Mutual TLS: the client's PEM certificate chain and private key. Both or
  // neither.
  std::string cert_file;
  std::string key_file;
  // TLS: the name the server certificate must carry, when it differs from
  // the target's host (e.g. connecting by IP to a cert issued for a name).
  std::string tls_server_name;

  // The caller's own credential, sent on every call as
  // `authorization: Bearer <token>` metadata. At most one of the two. A
  // file (e.g. a projected Kubernetes service-account token) is re-read
  // when it is older than `caller_token_reload`, so it may be rotated.
  std::string caller_token;
  std::string caller_token_file;
  absl::Duration caller_token_reload = absl::Seconds(5);

  // Deadline of each call, retries included, unless CallOptions::timeout
  // says otherwise. Positive; absl::InfiniteDuration() for none.
  absl::Duration call_timeout = absl::Seconds(10);

  // Retries of UNAVAILABLE.
  RetryPolicy retry;

  // Appended to gRPC's user agent, e.g. "billing-service/1.2".
  std::string user_agent;
};

// Per-call overrides.
struct CallOptions {
  // Overrides ClientOptions::call_timeout for this call.
  std::optional<absl::Duration> timeout;
  // GetAccessToken / GetRequestHeaders: the returned token stays valid at
  // least this long (at most 12 h). Unset: the server's `--min-validity`
  // (60 s by default, capped at 10 % of the token's lifetime).
  std::optional<absl::Duration> min_remaining_validity;
};

}  // namespace tokenbroker::client

#endif  // TOKENBROKER_CLIENT_OPTIONS_H_
