#include "client/tokenctl/tokenctl.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/tokenctl/channel.h"
#include "client/tokenctl/flags.h"
#include "client/tokenctl/output.h"
#include "client/tokenctl/secrets.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "nlohmann/json.hpp"
#include "server/audit/audit_log.h"
#include "server/common/secret.h"
#include "tokenbroker/v1/integration_service.grpc.pb.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

#ifndef TOKENCTL_VERSION
#define TOKENCTL_VERSION "unknown"
#endif

namespace tokenbroker::tokenctl {
namespace {

// A flag's value, else the environment variable's, else "".
std::string FlagOrEnv(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(env);
  return value != nullptr ? value : "";
}

// One invocation: the parsed command line, the global options, the streams
// and the channel, created on first use.
class Invocation {
 public:
  Invocation(CommandLine command_line, std::vector<std::string> operands, std::istream& in,
             std::ostream& out, std::ostream& err)
      : command_line_(std::move(command_line)),
        operands_(std::move(operands)),
        in_(in),
        out_(out),
        err_(err) {}

  bool Has(const std::string& flag) const { return command_line_.Has(flag); }
  const std::string& id() const { return operands_.front(); }
  std::string name() const { return absl::StrCat("integrations/", id()); }
  bool json() const { return absl::GetFlag(FLAGS_json); }
  std::istream& in() { return in_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // Prints `tokenctl: <message>` and a pointer to the help; returns 2.
  int UsageError(absl::string_view message) {
    err_ << "tokenctl: " << message << "\nRun 'tokenctl help' for usage.\n";
    return kExitUsage;
  }
  int UsageError(const absl::Status& status) { return UsageError(status.message()); }

  // Prints the RPC's error and its details; returns 1.
  int RpcError(const grpc::Status& status) {
    err_ << FormatRpcError(status);
    return kExitRpcError;
  }

  // The channel to the server, created on first use (so that `token watch`
  // can block signals before gRPC starts its threads).
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel() {
    if (channel_ == nullptr) {
      ChannelOptions options;
      options.server = ResolveServer(absl::GetFlag(FLAGS_server));
      options.ca_file = FlagOrEnv(absl::GetFlag(FLAGS_ca_file), "TOKENBROKER_CA_FILE");
      options.cert_file = FlagOrEnv(absl::GetFlag(FLAGS_cert), "TOKENBROKER_CERT");
      options.key_file = FlagOrEnv(absl::GetFlag(FLAGS_key), "TOKENBROKER_KEY");
      absl::StatusOr<std::string> token =
          ReadCallerToken(FlagOrEnv(absl::GetFlag(FLAGS_token_file), "TOKENBROKER_TOKEN_FILE"));
      if (!token.ok()) return token.status();
      caller_token_ = *std::move(token);
      absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateChannel(options);
      if (!channel.ok()) return channel.status();
      channel_ = *std::move(channel);
    }
    return channel_;
  }

  // Per-call settings shared by every unary RPC: the deadline and the
  // caller token.
  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(std::chrono::system_clock::now() +
                          absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_timeout)));
    AddCallerToken(context);
  }
  void AddCallerToken(grpc::ClientContext* context) const {
    if (!caller_token_.empty()) context->AddMetadata("authorization", "Bearer " + caller_token_);
  }

 private:
  CommandLine command_line_;
  std::vector<std::string> operands_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string caller_token_;
};

