#include "sdk_stack.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "tokenbroker/v1/integration_service.grpc.pb.h"

namespace tokenbroker::client::testing {
namespace {

nlohmann::json EmulatorClient(const std::string& id, const std::string& secret,
                              int lifetime_seconds) {
  return {{"client_id", id},
          {"client_secrets", {secret}},
          {"org_id", kOrgId},
          {"technical_account_id", "T@techacct.adobe.com"},
          {"scopes", {"openid", "AdobeID"}},
          {"token_lifetime_seconds", lifetime_seconds}};
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

absl::StatusOr<std::unique_ptr<SdkStack>> SdkStack::Start(
    const std::vector<std::string>& broker_flags) {
  std::unique_ptr<SdkStack> stack(new SdkStack());
  auto ims = ::tokenbroker::testing::ImsEmulatorProcess::Start(
      {EmulatorClient(kShortClient, kShortSecret, 3),
       EmulatorClient(kLongClient, kLongSecret, 3600)});
  if (!ims.ok()) return ims.status();
  stack->ims_ = *std::move(ims);
  std::vector<std::string> flags = {"--store=memory", "--ims-url=" + stack->ims_->url(),
                                    "--ims-ca-file=" + stack->ims_->ca_file()};
  flags.insert(flags.end(), broker_flags.begin(), broker_flags.end());
  auto broker = ::tokenbroker::testing::BrokerProcess::Start(flags);
  if (!broker.ok()) return broker.status();
  stack->broker_ = *std::move(broker);
  return stack;
}

ClientOptions SdkStack::PlaintextOptions() const {
  ClientOptions options;
  options.target = broker_->address();
  options.plaintext = true;
  options.retry.initial_backoff = absl::Milliseconds(50);
  options.retry.max_backoff = absl::Milliseconds(200);
  return options;
}

absl::Status SdkStack::CreateIntegration(Client& client, const std::string& id,
                                         const std::string& client_id, const std::string& secret) {
  v1::CreateIntegrationRequest request =
      ::tokenbroker::testing::OAuthIntegration(id, client_id, secret, ims_->url());
  request.mutable_integration()->set_org_id(kOrgId);
  request.mutable_integration()->set_include_org_header(true);
  grpc::ClientContext context;
  absl::Status prepared = client.PrepareContext(&context);
  if (!prepared.ok()) return prepared;
  v1::CreateIntegrationResponse created;
  return FromGrpc(v1::IntegrationService::NewStub(client.channel())
                      ->CreateIntegration(&context, request, &created));
}

absl::Status SdkStack::DeleteIntegration(Client& client, const std::string& id) {
  v1::DeleteIntegrationRequest request;
  request.set_name(IntegrationName(id));
  grpc::ClientContext context;
  absl::Status prepared = client.PrepareContext(&context);
  if (!prepared.ok()) return prepared;
  v1::DeleteIntegrationResponse empty;
  return FromGrpc(v1::IntegrationService::NewStub(client.channel())
                      ->DeleteIntegration(&context, request, &empty));
}

int FaultsInjected(::tokenbroker::testing::ImsEmulatorProcess& ims) {
  nlohmann::json stats = ims.Stats();
  if (!stats.contains("faults_injected")) return -1;
  return stats["faults_injected"].get<int>();
}

}  // namespace tokenbroker::client::testing
