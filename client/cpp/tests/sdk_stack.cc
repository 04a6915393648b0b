#include "sdk_stack.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/certs.h"

namespace tokenbroker::client::testing {

using ::tokenbroker::testing::BrokerProcess;
using ::tokenbroker::testing::ImsEmulatorProcess;
using ::tokenbroker::testing::WriteFile;

nlohmann::json EmulatorClient(const std::string& id, const std::string& secret,
                              int lifetime_seconds) {
  return {{"client_id", id},
          {"client_secrets", {secret}},
          {"org_id", kOrgId},
          {"technical_account_id", "T@techacct.adobe.com"},
          {"scopes", {"openid", "AdobeID"}},
          {"token_lifetime_seconds", lifetime_seconds}};
}

absl::StatusOr<std::unique_ptr<SdkStack>> SdkStack::Start(
    const std::vector<std::string>& broker_flags) {
  StackConfig config;
  config.broker_flags = broker_flags;
  return Start(config);
}

absl::StatusOr<std::unique_ptr<SdkStack>> SdkStack::Start(const StackConfig& config) {
  std::unique_ptr<SdkStack> stack(new SdkStack());
  std::vector<nlohmann::json> clients = config.emulator_clients;
  if (clients.empty()) {
    clients = {EmulatorClient(kShortClient, kShortSecret, 3),
               EmulatorClient(kLongClient, kLongSecret, 3600)};
  }
  auto ims = ImsEmulatorProcess::Start(clients);
  if (!ims.ok()) return ims.status();
  stack->ims_ = *std::move(ims);
  std::vector<std::string> flags = {"--store=memory", "--ims-url=" + stack->ims_->url(),
                                    "--ims-ca-file=" + stack->ims_->ca_file()};
  if (config.tls) {
    ::tokenbroker::testing::WriteServerTls(::tokenbroker::testing::TestCa(), stack->dir_.path());
    flags.push_back("--tls-cert=" + stack->dir_.File("server.pem"));
    flags.push_back("--tls-key=" + stack->dir_.File("server.key"));
  }
  if (!config.policy.empty()) {
    WriteFile(stack->dir_.File("policy.json"), config.policy);
    flags.push_back("--policy-file=" + stack->dir_.File("policy.json"));
  }
  flags.insert(flags.end(), config.broker_flags.begin(), config.broker_flags.end());
  if (absl::Status started = stack->StartBroker(std::move(flags)); !started.ok()) return started;
  return stack;
}

absl::Status SdkStack::StartBroker(std::vector<std::string> flags) {
  broker_flags_ = std::move(flags);
  auto broker = BrokerProcess::Start(broker_flags_);
  if (!broker.ok()) return broker.status();
  broker_ = *std::move(broker);
  return absl::OkStatus();
}

absl::Status SdkStack::RestartBroker() {
  std::string listen = "--listen=" + broker_->address();
  broker_.reset();  // SIGTERM, and waits for the exit
  std::vector<std::string> flags = broker_flags_;
  flags.push_back(listen);  // after BrokerProcess's --listen=127.0.0.1:0: the last one wins
  auto broker = BrokerProcess::Start(flags);
  if (!broker.ok()) return broker.status();
  broker_ = *std::move(broker);
  return absl::OkStatus();
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
  return client.CreateIntegration(request).status();
}

absl::Status SdkStack::CreateOAuthIntegration(Client& client, const std::string& id,
                                              const std::string& client_id,
                                              const std::string& secret) {
  v1::CreateIntegrationRequest request =
      ::tokenbroker::testing::OAuthIntegration(id, client_id, secret, ims_->url());
  request.mutable_integration()->set_org_id(kOrgId);
  request.mutable_integration()->set_technical_account_id("T@techacct.adobe.com");
  return client.CreateIntegration(request).status();
}

absl::Status SdkStack::DeleteIntegration(Client& client, const std::string& id) {
  v1::DeleteIntegrationRequest request;
  request.set_name(IntegrationName(id));
  return client.DeleteIntegration(request).status();
}

int FaultsInjected(::tokenbroker::testing::ImsEmulatorProcess& ims) {
  nlohmann::json stats = ims.Stats();
  if (!stats.contains("faults_injected")) return -1;
  return stats["faults_injected"].get<int>();
}

}  // namespace tokenbroker::client::testing