void PrintJson(std::ostream& out, const nlohmann::ordered_json& json, int indent = 2) {
  out << json.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

// Overwrites the secrets in a request before it is freed.
void WipeCredentials(v1::Credentials* credentials) {
  for (std::string& secret : *credentials->mutable_client_secrets()) {
    OPENSSL_cleanse(secret.data(), secret.size());
  }
  std::string* key = credentials->mutable_private_key_pem();
  OPENSSL_cleanse(key->data(), key->size());
}

// Reads --client-secret-file and --private-key-file, where given, into
// `credentials`. Errors: INVALID_ARGUMENT (see secrets.h).
absl::Status ReadCredentials(Invocation& inv, v1::Credentials* credentials) {
  std::string secret_file = absl::GetFlag(FLAGS_client_secret_file);
  std::string key_file = absl::GetFlag(FLAGS_private_key_file);
  if (inv.Has("client-secret-file") && inv.Has("private-key-file") && secret_file == "-" &&
      key_file == "-") {
    return absl::InvalidArgumentError(
        "--client-secret-file and --private-key-file cannot both read stdin (-)");
  }
  if (inv.Has("client-secret-file")) {
    absl::StatusOr<std::vector<SecretString>> secrets = ReadClientSecrets(secret_file, inv.in());
    if (!secrets.ok()) return secrets.status();
    for (const SecretString& secret : *secrets) {
      credentials->add_client_secrets(std::string(secret.value()));
    }
  }
  if (inv.Has("private-key-file")) {
    absl::StatusOr<SecretString> key = ReadPrivateKey(key_file, inv.in());
    if (!key.ok()) return key.status();
    credentials->set_private_key_pem(std::string(key->value()));
  }
  return absl::OkStatus();
}

std::optional<v1::AuthMethod> ParseAuthMethod(const std::string& text) {
  if (text == "oauth-s2s") return v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER;
  if (text == "jwt") return v1::AUTH_METHOD_JWT;
  return std::nullopt;
}

std::optional<v1::Integration::State> ParseState(const std::string& text) {
  if (text == "active") return v1::Integration::STATE_ACTIVE;
  if (text == "disabled") return v1::Integration::STATE_DISABLED;
  return std::nullopt;
}

// INVALID_ARGUMENT naming every flag of `flags` that was not given.
absl::Status RequireFlags(const Invocation& inv, const std::vector<std::string>& flags,
                          absl::string_view context) {
  std::vector<std::string> missing;
  for (const std::string& flag : flags) {
    if (!inv.Has(flag)) missing.push_back(absl::StrCat("--", flag));
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("missing required flag",
                                                 missing.size() > 1 ? "s " : " ",
                                                 absl::StrJoin(missing, ", "), " for ", context));
}

// INVALID_ARGUMENT if any of `flags` was given.
absl::Status RejectFlags(const Invocation& inv, const std::vector<std::string>& flags,
                         absl::string_view context) {
  for (const std::string& flag : flags) {
    if (inv.Has(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", flag, " does not apply to ", context));
    }
  }
  return absl::OkStatus();
}

std::optional<google::protobuf::Duration> MinValidity(const Invocation& inv) {
  if (!inv.Has("min-validity")) return std::nullopt;
  absl::Duration validity = absl::GetFlag(FLAGS_min_validity);
  google::protobuf::Duration duration;
  int64_t nanos = absl::ToInt64Nanoseconds(validity);
  duration.set_seconds(nanos / 1000000000);
  duration.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return duration;
}

void PrintIntegration(Invocation& inv, const v1::Integration& integration) {
  if (inv.json()) {
    PrintJson(inv.out(), IntegrationToJson(integration));
  } else {
    inv.out() << FormatIntegration(integration);
  }
}

// Prints when `token` arrived, when it expires and its fingerprint, but not
// the token itself (unless --show-token).
void PrintTokenSummary(Invocation& inv, const v1::AccessToken& token) {
  absl::Time now = absl::Now();
  bool show = absl::GetFlag(FLAGS_show_token);
  std::string fingerprint = Fingerprint(token.access_token());
  if (inv.json()) {
    nlohmann::ordered_json json = {{"time", Rfc3339(now)},
                                   {"integration", token.integration()},
                                   {"expire_time", Rfc3339(token.expire_time())},
                                   {"fingerprint", fingerprint}};
    if (show) json["access_token"] = token.access_token();
    PrintJson(inv.out(), json, -1);
  } else {
    std::string line = absl::StrCat(Rfc3339(absl::FromUnixSeconds(absl::ToUnixSeconds(now))),
                                    " expire_time=", Rfc3339Seconds(token.expire_time()),
                                    " fingerprint=", fingerprint);
    if (show) absl::StrAppend(&line, " access_token=", token.access_token());
    inv.out() << line << "\n";
  }
  inv.out().flush();
}

template <typename Service>
absl::StatusOr<std::unique_ptr<typename Service::Stub>> NewStub(Invocation& inv) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = inv.Channel();
  if (!channel.ok()) return channel.status();
  return Service::NewStub(*channel);
}

// ---------------------------------------------------------------------------
// integrations

int IntegrationsCreate(Invocation& inv) {
  std::string context = "'integrations create'";
  if (absl::Status s = RequireFlags(inv, {"auth"}, context); !s.ok()) {
    return inv.UsageError(absl::StrCat(s.message(), " (oauth-s2s or jwt)"));
  }
  std::optional<v1::AuthMethod> method = ParseAuthMethod(absl::GetFlag(FLAGS_auth));
  if (!method) {
    return inv.UsageError(absl::StrCat("invalid --auth \"", absl::GetFlag(FLAGS_auth),
                                       "\": expected oauth-s2s or jwt"));
  }
  absl::Status flags_ok;
  if (*method == v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER) {
    context = "'integrations create --auth=oauth-s2s'";
    flags_ok = RequireFlags(inv, {"client-id", "client-secret-file", "org-id", "scopes"}, context);
    if (flags_ok.ok()) flags_ok = RejectFlags(inv, {"private-key-file", "metascopes"}, context);
  } else {
    context = "'integrations create --auth=jwt'";
    flags_ok = RequireFlags(inv,
                            {"client-id", "client-secret-file", "org-id", "technical-account-id",
                             "private-key-file", "metascopes"},
                            context);
    if (flags_ok.ok()) flags_ok = RejectFlags(inv, {"scopes"}, context);
  }
  if (!flags_ok.ok()) return inv.UsageError(flags_ok);

  v1::CreateIntegrationRequest request;
  request.set_integration_id(inv.id());
  v1::Integration* integration = request.mutable_integration();
  integration->set_auth_method(*method);
  integration->set_client_id(absl::GetFlag(FLAGS_client_id));
  integration->set_org_id(absl::GetFlag(FLAGS_org_id));
  integration->set_technical_account_id(absl::GetFlag(FLAGS_technical_account_id));
  for (const std::string& scope : absl::GetFlag(FLAGS_scopes)) integration->add_scopes(scope);
  for (const std::string& scope : absl::GetFlag(FLAGS_metascopes)) {
    integration->add_metascopes(scope);
  }
  integration->set_ims_url(absl::GetFlag(FLAGS_ims_url));
  integration->set_sandbox_name(absl::GetFlag(FLAGS_sandbox));
  integration->set_include_org_header(absl::GetFlag(FLAGS_org_header));
  integration->set_display_name(absl::GetFlag(FLAGS_display_name));
  if (absl::Status s = ReadCredentials(inv, integration->mutable_credentials()); !s.ok()) {
    return inv.UsageError(s);
  }

  auto stub = NewStub<v1::IntegrationService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  v1::CreateIntegrationResponse response;
  grpc::Status status = (*stub)->CreateIntegration(&rpc, request, &response);
  WipeCredentials(integration->mutable_credentials());
  if (!status.ok()) return inv.RpcError(status);
  PrintIntegration(inv, response.integration());
  return kExitOk;
}

int IntegrationsList(Invocation& inv) {
  if (absl::GetFlag(FLAGS_page_size) < 0) return inv.UsageError("--page-size must not be negative");
  auto stub = NewStub<v1::IntegrationService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  std::vector<v1::Integration> integrations;
  v1::ListIntegrationsRequest request;
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  do {
    grpc::ClientContext rpc;
    inv.Prepare(&rpc);
    v1::ListIntegrationsResponse response;
    grpc::Status status = (*stub)->ListIntegrations(&rpc, request, &response);
    if (!status.ok()) return inv.RpcError(status);
    for (v1::Integration& integration : *response.mutable_integrations()) {
      integrations.push_back(std::move(integration));
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());

  if (inv.json()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const v1::Integration& integration : integrations) {
      list.push_back(IntegrationToJson(integration));
    }
    PrintJson(inv.out(), {{"integrations", list}});
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "AUTH", "CLIENT ID", "ORG", "STATE", "UPDATED"}};
  for (const v1::Integration& integration : integrations) {
    rows.push_back({IntegrationId(integration.name()), AuthMethodName(integration.auth_method()),
                    integration.client_id(), integration.org_id(), StateName(integration.state()),
                    Rfc3339Seconds(integration.update_time())});
  }
  inv.out() << FormatTable(rows);
  return kExitOk;
}

