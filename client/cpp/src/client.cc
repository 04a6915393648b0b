#include "tokenbroker/client/client.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "internal/caller_token.h"
#include "internal/convert.h"
#include "internal/grpc_status.h"
#include "internal/retry.h"
#include "internal/status_macros.h"
#include "tokenbroker/v1/integration_service.grpc.pb.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

namespace tokenbroker::client {
namespace {

constexpr char kNamePrefix[] = "integrations/";

absl::Status ValidateOptions(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("target must not be empty");
  bool tls_files = !options.ca_file.empty() || !options.cert_file.empty() ||
                   !options.key_file.empty() || !options.tls_server_name.empty();
  if (options.plaintext && tls_files) {
    return absl::InvalidArgumentError(
        "plaintext excludes ca_file, cert_file, key_file and tls_server_name");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("cert_file and key_file go together (mutual TLS)");
  }
  if (!options.caller_token.empty() && !options.caller_token_file.empty()) {
    return absl::InvalidArgumentError("set caller_token or caller_token_file, not both");
  }
  if (options.caller_token_reload < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("caller_token_reload must not be negative");
  }
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("call_timeout must be positive");
  }
  return internal::ValidateRetryPolicy(options.retry);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ClientOptions& options) {
  if (options.plaintext) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    TBC_ASSIGN_OR_RETURN(ssl.pem_root_certs, internal::ReadSmallFile(options.ca_file, "ca_file"));
  }
  if (!options.cert_file.empty()) {
    TBC_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                         internal::ReadSmallFile(options.cert_file, "cert_file"));
    TBC_ASSIGN_OR_RETURN(ssl.pem_private_key,
                         internal::ReadSmallFile(options.key_file, "key_file"));
  }
  return grpc::SslCredentials(ssl);
}

// A WatchAccessTokens stream. The call starts on the first Next(), so that
// Client::Watch never blocks; TryCancel before the start cancels it then.
class GrpcTokenWatch final : public TokenWatch {
 public:
  GrpcTokenWatch(v1::TokenService::Stub* stub, std::string name) : stub_(stub) {
    request_.set_name(std::move(name));
  }

  ~GrpcTokenWatch() override {
    if (reader_ != nullptr && !done_) {
      context_.TryCancel();
      reader_->Finish();  // the status is of no interest now
    }
  }

  absl::StatusOr<AccessToken> Next() override {
    if (done_) return final_;
    if (reader_ == nullptr) reader_ = stub_->WatchAccessTokens(&context_, request_);
    v1::WatchAccessTokensResponse response;
    if (reader_->Read(&response)) return internal::FromProto(response.token());
    grpc::Status status = reader_->Finish();
    return End(status.ok() ? absl::UnavailableError("the server ended the watch")
                           : internal::FromGrpcStatus(status));
  }

  void Cancel() override { context_.TryCancel(); }

  grpc::ClientContext* context() { return &context_; }
  // Ends the watch before it starts with `status`, unless it is OK.
  void Fail(absl::Status status) {
    if (!status.ok()) End(std::move(status)).IgnoreError();  // kept as final_
  }

 private:
  absl::Status End(absl::Status status) {
    done_ = true;
    final_ = std::move(status);
    return final_;
  }

  v1::TokenService::Stub* const stub_;
  v1::WatchAccessTokensRequest request_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchAccessTokensResponse>> reader_;
  bool done_ = false;
  absl::Status final_;
};

}  // namespace

std::string IntegrationName(absl::string_view integration) {
  if (absl::StartsWith(integration, kNamePrefix)) return std::string(integration);
  return absl::StrCat(kNamePrefix, integration);
}

struct Client::Impl {
  ClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::TokenService::Stub> stub;
  std::unique_ptr<v1::IntegrationService::Stub> integration_stub;
  std::unique_ptr<internal::CallerToken> caller_token;  // null: none

  absl::Time DeadlineOf(const CallOptions& call) const {
    absl::Duration timeout = call.timeout.value_or(options.call_timeout);
    if (timeout == absl::InfiniteDuration()) return absl::InfiniteFuture();
    return absl::Now() + timeout;
  }

