// The local HTTP token endpoint (--http-listen, issue 13): tokens for
// callers without a gRPC stack (shell scripts, curl, languages without an
// SDK), with the gRPC port's authentication, policy, audit and drain.
//
//   GET /v1/integrations/{id}/token[?min_validity=5m]
//     200 {"access_token": "...", "token_type": "Bearer",
//          "expire_time": "2026-12-04T20:35:55Z"}
//   GET /v1/integrations/{id}/headers[?min_validity=5m]
//     200 {"headers": {"Authorization": "Bearer ...", "x-api-key": "...", ...},
//          "expire_time": "..."}
//     `headers` is exactly AdobeHeaders() (GetRequestHeaders' headers, in
//     its order); expire_time sits beside it, as in GetRequestHeadersResponse,
//     so the object holds only headers and can be sent as is.
//
// Every request must carry `Tokenbroker-Request: true`, else 403: a browser
// cannot add a custom header to a cross-site request without a CORS
// preflight (which this endpoint never grants), and neither can a URL an
// attacker gets fetched (SSRF through a link, an image, a redirect). The
// caller then authenticates as on the gRPC port: a verified client
// certificate (mutual TLS) or `Authorization: Bearer <caller token>`; the
// policy must let it read the integration's tokens (RpcScope::Admit).
// `min_validity` has the gRPC min_remaining_validity's rules (0..12h).
// Every call writes one audit line (method kHttpTokenMethod or
// kHttpHeadersMethod) and counts in the metrics; while draining, calls are
// refused 503 like gRPC's UNAVAILABLE.
//
// Errors: the JSON body of server/edge/http_status.h, status by
// HttpStatusFor: 400 (bad id or min_validity), 401, 403 (no
// Tokenbroker-Request header, or the policy), 404 (unknown integration or
// path), 405 (any method but GET on a route, with Allow: GET), 413 (a body
// over max_request_bytes), 429, 503 with Retry-After (IMS unavailable, the
// drain), 504. Every response has Cache-Control: no-store.
//
// Secrets: a token body is kept in a SecretString handed to httplib as a
// content provider and wiped once written; the JSON values it was built
// from are wiped too. Nothing of a response is logged.
//
// Design note: cpp-httplib (Debian's 0.11.4) serves one connection per
// pool thread for the connection's life (keep-alive included), so
// `threads` bounds the concurrent connections; more wait in its queue.
// Idle connections are closed after 5 s, and after 1000 requests. httplib
// bounds the request line and each header line (8 KiB) but not the number
// of header lines: keep the endpoint on loopback or behind authentication
// (which server.cc enforces) and a proxy if untrusted networks reach it.
// The handler blocks its thread while the broker mints (only a first mint
// or an expired token waits; cached tokens are answered inline).
//
// Thread-safety: Start/Stop from one thread; requests are served on the
// pool's threads.
#ifndef TOKENBROKER_SERVER_EDGE_HTTP_TOKEN_ENDPOINT_H_
#define TOKENBROKER_SERVER_EDGE_HTTP_TOKEN_ENDPOINT_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/api/call_guard.h"
#include "server/broker/token_broker.h"
#include "server/common/clock.h"
#include "server/edge/reloading_tls.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace tokenbroker {

struct HttpEndpointOptions {
  // host:port ("127.0.0.1:8080", "[::1]:0"); port 0 picks a free port.
  std::string listen;
  // HTTPS with these PEM files (both or neither), re-read when they change
  // (checked at most once per `tls_reload_interval`, on a handshake; see
  // server/edge/reloading_tls.h), as the gRPC ports re-read theirs.
  std::string tls_cert;
  std::string tls_key;
  // Verifies client certificates against this CA bundle (needs TLS); a
  // certificate is then required unless `client_certificate_optional`
  // (a policy with caller tokens lets callers use a token instead).
  std::string client_ca_file;
  bool client_certificate_optional = false;
  absl::Duration tls_reload_interval = absl::Seconds(10);
  const Clock* clock = SystemClock::Get();
  // Connections served at once (see the design note).
  int threads = 16;
  // Largest request body accepted (a GET needs none); more is 413.
  size_t max_request_bytes = 1024;
};

class HttpTokenEndpoint {
 public:
  // Binds and starts serving on a thread of its own. `broker` and `api`
  // must outlive the endpoint. Errors: INVALID_ARGUMENT (bad listen
  // address, TLS files that do not load or match), UNAVAILABLE (cannot bind).
  static absl::StatusOr<std::unique_ptr<HttpTokenEndpoint>> Start(
      const HttpEndpointOptions& options, TokenBroker* broker, const ApiContext* api);
  ~HttpTokenEndpoint();
  HttpTokenEndpoint(const HttpTokenEndpoint&) = delete;
  HttpTokenEndpoint& operator=(const HttpTokenEndpoint&) = delete;

  int port() const { return port_; }
  // Stops accepting, ends idle keep-alive connections and joins the
  // threads once running requests are answered. Idempotent.
  void Stop();

 private:
  HttpTokenEndpoint(TokenBroker* broker, const ApiContext* api);
  void AddRoutes();
  void Serve(const httplib::Request& request, httplib::Response& response);
  absl::StatusOr<SnapshotPtr> Fetch(RpcScope& scope, const httplib::Request& request);
  absl::StatusOr<SnapshotPtr> GetTokenBlocking(const std::string& id,
                                               std::optional<absl::Duration> min_validity);

  TokenBroker* const broker_;
  const ApiContext* const api_;
  bool verify_clients_ = false;
  std::unique_ptr<ReloadingTls> tls_;  // null without TLS; outlives http_'s connections
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_EDGE_HTTP_TOKEN_ENDPOINT_H_