int IntegrationsGet(Invocation& inv) {
  auto stub = NewStub<v1::IntegrationService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  v1::GetIntegrationRequest request;
  request.set_name(inv.name());
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  v1::GetIntegrationResponse response;
  grpc::Status status = (*stub)->GetIntegration(&rpc, request, &response);
  if (!status.ok()) return inv.RpcError(status);
  PrintIntegration(inv, response.integration());
  return kExitOk;
}

int IntegrationsUpdate(Invocation& inv) {
  // Flag -> update_mask path. Exactly the flags given end up in the mask.
  static const auto* kPaths = new std::vector<std::pair<std::string, std::string>>{
      {"display-name", "display_name"},
      {"client-id", "client_id"},
      {"org-id", "org_id"},
      {"technical-account-id", "technical_account_id"},
      {"scopes", "scopes"},
      {"metascopes", "metascopes"},
      {"ims-url", "ims_url"},
      {"sandbox", "sandbox_name"},
      {"org-header", "include_org_header"},
      {"state", "state"},
      {"client-secret-file", "credentials.client_secrets"},
      {"private-key-file", "credentials.private_key_pem"},
  };
  v1::UpdateIntegrationRequest request;
  for (const auto& [flag, path] : *kPaths) {
    if (inv.Has(flag)) request.mutable_update_mask()->add_paths(path);
  }
  if (request.update_mask().paths().empty()) {
    std::vector<std::string> flags;
    for (const auto& [flag, path] : *kPaths) flags.push_back(absl::StrCat("--", flag));
    return inv.UsageError(
        absl::StrCat("nothing to update: give at least one of ", absl::StrJoin(flags, ", ")));
  }
  v1::Integration* integration = request.mutable_integration();
  integration->set_name(inv.name());
  integration->set_etag(absl::GetFlag(FLAGS_etag));
  integration->set_display_name(absl::GetFlag(FLAGS_display_name));
  integration->set_client_id(absl::GetFlag(FLAGS_client_id));
  integration->set_org_id(absl::GetFlag(FLAGS_org_id));
  integration->set_technical_account_id(absl::GetFlag(FLAGS_technical_account_id));
  for (const std::string& scope : absl::GetFlag(FLAGS_scopes)) integration->add_scopes(scope);
  for (const std::string& scope : absl::GetFlag(FLAGS_metascopes)) {
    integration->add_metascopes(scope);
  }
  integration->set_ims_url(absl::GetFlag(FLAGS_ims_url));
  integration->set_sandbox_name(absl::GetFlag(FLAGS_sandbox));
  integration->set_include_org_header(absl::GetFlag(FLAGS_org_header));
  if (inv.Has("state")) {
    std::optional<v1::Integration::State> state = ParseState(absl::GetFlag(FLAGS_state));
    if (!state) {
      return inv.UsageError(absl::StrCat("invalid --state \"", absl::GetFlag(FLAGS_state),
                                         "\": expected active or disabled"));
    }
    integration->set_state(*state);
  }
  if (absl::Status s = ReadCredentials(inv, integration->mutable_credentials()); !s.ok()) {
    return inv.UsageError(s);
  }

  auto stub = NewStub<v1::IntegrationService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  v1::UpdateIntegrationResponse response;
  grpc::Status status = (*stub)->UpdateIntegration(&rpc, request, &response);
  WipeCredentials(integration->mutable_credentials());
  if (!status.ok()) return inv.RpcError(status);
  PrintIntegration(inv, response.integration());
  return kExitOk;
}