  // The deadline and the caller token. Errors: UNAUTHENTICATED (the
  // caller-token file cannot be read again).
  absl::Status Prepare(grpc::ClientContext* context, absl::Time deadline) const {
    if (deadline != absl::InfiniteFuture()) context->set_deadline(absl::ToChronoTime(deadline));
    if (caller_token == nullptr) return absl::OkStatus();
    TBC_ASSIGN_OR_RETURN(std::string authorization, caller_token->AuthorizationValue());
    context->AddMetadata("authorization", authorization);
    return absl::OkStatus();
  }

  // Runs one unary RPC of `stub`, with the retry policy when `retry`.
  // `response` holds the last attempt's answer.
  template <typename Stub, typename Request, typename Response>
  absl::Status Invoke(Stub* stub,
                      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                      const Request& request, Response* response, const CallOptions& call,
                      bool retry = true) {
    if (call.timeout.has_value() && *call.timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("CallOptions.timeout must be positive");
    }
    const absl::Time deadline = DeadlineOf(call);
    const int max_attempts = retry ? options.retry.max_attempts : 1;
    absl::Status previous;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext context;
      TBC_RETURN_IF_ERROR(Prepare(&context, deadline));
      response->Clear();
      absl::Status status = internal::FromGrpcStatus((stub->*method)(&context, request, response));
      if (attempt > 1 && status.code() == absl::StatusCode::kDeadlineExceeded &&
          absl::Now() >= deadline) {
        return previous;  // the deadline ended the retry: the server's UNAVAILABLE says more
      }
      previous = status;
      if (status.ok() || status.code() != absl::StatusCode::kUnavailable ||
          attempt >= max_attempts || !WaitToRetry(status, attempt, deadline)) {
        return status;
      }
    }
  }

  // Sleeps before attempt `attempt + 1` after an UNAVAILABLE `status`: the
  // jittered backoff, or the server's RetryInfo delay when longer. false
  // (and no sleep) when the retry could not start before `deadline`: it
  // would only turn a meaningful UNAVAILABLE into DEADLINE_EXCEEDED.
  bool WaitToRetry(const absl::Status& status, int attempt, absl::Time deadline) const {
    absl::Duration wait =
        internal::JitteredBackoff(options.retry, attempt, internal::UniformRandom());
    std::optional<absl::Duration> asked = internal::RetryDelay(status);
    if (asked.has_value() && *asked > wait) wait = *asked;
    if (absl::Now() + wait >= deadline) return false;
    absl::SleepFor(wait);
    return true;
  }

  // An IntegrationService call: the response, or the call's error.
  template <typename Request, typename Response>
  absl::StatusOr<Response> CallIntegrations(grpc::Status (v1::IntegrationService::Stub::*method)(
                                                grpc::ClientContext*, const Request&, Response*),
                                            const Request& request, const CallOptions& call,
                                            bool retry) {
    Response response;
    TBC_RETURN_IF_ERROR(Invoke(integration_stub.get(), method, request, &response, call, retry));
    return response;
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

absl::StatusOr<std::shared_ptr<Client>> Client::New(ClientOptions options) {
  TBC_RETURN_IF_ERROR(ValidateOptions(options));
  auto impl = std::make_unique<Impl>();
  if (!options.caller_token.empty()) {
    TBC_ASSIGN_OR_RETURN(impl->caller_token,
                         internal::CallerToken::FromString(options.caller_token));
  } else if (!options.caller_token_file.empty()) {
    TBC_ASSIGN_OR_RETURN(
        impl->caller_token,
        internal::CallerToken::FromFile(options.caller_token_file, options.caller_token_reload));
  }
  TBC_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials, Credentials(options));
  grpc::ChannelArguments args;
  args.SetUserAgentPrefix(options.user_agent.empty()
                              ? std::string("tokenbroker-cpp")
                              : absl::StrCat(options.user_agent, " tokenbroker-cpp"));
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  impl->channel = grpc::CreateCustomChannel(options.target, credentials, args);
  impl->stub = v1::TokenService::NewStub(impl->channel);
  impl->integration_stub = v1::IntegrationService::NewStub(impl->channel);
  impl->options = std::move(options);
  return std::shared_ptr<Client>(new Client(std::move(impl)));
}

absl::StatusOr<AccessToken> Client::GetAccessToken(absl::string_view integration,
                                                   const CallOptions& call) {
  v1::GetAccessTokenRequest request;
  request.set_name(IntegrationName(integration));
  if (call.min_remaining_validity.has_value()) {
    internal::ToProto(*call.min_remaining_validity, request.mutable_min_remaining_validity());
  }
  v1::GetAccessTokenResponse response;
  TBC_RETURN_IF_ERROR(impl_->Invoke(impl_->stub.get(), &v1::TokenService::Stub::GetAccessToken,
                                    request, &response, call));
  return internal::FromProto(response.token());
}

