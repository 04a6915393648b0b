// The tokenbroker C++ SDK: a thin, retrying client of tokenbroker.v1's
// TokenService and IntegrationService. Most programs want a TokenSource
// (token_source.h) on top of it, which caches and follows rotations; Client
// is the one-call-one-RPC layer underneath.
//
//   ClientOptions options;
//   options.target = "127.0.0.1:50051";
//   options.plaintext = true;  // loopback sidecar
//   absl::StatusOr<std::shared_ptr<Client>> client = Client::New(options);
//   absl::StatusOr<AccessToken> token = (*client)->GetAccessToken("billing");
#ifndef TOKENBROKER_CLIENT_CLIENT_H_
#define TOKENBROKER_CLIENT_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbroker/client/options.h"
#include "tokenbroker/v1/integration_service.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace tokenbroker::client {

// An Adobe IMS access token.
struct AccessToken {
  // The bearer token. Secret: do not log it.
  std::string token;
  // `integrations/{integration_id}`.
  std::string integration;
  // When IMS issued it and when it stops being valid.
  absl::Time issue_time = absl::InfinitePast();
  absl::Time expire_time = absl::InfinitePast();
};

// One HTTP header for an Adobe API call.
struct Header {
  std::string name;   // e.g. `Authorization`
  std::string value;  // secret for `Authorization`
};

// The headers an Adobe API call needs: `Authorization`, `x-api-key`, and
// `x-gw-ims-org-id` / `x-sandbox-name` where the integration has them.
struct RequestHeaders {
  std::vector<Header> headers;
  // When the token in `Authorization` expires.
  absl::Time expire_time = absl::InfinitePast();
};

class TokenWatch;

// Calls TokenService and IntegrationService. Thread-safe: create one per process (per server) and
// share it; all calls multiplex over one gRPC channel. Methods block until
// the answer, the deadline, or the last retry.
//
// `integration` arguments take the id (`billing`) or the resource name
// (`integrations/billing`).
//
// Errors of every call (the server's, see token_service.proto):
//   INVALID_ARGUMENT    bad integration name or min_remaining_validity
//   NOT_FOUND           no such integration (reason INTEGRATION_NOT_FOUND)
//   FAILED_PRECONDITION IMS rejected the credentials (reason IMS_REJECTED,
//                       with ims_error and x_debug_id), or it is disabled
//   UNAVAILABLE         server unreachable, or IMS unreachable and no cached
//                       token good enough; retried per RetryPolicy first
//   DEADLINE_EXCEEDED   the call's timeout passed
//   UNAUTHENTICATED / PERMISSION_DENIED  the server refused the caller; also
//                       UNAUTHENTICATED when caller_token_file, read again
//                       after caller_token_reload, is unreadable or empty
//                       (the message names the file, never its content)
// GetError() (error.h) decodes the details.
class Client {
 public:
  // Validates `options`, reads the TLS and caller-token files, and creates
  // the channel. Does not connect: an unreachable server surfaces on the
  // first call. Errors: INVALID_ARGUMENT (inconsistent options, or a file
  // that cannot be read).
  static absl::StatusOr<std::shared_ptr<Client>> New(ClientOptions options);

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // A token valid for at least the minimum validity (CallOptions); from the
  // server's cache unless it must mint one.
  absl::StatusOr<AccessToken> GetAccessToken(absl::string_view integration,
                                             const CallOptions& call = {});

  // The ready-made Adobe API headers, in the server's stable order.
  absl::StatusOr<RequestHeaders> GetRequestHeaders(absl::string_view integration,
                                                   const CallOptions& call = {});

  // Has the server mint a new token now, whatever its cache holds.
  absl::StatusOr<AccessToken> RefreshAccessToken(absl::string_view integration,
                                                 const CallOptions& call = {});

  // Opens WatchAccessTokens: the current token, then each new one. Does not
  // block; errors (including an unreachable server) come from Next(). Not
  // retried: TokenSource reconnects with backoff.
  std::unique_ptr<TokenWatch> Watch(absl::string_view integration);

  // IntegrationService (integration_service.proto documents each call and
  // its errors), with the options, deadline and error details of the calls
  // above. Get, List, ListClientSecrets and RotateClientSecret (the server
  // resumes an interrupted rotation: a second call continues the same one)
  // are retried on UNAVAILABLE like the token calls; Create, Update, Delete,
  // Import and Migrate are made once, since an UNAVAILABLE may come after
  // the server acted (client/BEHAVIOUR.md §3).
  absl::StatusOr<v1::CreateIntegrationResponse> CreateIntegration(
      const v1::CreateIntegrationRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::GetIntegrationResponse> GetIntegration(
      const v1::GetIntegrationRequest& request, const CallOptions& call = {});
  // One page; next_page_token of the response asks for the next.
  absl::StatusOr<v1::ListIntegrationsResponse> ListIntegrations(
      const v1::ListIntegrationsRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::UpdateIntegrationResponse> UpdateIntegration(
      const v1::UpdateIntegrationRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::DeleteIntegrationResponse> DeleteIntegration(
      const v1::DeleteIntegrationRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::ImportIntegrationsResponse> ImportIntegrations(
      const v1::ImportIntegrationsRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::ListClientSecretsResponse> ListClientSecrets(
      const v1::ListClientSecretsRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::RotateClientSecretResponse> RotateClientSecret(
      const v1::RotateClientSecretRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::MigrateIntegrationResponse> MigrateIntegration(
      const v1::MigrateIntegrationRequest& request, const CallOptions& call = {});

  // For calls of a stub of your own: the channel, and a context set up like
  // the SDK's (caller token, deadline from `call` or call_timeout). Errors:
  // INVALID_ARGUMENT (null context, non-positive timeout), UNAUTHENTICATED
  // (the caller-token file cannot be read again).
  std::shared_ptr<grpc::Channel> channel() const;
  absl::Status PrepareContext(grpc::ClientContext* context, const CallOptions& call = {}) const;

  const ClientOptions& options() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An open WatchAccessTokens stream (Client::Watch). Next() is for one thread
// at a time; Cancel() may be called from any thread, also during Next().
class TokenWatch {
 public:
  virtual ~TokenWatch() = default;
  // Blocks until the next token. Once the stream has ended, returns its
  // final status from then on: NOT_FOUND when the integration was deleted,
  // CANCELLED after Cancel(), UNAVAILABLE when the connection broke (or
  // the server closed the stream), or any error of GetAccessToken.
  virtual absl::StatusOr<AccessToken> Next() = 0;
  // Ends the stream; a blocked Next() returns CANCELLED promptly.
  virtual void Cancel() = 0;
};

// `integrations/{id}` from an id or a resource name.
std::string IntegrationName(absl::string_view integration);

}  // namespace tokenbroker::client

#endif  // TOKENBROKER_CLIENT_CLIENT_H_