int IntegrationsDelete(Invocation& inv) {
  auto stub = NewStub<v1::IntegrationService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  v1::DeleteIntegrationRequest request;
  request.set_name(inv.name());
  request.set_etag(absl::GetFlag(FLAGS_etag));
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  v1::DeleteIntegrationResponse response;
  grpc::Status status = (*stub)->DeleteIntegration(&rpc, request, &response);
  if (!status.ok()) return inv.RpcError(status);
  if (inv.json()) {
    PrintJson(inv.out(), {{"name", request.name()}, {"deleted", true}});
  } else {
    inv.out() << "deleted " << request.name() << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// token

int TokenGet(Invocation& inv) {
  auto stub = NewStub<v1::TokenService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  v1::GetAccessTokenRequest request;
  request.set_name(inv.name());
  if (auto validity = MinValidity(inv)) *request.mutable_min_remaining_validity() = *validity;
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  v1::GetAccessTokenResponse response;
  grpc::Status status = (*stub)->GetAccessToken(&rpc, request, &response);
  if (!status.ok()) return inv.RpcError(status);
  if (inv.json()) {
    PrintJson(inv.out(), {{"access_token", response.token().access_token()},
                          {"expire_time", Rfc3339(response.token().expire_time())}});
  } else {
    // Only the token, so that `$(tokenctl token get ID)` works.
    inv.out() << response.token().access_token() << "\n";
  }
  return kExitOk;
}

int TokenHeaders(Invocation& inv) {
  auto stub = NewStub<v1::TokenService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  v1::GetRequestHeadersRequest request;
  request.set_name(inv.name());
  if (auto validity = MinValidity(inv)) *request.mutable_min_remaining_validity() = *validity;
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  v1::GetRequestHeadersResponse response;
  grpc::Status status = (*stub)->GetRequestHeaders(&rpc, request, &response);
  if (!status.ok()) return inv.RpcError(status);
  if (inv.json()) {
    nlohmann::ordered_json headers = nlohmann::ordered_json::object();
    for (const v1::Header& header : response.headers()) headers[header.name()] = header.value();
    PrintJson(inv.out(), headers);
  } else {
    for (const v1::Header& header : response.headers()) {
      inv.out() << header.name() << ": " << header.value() << "\n";
    }
  }
  return kExitOk;
}

int TokenRefresh(Invocation& inv) {
  auto stub = NewStub<v1::TokenService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  v1::RefreshAccessTokenRequest request;
  request.set_name(inv.name());
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  v1::RefreshAccessTokenResponse response;
  grpc::Status status = (*stub)->RefreshAccessToken(&rpc, request, &response);
  if (!status.ok()) return inv.RpcError(status);
  PrintTokenSummary(inv, response.token());
  return kExitOk;
}

int TokenWatch(Invocation& inv) {
  // Ctrl-C (or SIGTERM) ends the watch cleanly: both signals are blocked
  // before gRPC starts its threads (which inherit the mask), and one thread
  // waits for them and cancels the call, which ends the read loop below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto stub = NewStub<v1::TokenService>(inv);
  if (!stub.ok()) return inv.UsageError(stub.status());
  v1::WatchAccessTokensRequest request;
  request.set_name(inv.name());
  grpc::ClientContext rpc;  // No deadline: a watch runs until stopped.
  inv.AddCallerToken(&rpc);
  std::atomic<bool> done{false};
  std::atomic<bool> interrupted{false};
  std::thread waiter([&] {
    const timespec tick = {0, 100 * 1000 * 1000};
    while (!done.load()) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) {
        interrupted.store(true);
        rpc.TryCancel();
        return;
      }
    }
  });

  std::unique_ptr<grpc::ClientReader<v1::WatchAccessTokensResponse>> reader =
      (*stub)->WatchAccessTokens(&rpc, request);
  v1::WatchAccessTokensResponse response;
  while (reader->Read(&response)) {
    PrintTokenSummary(inv, response.token());
  }
  grpc::Status status = reader->Finish();
  done.store(true);
  waiter.join();
  if (interrupted.load()) return kExitOk;
  if (!status.ok()) return inv.RpcError(status);
  return kExitOk;
}

