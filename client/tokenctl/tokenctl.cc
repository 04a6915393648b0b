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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/common/fingerprint.h"
#include "client/tokenctl/flags.h"
#include "client/tokenctl/output.h"
#include "client/tokenctl/secrets.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "nlohmann/json.hpp"
#include "tokenbroker/client/client.h"
#include "tokenbroker/client/options.h"
#include "tokenbroker/v1/integration_service.pb.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

#ifndef TOKENCTL_VERSION
#define TOKENCTL_VERSION "unknown"
#endif

namespace tokenbroker::tokenctl {
namespace {

// One invocation: the parsed command line, the streams, and the SDK client
// (channel, TLS, caller token), created on first use.
class Invocation {
 public:
  Invocation(CommandLine command_line, std::istream& in, std::ostream& out, std::ostream& err)
      : command_line_(std::move(command_line)), in_(in), out_(out), err_(err) {}

  const Options& options() const { return command_line_.options; }
  Command command() const { return command_line_.command->command; }
  bool Has(absl::string_view flag) const { return options().Has(flag); }
  const std::string& id() const { return command_line_.id; }
  const std::string& file() const { return command_line_.file; }
  std::string name() const { return absl::StrCat("integrations/", id()); }
  bool json() const { return options().json; }
  std::istream& in() { return in_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // Prints `tokenctl: <message>` and a pointer to the help; returns 2.
  int UsageError(absl::string_view message) {
    err_ << "tokenctl: " << message << "\nRun 'tokenctl help' for usage.\n";
    return kExitUsage;
  }
  int UsageError(const absl::Status& status) { return UsageError(status.message()); }

  // Prints the RPC's error and its details, and when the server did not
  // answer, what to check; returns 1.
  int RpcError(const grpc::Status& status) { return RpcError(FromGrpcStatus(status)); }
  int RpcError(const absl::Status& status) {
    err_ << FormatRpcError(status);
    if (status.code() == absl::StatusCode::kUnavailable ||
        (status.code() == absl::StatusCode::kDeadlineExceeded && command() == Command::kHealth)) {
      err_ << "tokenctl: no answer from " << options().server
           << (options().plaintext
                   ? " over plaintext (is the server running? One that serves TLS needs "
                     "no --plaintext, and --ca-file for a private CA)\n"
                   : " over TLS (is the server running? One without TLS, e.g. make run, "
                     "needs --plaintext)\n");
    } else if (status.code() == absl::StatusCode::kDeadlineExceeded) {
      err_ << "tokenctl: no answer within --timeout=" << absl::FormatDuration(options().timeout)
           << " (a slow IMS: the server keeps minting and the next call gets the token; a "
              "longer --timeout waits it out)\n";
    }
    return kExitRpcError;
  }

  // The SDK client, created on first use (so that `token watch` can block
  // signals before gRPC starts its threads). Errors: INVALID_ARGUMENT
  // (inconsistent connection flags, a file that cannot be read).
  absl::StatusOr<std::shared_ptr<client::Client>> Client() {
    if (client_ == nullptr) {
      if (absl::Status s = CheckConnectionFlags(); !s.ok()) return s;
      const Options& o = options();
      client::ClientOptions client_options;
      client_options.target = o.server;
      client_options.plaintext = o.plaintext;
      client_options.ca_file = o.ca_file;
      client_options.cert_file = o.cert;
      client_options.key_file = o.key;
      client_options.caller_token_file = o.token_file;
      client_options.call_timeout = o.timeout;
      // One attempt: a CLI reports an outage rather than waiting it out.
      client_options.retry.max_attempts = 1;
      client_options.user_agent = "tokenctl/" TOKENCTL_VERSION;
      absl::StatusOr<std::shared_ptr<client::Client>> created =
          client::Client::New(std::move(client_options));
      if (!created.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot set up the connection: ", created.status().message()));
      }
      client_ = *std::move(created);
    }
    return client_;
  }

  // Sets the deadline (--timeout) and the caller token on a unary call.
  void Prepare(grpc::ClientContext* context) const {
    client_->PrepareContext(context).IgnoreError();  // cannot fail: timeout > 0
  }
  // The caller token, without a deadline: for a stream that runs until
  // stopped.
  void PrepareStream(grpc::ClientContext* context) const {
    client::CallOptions call;
    call.timeout = absl::InfiniteDuration();
    client_->PrepareContext(context, call).IgnoreError();
  }

 private:
  // The connection flags must agree: --cert with --key, and --plaintext with
  // none of the TLS files (also when those come from the environment: no
  // flag silently overrides another).
  absl::Status CheckConnectionFlags() const {
    const Options& o = options();
    if (o.server.empty()) return absl::InvalidArgumentError("--server must not be empty");
    if (o.cert.empty() != o.key.empty()) {
      return absl::InvalidArgumentError("--cert and --key go together");
    }
    if (!o.plaintext) return absl::OkStatus();
    for (const auto& [name, value] :
         {std::pair<absl::string_view, const std::string*>{"ca-file", &o.ca_file},
          {"cert", &o.cert},
          {"key", &o.key}}) {
      if (value->empty()) continue;
      std::string origin;
      if (o.from_env.count(std::string(name)) > 0) {
        origin = absl::StrCat(" (set by $", FindFlag(name)->env, ")");
      }
      return absl::InvalidArgumentError(absl::StrCat("--plaintext excludes --", name, origin));
    }
    return absl::OkStatus();
  }

  CommandLine command_line_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  std::shared_ptr<client::Client> client_;
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
  std::string secret_file = inv.options().client_secret_file;
  std::string key_file = inv.options().private_key_file;
  if (inv.Has("client-secret-file") && inv.Has("private-key-file") && secret_file == "-" &&
      key_file == "-") {
    return absl::InvalidArgumentError(
        "--client-secret-file and --private-key-file cannot both read stdin (-)");
  }
  if (inv.Has("client-secret-file")) {
    absl::StatusOr<std::vector<Secret>> secrets = ReadClientSecrets(secret_file, inv.in());
    if (!secrets.ok()) return secrets.status();
    for (const Secret& secret : *secrets) {
      credentials->add_client_secrets(std::string(secret.value()));
    }
  }
  if (inv.Has("private-key-file")) {
    absl::StatusOr<Secret> key = ReadPrivateKey(key_file, inv.in());
    if (!key.ok()) return key.status();
    credentials->set_private_key_pem(std::string(key->value()));
  }
  return absl::OkStatus();
}

std::optional<v1::Integration::State> ParseState(const std::string& text) {
  if (text == "active") return v1::Integration::STATE_ACTIVE;
  if (text == "disabled") return v1::Integration::STATE_DISABLED;
  return std::nullopt;
}

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration duration;
  int64_t nanos = absl::ToInt64Nanoseconds(d);
  duration.set_seconds(nanos / 1000000000);
  duration.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return duration;
}

std::optional<google::protobuf::Duration> MinValidity(const Invocation& inv) {
  if (!inv.Has("min-validity")) return std::nullopt;
  return ToProtoDuration(inv.options().min_validity);
}

// --rotation-period and --console-credential, where given, onto
// `integration`. Errors: INVALID_ARGUMENT (not ORG/CRED).
absl::Status SetLifecycle(const Invocation& inv, v1::Integration* integration) {
  if (inv.Has("rotation-period")) {
    *integration->mutable_secret_rotation_period() = ToProtoDuration(inv.options().rotation_period);
  }
  if (!inv.Has("console-credential")) return absl::OkStatus();
  std::vector<std::string> ids = absl::StrSplit(inv.options().console_credential, '/');
  if (ids.size() != 2 || ids[0].empty() || ids[1].empty()) {
    return absl::InvalidArgumentError(
        "--console-credential takes ORG/CRED: the Console's numeric org id and credential id, "
        "e.g. 25591412/17950");
  }
  integration->mutable_console_credential()->set_org_id(ids[0]);
  integration->mutable_console_credential()->set_credential_id(ids[1]);
  return absl::OkStatus();
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
  bool show = inv.options().show_token;
  std::string fingerprint = fingerprint::Sha256Fingerprint(token.access_token());
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
  absl::StatusOr<std::shared_ptr<client::Client>> client = inv.Client();
  if (!client.ok()) return client.status();
  return Service::NewStub((*client)->channel());
}

// ---------------------------------------------------------------------------
// integrations

int IntegrationsCreate(Invocation& inv) {
  // The flags that each auth method requires and accepts were checked by
  // ParseCommandLine (see the flag table).
  v1::CreateIntegrationRequest request;
  request.set_integration_id(inv.id());
  v1::Integration* integration = request.mutable_integration();
  integration->set_auth_method(inv.command() == Command::kIntegrationsCreateJwt
                                   ? v1::AUTH_METHOD_JWT
                                   : v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER);
  integration->set_client_id(inv.options().client_id);
  integration->set_org_id(inv.options().org_id);
  integration->set_technical_account_id(inv.options().technical_account_id);
  for (const std::string& scope : inv.options().scopes) integration->add_scopes(scope);
  for (const std::string& scope : inv.options().metascopes) {
    integration->add_metascopes(scope);
  }
  integration->set_ims_url(inv.options().ims_url);
  integration->set_sandbox_name(inv.options().sandbox);
  integration->set_include_org_header(inv.options().org_header);
  integration->set_display_name(inv.options().display_name);
  if (absl::Status s = SetLifecycle(inv, integration); !s.ok()) return inv.UsageError(s);
  if (absl::Status s = ReadCredentials(inv, integration->mutable_credentials()); !s.ok()) {
    return inv.UsageError(s);
  }

  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  absl::StatusOr<v1::CreateIntegrationResponse> response = (*client)->CreateIntegration(request);
  WipeCredentials(integration->mutable_credentials());
  if (!response.ok()) return inv.RpcError(response.status());
  PrintIntegration(inv, response->integration());
  return kExitOk;
}

int IntegrationsList(Invocation& inv) {
  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  std::vector<v1::Integration> integrations;
  v1::ListIntegrationsRequest request;
  request.set_page_size(inv.options().page_size);
  do {
    absl::StatusOr<v1::ListIntegrationsResponse> response = (*client)->ListIntegrations(request);
    if (!response.ok()) return inv.RpcError(response.status());
    for (v1::Integration& integration : *response->mutable_integrations()) {
      integrations.push_back(std::move(integration));
    }
    request.set_page_token(response->next_page_token());
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
  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  v1::GetIntegrationRequest request;
  request.set_name(inv.name());
  absl::StatusOr<v1::GetIntegrationResponse> response = (*client)->GetIntegration(request);
  if (!response.ok()) return inv.RpcError(response.status());
  PrintIntegration(inv, response->integration());
  return kExitOk;
}

int IntegrationsUpdate(Invocation& inv) {
  // Exactly the flags given end up in the mask (the flag table maps each to
  // its path).
  v1::UpdateIntegrationRequest request;
  for (const std::string& path : UpdateMaskPaths(inv.options())) {
    request.mutable_update_mask()->add_paths(path);
  }
  if (request.update_mask().paths().empty()) {
    std::vector<std::string> flags;
    for (const FlagSpec& flag : Flags()) {
      if (!flag.update_path.empty()) flags.push_back(absl::StrCat("--", flag.name));
    }
    return inv.UsageError(
        absl::StrCat("nothing to update: give at least one of ", absl::StrJoin(flags, ", ")));
  }
  v1::Integration* integration = request.mutable_integration();
  integration->set_name(inv.name());
  integration->set_etag(inv.options().etag);
  integration->set_display_name(inv.options().display_name);
  integration->set_client_id(inv.options().client_id);
  integration->set_org_id(inv.options().org_id);
  integration->set_technical_account_id(inv.options().technical_account_id);
  for (const std::string& scope : inv.options().scopes) integration->add_scopes(scope);
  for (const std::string& scope : inv.options().metascopes) {
    integration->add_metascopes(scope);
  }
  integration->set_ims_url(inv.options().ims_url);
  integration->set_sandbox_name(inv.options().sandbox);
  integration->set_include_org_header(inv.options().org_header);
  if (absl::Status s = SetLifecycle(inv, integration); !s.ok()) return inv.UsageError(s);
  if (inv.Has("state")) {
    std::optional<v1::Integration::State> state = ParseState(inv.options().state);
    if (!state) {
      return inv.UsageError(absl::StrCat("invalid --state \"", inv.options().state,
                                         "\": expected active or disabled"));
    }
    integration->set_state(*state);
  }
  if (absl::Status s = ReadCredentials(inv, integration->mutable_credentials()); !s.ok()) {
    return inv.UsageError(s);
  }

  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  absl::StatusOr<v1::UpdateIntegrationResponse> response = (*client)->UpdateIntegration(request);
  WipeCredentials(integration->mutable_credentials());
  if (!response.ok()) return inv.RpcError(response.status());
  PrintIntegration(inv, response->integration());
  return kExitOk;
}

int IntegrationsDelete(Invocation& inv) {
  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  v1::DeleteIntegrationRequest request;
  request.set_name(inv.name());
  request.set_etag(inv.options().etag);
  absl::StatusOr<v1::DeleteIntegrationResponse> response = (*client)->DeleteIntegration(request);
  if (!response.ok()) return inv.RpcError(response.status());
  if (inv.json()) {
    PrintJson(inv.out(), {{"name", request.name()}, {"deleted", true}});
  } else {
    inv.out() << "deleted " << request.name() << "\n";
  }
  return kExitOk;
}

// --client-secret-file, where given, as the one secret of `request`.
// Errors: INVALID_ARGUMENT (see secrets.h; more than one secret).
absl::Status ReadMigrationSecret(Invocation& inv, v1::MigrateIntegrationRequest* request) {
  if (!inv.Has("client-secret-file")) return absl::OkStatus();
  absl::StatusOr<std::vector<Secret>> secrets =
      ReadClientSecrets(inv.options().client_secret_file, inv.in());
  if (!secrets.ok()) return secrets.status();
  if (secrets->size() != 1) {
    return absl::InvalidArgumentError(
        "--client-secret-file: a migration takes one client secret (the Server-to-Server "
        "credential's current one), not two");
  }
  request->set_client_secret(std::string(secrets->front().value()));
  return absl::OkStatus();
}

int IntegrationsMigrate(Invocation& inv) {
  v1::MigrateIntegrationRequest request;
  request.set_name(inv.name());
  request.set_etag(inv.options().etag);
  for (const std::string& scope : inv.options().scopes) request.add_scopes(scope);
  if (absl::Status s = ReadMigrationSecret(inv, &request); !s.ok()) return inv.UsageError(s);

  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  absl::StatusOr<v1::MigrateIntegrationResponse> response = (*client)->MigrateIntegration(request);
  std::string* secret = request.mutable_client_secret();
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!response.ok()) return inv.RpcError(response.status());
  PrintIntegration(inv, response->integration());
  return kExitOk;
}

std::string ActionName(v1::ImportIntegrationsResponse::Imported::Action action, bool dry_run) {
  bool created = action == v1::ImportIntegrationsResponse::Imported::ACTION_CREATED;
  if (dry_run) return created ? "would create" : "would replace";
  return created ? "created" : "replaced";
}

void PrintImport(Invocation& inv, const v1::ImportIntegrationsResponse& response) {
  bool dry_run = inv.options().dry_run;
  if (inv.json()) {
    nlohmann::ordered_json imported = nlohmann::ordered_json::array();
    for (const auto& one : response.imported()) {
      imported.push_back({{"action", ActionName(one.action(), dry_run)},
                          {"json_path", one.json_path()},
                          {"integration", IntegrationToJson(one.integration())}});
    }
    nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
    for (const auto& one : response.skipped()) {
      skipped.push_back({{"json_path", one.json_path()},
                         {"credential_name", one.credential_name()},
                         {"reason", one.reason()}});
    }
    PrintJson(inv.out(), {{"dry_run", dry_run}, {"imported", imported}, {"skipped", skipped}});
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ACTION", "ID", "AUTH", "CLIENT ID", "SECRETS", "FROM"}};
  for (const auto& one : response.imported()) {
    const v1::Integration& integration = one.integration();
    rows.push_back({ActionName(one.action(), dry_run), IntegrationId(integration.name()),
                    AuthMethodName(integration.auth_method()), integration.client_id(),
                    absl::StrCat(integration.credential_info().client_secrets_size()),
                    one.json_path()});
  }
  inv.out() << FormatTable(rows);
  for (const auto& one : response.skipped()) {
    inv.out() << "skipped " << one.json_path() << " (" << one.credential_name()
              << "): " << one.reason() << "\n";
  }
  if (dry_run) inv.out() << "dry run: nothing was written\n";
}

int IntegrationsImport(Invocation& inv) {
  absl::StatusOr<Secret> file = ReadCredentialFile(inv.file(), inv.in());
  if (!file.ok()) return inv.UsageError(file.status());
  v1::ImportIntegrationsRequest request;
  request.set_credential_file(std::string(file->value()));
  request.set_integration_id(inv.options().id);
  request.set_credential_name(inv.options().credential);
  request.set_validate_only(inv.options().dry_run);
  request.set_allow_update(inv.options().update);
  if (inv.Has("rotation-period")) {
    *request.mutable_secret_rotation_period() = ToProtoDuration(inv.options().rotation_period);
  }
  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  absl::StatusOr<v1::ImportIntegrationsResponse> response = (*client)->ImportIntegrations(request);
  std::string* bytes = request.mutable_credential_file();
  OPENSSL_cleanse(bytes->data(), bytes->size());
  if (!response.ok()) return inv.RpcError(response.status());
  PrintImport(inv, *response);
  return kExitOk;
}

// ---------------------------------------------------------------------------
// secrets

void PrintSecrets(Invocation& inv, const v1::ListClientSecretsResponse& response) {
  if (inv.json()) {
    nlohmann::ordered_json secrets = nlohmann::ordered_json::array();
    for (const v1::ConsoleClientSecret& s : response.client_secrets()) {
      secrets.push_back({{"uuid", s.uuid()},
                         {"create_time", Rfc3339(s.create_time())},
                         {"last_use_time", Rfc3339(s.last_use_time())},
                         {"held", s.held()},
                         {"in_use", s.in_use()},
                         {"fingerprint", s.fingerprint()},
                         {"store_time", Rfc3339(s.store_time())}});
    }
    PrintJson(inv.out(), {{"client_secrets", secrets},
                          {"held_unmatched_count", response.held_unmatched_count()}});
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"UUID", "CREATED", "LAST USED", "HELD", "IN USE", "FINGERPRINT"}};
  for (const v1::ConsoleClientSecret& s : response.client_secrets()) {
    std::string last_used = Rfc3339Seconds(s.last_use_time());
    rows.push_back({s.uuid(), Rfc3339Seconds(s.create_time()),
                    last_used.empty() ? "never" : last_used, s.held() ? "yes" : "no",
                    s.in_use() ? "yes" : "no", s.fingerprint()});
  }
  inv.out() << FormatTable(rows);
  if (response.held_unmatched_count() > 0) {
    inv.out() << response.held_unmatched_count()
              << " stored secret(s) match none of these: deleted in the Console, or stored "
                 "without their uuid\n";
  }
}

int SecretsList(Invocation& inv) {
  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  v1::ListClientSecretsRequest request;
  request.set_parent(inv.name());
  absl::StatusOr<v1::ListClientSecretsResponse> response = (*client)->ListClientSecrets(request);
  if (!response.ok()) return inv.RpcError(response.status());
  PrintSecrets(inv, *response);
  return kExitOk;
}

int SecretsRotate(Invocation& inv) {
  auto client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  v1::RotateClientSecretRequest request;
  request.set_parent(inv.name());
  request.set_immediate(inv.options().now);
  absl::StatusOr<v1::RotateClientSecretResponse> response = (*client)->RotateClientSecret(request);
  if (!response.ok()) return inv.RpcError(response.status());
  bool done = response->state() == v1::RotateClientSecretResponse::STATE_DONE;
  if (inv.json()) {
    PrintJson(inv.out(), {{"state", done ? "done" : "waiting"},
                          {"detail", response->detail()},
                          {"fingerprint", response->fingerprint()},
                          {"console_uuid", response->console_uuid()},
                          {"deleted_console_uuids",
                           std::vector<std::string>(response->deleted_console_uuids().begin(),
                                                    response->deleted_console_uuids().end())}});
    return kExitOk;
  }
  inv.out() << (done ? "done: " : "waiting: ") << response->detail() << "\n"
            << "in use: " << response->console_uuid() << " " << response->fingerprint() << "\n";
  for (const std::string& uuid : response->deleted_console_uuids()) {
    inv.out() << "deleted at the Console: " << uuid << "\n";
  }
  if (!done) inv.out() << "run 'tokenctl secrets rotate " << inv.id() << "' again to finish\n";
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
  grpc::ClientContext rpc;
  inv.PrepareStream(&rpc);  // No deadline: a watch runs until stopped.
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
  absl::StatusOr<std::shared_ptr<client::Client>> client = inv.Client();
  if (!client.ok()) return inv.UsageError(client.status());
  const std::string service = inv.options().service;
  google::protobuf::UnknownFieldSet request_fields;
  if (!service.empty()) request_fields.AddLengthDelimited(1, service);
  std::string request_bytes;
  request_fields.SerializeToString(&request_bytes);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;

  grpc::GenericStub stub((*client)->channel());
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
    return inv.RpcError(status);
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
  absl::StatusOr<std::string> key_bytes =
      fingerprint::ReadAuditKeyFile(inv.options().audit_key_file);
  if (!key_bytes.ok()) return inv.UsageError(key_bytes.status());
  Secret key(*std::move(key_bytes));
  std::string token;
  std::getline(inv.in(), token);
  Secret secret(std::string(absl::StripAsciiWhitespace(token)));
  OPENSSL_cleanse(token.data(), token.size());
  if (secret.empty()) return inv.UsageError("audit fingerprint reads the token on stdin");
  std::string fingerprint = fingerprint::AuditFingerprint(key.value(), secret.value());
  if (inv.json()) {
    PrintJson(inv.out(), {{"token_fingerprint", fingerprint}});
  } else {
    inv.out() << fingerprint << "\n";
  }
  return kExitOk;
}

int Version(Invocation& inv) {
  if (inv.json()) {
    PrintJson(inv.out(), {{"version", TOKENCTL_VERSION}});
  } else {
    inv.out() << "tokenctl " << TOKENCTL_VERSION << "\n";
  }
  return kExitOk;
}

// The function that runs each command.
using CommandFunction = int (*)(Invocation&);
CommandFunction FunctionOf(Command command) {
  switch (command) {
    case Command::kIntegrationsCreateOAuth:
    case Command::kIntegrationsCreateJwt:
      return IntegrationsCreate;
    case Command::kIntegrationsList:
      return IntegrationsList;
    case Command::kIntegrationsGet:
      return IntegrationsGet;
    case Command::kIntegrationsUpdate:
      return IntegrationsUpdate;
    case Command::kIntegrationsImport:
      return IntegrationsImport;
    case Command::kIntegrationsMigrate:
      return IntegrationsMigrate;
    case Command::kSecretsList:
      return SecretsList;
    case Command::kSecretsRotate:
      return SecretsRotate;
    case Command::kIntegrationsDelete:
      return IntegrationsDelete;
    case Command::kTokenGet:
      return TokenGet;
    case Command::kTokenHeaders:
      return TokenHeaders;
    case Command::kTokenRefresh:
      return TokenRefresh;
    case Command::kTokenWatch:
      return TokenWatch;
    case Command::kAuditFingerprint:
      return AuditFingerprint;
    case Command::kHealth:
      return Health;
    case Command::kVersion:
      return Version;
  }
  return nullptr;
}

}  // namespace

int Run(const std::vector<std::string>& args, const EnvLookup& env, std::istream& in,
        std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(args, env);
  if (!command_line.ok()) {
    err << "tokenctl: " << command_line.status().message() << "\nRun 'tokenctl help' for usage.\n";
    return kExitUsage;
  }
  if (command_line->help) {
    out << UsageText();
    return kExitOk;
  }
  if (command_line->command == nullptr) {
    err << UsageText();
    return kExitUsage;
  }
  CommandFunction run = FunctionOf(command_line->command->command);
  Invocation invocation(*std::move(command_line), in, out, err);
  return run(invocation);
}

}  // namespace tokenbroker::tokenctl