absl::StatusOr<RequestHeaders> Client::GetRequestHeaders(absl::string_view integration,
                                                         const CallOptions& call) {
  v1::GetRequestHeadersRequest request;
  request.set_name(IntegrationName(integration));
  if (call.min_remaining_validity.has_value()) {
    internal::ToProto(*call.min_remaining_validity, request.mutable_min_remaining_validity());
  }
  v1::GetRequestHeadersResponse response;
  TBC_RETURN_IF_ERROR(impl_->Invoke(impl_->stub.get(), &v1::TokenService::Stub::GetRequestHeaders,
                                    request, &response, call));
  return internal::FromProto(response);
}

absl::StatusOr<AccessToken> Client::RefreshAccessToken(absl::string_view integration,
                                                       const CallOptions& call) {
  v1::RefreshAccessTokenRequest request;
  request.set_name(IntegrationName(integration));
  v1::RefreshAccessTokenResponse response;
  TBC_RETURN_IF_ERROR(impl_->Invoke(impl_->stub.get(), &v1::TokenService::Stub::RefreshAccessToken,
                                    request, &response, call));
  return internal::FromProto(response.token());
}

// --- IntegrationService -------------------------------------------------------
// Reads are retried on UNAVAILABLE; changes are made once (client.h).

absl::StatusOr<v1::CreateIntegrationResponse> Client::CreateIntegration(
    const v1::CreateIntegrationRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::CreateIntegration, request, call,
                                 /*retry=*/false);
}

absl::StatusOr<v1::GetIntegrationResponse> Client::GetIntegration(
    const v1::GetIntegrationRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::GetIntegration, request, call,
                                 /*retry=*/true);
}

absl::StatusOr<v1::ListIntegrationsResponse> Client::ListIntegrations(
    const v1::ListIntegrationsRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::ListIntegrations, request, call,
                                 /*retry=*/true);
}

absl::StatusOr<v1::UpdateIntegrationResponse> Client::UpdateIntegration(
    const v1::UpdateIntegrationRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::UpdateIntegration, request, call,
                                 /*retry=*/false);
}

absl::StatusOr<v1::DeleteIntegrationResponse> Client::DeleteIntegration(
    const v1::DeleteIntegrationRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::DeleteIntegration, request, call,
                                 /*retry=*/false);
}

absl::StatusOr<v1::ImportIntegrationsResponse> Client::ImportIntegrations(
    const v1::ImportIntegrationsRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::ImportIntegrations, request, call,
                                 /*retry=*/false);
}

absl::StatusOr<v1::ListClientSecretsResponse> Client::ListClientSecrets(
    const v1::ListClientSecretsRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::ListClientSecrets, request, call,
                                 /*retry=*/true);
}

absl::StatusOr<v1::RotateClientSecretResponse> Client::RotateClientSecret(
    const v1::RotateClientSecretRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::RotateClientSecret, request, call,
                                 /*retry=*/true);
}

absl::StatusOr<v1::MigrateIntegrationResponse> Client::MigrateIntegration(
    const v1::MigrateIntegrationRequest& request, const CallOptions& call) {
  return impl_->CallIntegrations(&v1::IntegrationService::Stub::MigrateIntegration, request, call,
                                 /*retry=*/false);
}

std::unique_ptr<TokenWatch> Client::Watch(absl::string_view integration) {
  auto watch = std::make_unique<GrpcTokenWatch>(impl_->stub.get(), IntegrationName(integration));
  watch->Fail(impl_->Prepare(watch->context(), absl::InfiniteFuture()));
  return watch;
}

std::shared_ptr<grpc::Channel> Client::channel() const { return impl_->channel; }

absl::Status Client::PrepareContext(grpc::ClientContext* context, const CallOptions& call) const {
  if (context == nullptr) return absl::InvalidArgumentError("context must not be null");
  if (call.timeout.has_value() && *call.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("CallOptions.timeout must be positive");
  }
  return impl_->Prepare(context, impl_->DeadlineOf(call));
}

const ClientOptions& Client::options() const { return impl_->options; }

}  // namespace tokenbroker::client