// ---------------------------------------------------------------------------
// health

// grpc.health.v1 over a generic stub. Design note: Debian's gRPC ships the
// health service but not its generated stubs, and adding health.proto to
// proto/ would put a non-tokenbroker package into the SDKs and buf lint. The
// two messages have one field each, so they are written and read with
// protobuf's UnknownFieldSet (a public API that handles the wire format):
//   HealthCheckRequest  { string service = 1; }
//   HealthCheckResponse { ServingStatus status = 1; }
//   ServingStatus: UNKNOWN = 0, SERVING = 1, NOT_SERVING = 2, SERVICE_UNKNOWN = 3.
constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

std::string HealthStatusName(uint64_t status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return absl::StrCat("STATUS_", status);
  }
}

// The status field of a serialized HealthCheckResponse (0 when absent, as
// proto3 omits zero values), or nullopt if the bytes are not a message.
std::optional<uint64_t> ParseHealthStatus(const std::string& bytes) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return std::nullopt;
  uint64_t status = 0;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.number() == 1 && field.type() == google::protobuf::UnknownField::TYPE_VARINT) {
      status = field.varint();  // The last occurrence wins, as in protobuf.
    }
  }
  return status;
}

int Health(Invocation& inv) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = inv.Channel();
  if (!channel.ok()) return inv.UsageError(channel.status());
  const std::string service = absl::GetFlag(FLAGS_service);
  google::protobuf::UnknownFieldSet request_fields;
  if (!service.empty()) request_fields.AddLengthDelimited(1, service);
  std::string request_bytes;
  request_fields.SerializeToString(&request_bytes);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;

  grpc::GenericStub stub(*channel);
  grpc::ClientContext rpc;
  inv.Prepare(&rpc);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&rpc, kHealthCheckMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      // The standard health service answers NOT_FOUND for a name it does not
      // know; say so in the probe's words.
      inv.out() << (inv.json() ? nlohmann::ordered_json{{"service", service},
                                                        {"status", "SERVICE_UNKNOWN"}}
                                     .dump()
                               : std::string("SERVICE_UNKNOWN"))
                << "\n";
    }
    int code = inv.RpcError(status);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      inv.err() << "tokenctl: health: no answer from " << ResolveServer(absl::GetFlag(FLAGS_server))
                << " (is the server running, and are TLS flags right?)\n";
    }
    return code;
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  std::optional<uint64_t> serving_status = ParseHealthStatus(bytes);
  if (!serving_status) {
    return inv.RpcError(grpc::Status(grpc::StatusCode::INTERNAL,
                                     "the server's HealthCheckResponse could not be parsed"));
  }
  std::string name = HealthStatusName(*serving_status);
  if (inv.json()) {
    PrintJson(inv.out(), {{"service", service}, {"status", name}}, -1);
  } else {
    inv.out() << name << "\n";
  }
  return *serving_status == 1 ? kExitOk : kExitRpcError;
}

// ---------------------------------------------------------------------------
// other

// Reads a token on stdin and prints its audit-log fingerprint under the
// server's audit key, so an operator can find a known token's RPCs.
int AuditFingerprint(Invocation& inv) {
  std::string key_file = absl::GetFlag(FLAGS_audit_key_file);
  if (key_file.empty()) return inv.UsageError("audit fingerprint needs --audit-key-file=FILE");
  absl::StatusOr<SecretString> key = LoadAuditKey(key_file);
  if (!key.ok()) return inv.UsageError(key.status());
  std::string token;
  std::getline(inv.in(), token);
  SecretString secret(std::string(absl::StripAsciiWhitespace(token)));
  OPENSSL_cleanse(token.data(), token.size());
  if (secret.empty()) return inv.UsageError("audit fingerprint reads the token on stdin");
  std::string fingerprint = AuditLogger::KeyedFingerprint(key->value(), secret.value());
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(inv.out(), {{"token_fingerprint", fingerprint}});
  } else {
    inv.out() << fingerprint << "\n";
  }
  return 0;
}

int Version(Invocation& inv) {
  if (inv.json()) {
    PrintJson(inv.out(), {{"version", TOKENCTL_VERSION}});
  } else {
    inv.out() << "tokenctl " << TOKENCTL_VERSION << "\n";
  }
  return kExitOk;
}

struct CommandSpec {
  // The command words, e.g. "integrations create".
  std::string words;
  // Whether the command takes an integration ID.
  bool takes_id;
  // The flags it accepts besides the global ones.
  std::vector<std::string> flags;
  int (*run)(Invocation&);
};

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {"integrations create",
       true,
       {"auth", "client-id", "client-secret-file", "org-id", "technical-account-id",
        "private-key-file", "scopes", "metascopes", "ims-url", "sandbox", "org-header",
        "display-name"},
       IntegrationsCreate},
      {"integrations list", false, {"page-size"}, IntegrationsList},
      {"integrations get", true, {}, IntegrationsGet},
      {"integrations update",
       true,
       {"display-name", "client-id", "org-id", "technical-account-id", "scopes", "metascopes",
        "ims-url", "sandbox", "org-header", "state", "client-secret-file", "private-key-file",
        "etag"},
       IntegrationsUpdate},
      {"integrations delete", true, {"etag"}, IntegrationsDelete},
      {"token get", true, {"min-validity"}, TokenGet},
      {"token headers", true, {"min-validity"}, TokenHeaders},
      {"token refresh", true, {"show-token"}, TokenRefresh},
      {"token watch", true, {"show-token"}, TokenWatch},
      {"audit fingerprint", false, {"audit-key-file"}, AuditFingerprint},
      {"health", false, {"service"}, Health},
      {"version", false, {}, Version},
  };
  return *commands;
}

}  // namespace

std::string UsageText() {
  return R"(tokenctl: manage tokenbroker integrations and get Adobe IMS access tokens.

Usage: tokenctl [global flags] COMMAND [ID] [flags]

Integrations:
  integrations create ID --auth=oauth-s2s --client-id=X --client-secret-file=F
      --org-id=O --scopes=a,b [--ims-url=URL] [--sandbox=S] [--org-header]
      [--display-name=N] [--technical-account-id=T]
  integrations create ID --auth=jwt --client-id=X --client-secret-file=F
      --org-id=O --technical-account-id=T --private-key-file=K
      --metascopes=m1,m2 [--ims-url=URL] [--sandbox=S] [--org-header]
      [--display-name=N]
  integrations list [--page-size=N]
      A table of all integrations (every page).
  integrations get ID
      The integration, with the fingerprints of its secrets.
  integrations update ID [--display-name=N] [--client-id=X] [--org-id=O]
      [--technical-account-id=T] [--scopes=a,b] [--metascopes=m1,m2]
      [--ims-url=URL] [--sandbox=S] [--org-header[=false]]
      [--state=active|disabled] [--client-secret-file=F] [--private-key-file=K]
      [--etag=E]
      Changes exactly the fields whose flags are given.
  integrations delete ID [--etag=E]

Tokens:
  token get ID [--min-validity=DURATION]
      Prints only the access token, so that $(tokenctl token get ID) works.
      --json: {"access_token":...,"expire_time":...}.
  token headers ID [--min-validity=DURATION]
      Prints the HTTP headers for Adobe APIs as "Name: value" lines.
  token refresh ID [--show-token]
      Mints a new token now; prints its expiry and fingerprint.
  token watch ID [--show-token]
      One line per token the server pushes (time, expire_time, fingerprint)
      until Ctrl-C. --json: one object per line.

Audit:
  audit fingerprint --audit-key-file=FILE < token
      Prints the token's fingerprint as the server's audit log writes it
      (token_fingerprint), to find the RPCs that handed out a known token.

Health:
  health [--service=NAME]
      Calls grpc.health.v1.Health/Check and prints the status: SERVING,
      NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN. Exits 0 only when SERVING,
      1 otherwise (also when the server cannot be reached), so it works as a
      probe: tokenctl health --timeout=2s [--ca-file=... --cert=... --key=...].
      --service: the health service name ("" = the whole server, default).
      --json: {"service":...,"status":...}.

Other:
  version      Prints tokenctl's version.
  help         Prints this text (also -h, --help).

Global flags:
  --server=HOST:PORT   The server (default: $TOKENBROKER_SERVER, else
                       127.0.0.1:50051).
  --json               JSON output on every command.
  --timeout=DURATION   Deadline of each RPC (default 30s).
  --ca-file=PEM        CA bundle verifying the server: turns TLS on
                       (env TOKENBROKER_CA_FILE).
  --cert=PEM --key=PEM Client certificate and key for mutual TLS
                       (env TOKENBROKER_CERT, TOKENBROKER_KEY).
  --token-file=F       Caller token sent as "authorization: Bearer"
                       (env TOKENBROKER_TOKEN_FILE).

Secrets are read only from files, never from the command line:
--client-secret-file holds one client secret per line (two while rotating),
--private-key-file a PEM private key; "-" reads stdin. Tokens are printed
only by 'token get' and 'token headers' (and with --show-token).
Durations look like 90s, 5m, 1h. Flags may come before or after the command.

Exit codes: 0 success; 1 the server or the connection failed (the error and
its details go to stderr), or 'health' found the server not SERVING; 2 usage
error (unknown command or flag, missing ID or required flag, bad value,
unreadable file): nothing was sent.
)";
}

int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  auto usage_error = [&err](absl::string_view message) {
    err << "tokenctl: " << message << "\nRun 'tokenctl help' for usage.\n";
    return kExitUsage;
  };
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(args);
  if (!command_line.ok()) return usage_error(command_line.status().message());
  std::vector<std::string>& words = command_line->args;
  if (command_line->help || (!words.empty() && words[0] == "help")) {
    out << UsageText();
    return kExitOk;
  }
  if (words.empty()) {
    err << UsageText();
    return kExitUsage;
  }

  const CommandSpec* spec = nullptr;
  size_t used = 0;
  for (const CommandSpec& candidate : Commands()) {
    std::string two = words.size() >= 2 ? absl::StrCat(words[0], " ", words[1]) : "";
    if (candidate.words == words[0]) {
      spec = &candidate;
      used = 1;
    } else if (candidate.words == two) {
      spec = &candidate;
      used = 2;
    }
    if (spec != nullptr) break;
  }
  if (spec == nullptr) {
    if (words[0] == "integrations" || words[0] == "token") {
      std::vector<std::string> subcommands;
      for (const CommandSpec& candidate : Commands()) {
        if (absl::StartsWith(candidate.words, words[0] + " ")) {
          subcommands.push_back(candidate.words.substr(words[0].size() + 1));
        }
      }
      std::string given = words.size() >= 2
                              ? absl::StrCat("unknown command '", words[0], " ", words[1], "'")
                              : absl::StrCat("missing command after '", words[0], "'");
      return usage_error(
          absl::StrCat(given, ": expected one of ", absl::StrJoin(subcommands, ", ")));
    }
    return usage_error(absl::StrCat("unknown command '", words[0], "'"));
  }

  std::vector<std::string> operands(words.begin() + used, words.end());
  if (spec->takes_id && operands.empty()) {
    return usage_error(absl::StrCat("missing ID: usage: tokenctl ", spec->words, " ID"));
  }
  size_t expected = spec->takes_id ? 1 : 0;
  if (operands.size() > expected) {
    return usage_error(
        absl::StrCat("unexpected argument '", operands[expected], "' for '", spec->words, "'"));
  }
  const std::vector<std::string>& globals = GlobalFlagNames();
  for (const std::string& flag : command_line->specified) {
    if (std::find(globals.begin(), globals.end(), flag) == globals.end() &&
        std::find(spec->flags.begin(), spec->flags.end(), flag) == spec->flags.end()) {
      return usage_error(absl::StrCat("flag --", flag, " does not apply to '", spec->words, "'"));
    }
  }
  if (absl::GetFlag(FLAGS_timeout) <= absl::ZeroDuration()) {
    return usage_error("--timeout must be positive");
  }
  if (command_line->Has("min-validity") &&
      absl::GetFlag(FLAGS_min_validity) < absl::ZeroDuration()) {
    return usage_error("--min-validity must not be negative");
  }

  Invocation invocation(*std::move(command_line), std::move(operands), in, out, err);
  return spec->run(invocation);
}

}  // namespace tokenbroker::tokenctl
