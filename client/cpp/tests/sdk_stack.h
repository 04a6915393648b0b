// The real deployment the SDK tests run against: ims-emulator (TLS) and the
// tokenbroker binary on free loopback ports (tests/testing/stack.h), plus
// helpers that register integrations through the SDK's own wrapped
// IntegrationService calls, so that they work over TLS as well.
#ifndef TOKENBROKER_CLIENT_CPP_TESTS_SDK_STACK_H_
#define TOKENBROKER_CLIENT_CPP_TESTS_SDK_STACK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/testing/stack.h"
#include "tests/testing/subprocess.h"
#include "tokenbroker/client/client.h"
#include "tokenbroker/client/options.h"

namespace tokenbroker::client::testing {

// Emulator clients: c1 mints 3-second tokens (rotation tests), c2 one-hour
// tokens (tests that must not see a rotation).
inline constexpr char kShortClient[] = "c1";
inline constexpr char kShortSecret[] = "s1";
inline constexpr char kLongClient[] = "c2";
inline constexpr char kLongSecret[] = "s2";
inline constexpr char kOrgId[] = "ORG@AdobeOrg";

// An emulator client (the clients file's JSON): org kOrgId, technical
// account T@techacct.adobe.com, scopes openid and AdobeID.
nlohmann::json EmulatorClient(const std::string& id, const std::string& secret,
                              int lifetime_seconds);

// What SdkStack::Start starts.
struct StackConfig {
  // The emulator's clients; empty: kShortClient and kLongClient.
  std::vector<nlohmann::json> emulator_clients;
  // Added to the broker's flags (--store=memory, --ims-url, --ims-ca-file
  // are always set).
  std::vector<std::string> broker_flags;
  // The broker serves TLS with a certificate for 127.0.0.1 issued by a test
  // CA (ca_file()).
  bool tls = false;
  // The content of a --policy-file; empty: none.
  std::string policy;
};

class SdkStack {
 public:
  // Starts both processes; `broker_flags` are added to the broker's.
  static absl::StatusOr<std::unique_ptr<SdkStack>> Start(
      const std::vector<std::string>& broker_flags = {});
  static absl::StatusOr<std::unique_ptr<SdkStack>> Start(const StackConfig& config);

  // Stops the broker (SIGTERM, waiting for its exit) and starts it again on
  // the same port with the same flags. Its memory store starts empty.
  absl::Status RestartBroker();

  ::tokenbroker::testing::ImsEmulatorProcess& ims() { return *ims_; }
  ::tokenbroker::testing::BrokerProcess& broker() { return *broker_; }

  // Plaintext options to the broker, with short retries.
  ClientOptions PlaintextOptions() const;
  // With StackConfig::tls: the test CA that issued the broker's certificate.
  std::string ca_file() const { return dir_.File("ca.pem"); }

  // Registers `id` for emulator client `client_id` through `client`.
  absl::Status CreateIntegration(Client& client, const std::string& id,
                                 const std::string& client_id, const std::string& secret);
  // The same with the org and technical account of EmulatorClient() and
  // without the org header.
  absl::Status CreateOAuthIntegration(Client& client, const std::string& id,
                                      const std::string& client_id, const std::string& secret);
  absl::Status DeleteIntegration(Client& client, const std::string& id);

 private:
  SdkStack() = default;
  absl::Status StartBroker(std::vector<std::string> flags);

  ::tokenbroker::testing::TempDir dir_;    // TLS files, policy
  std::vector<std::string> broker_flags_;  // as started, for RestartBroker
  std::unique_ptr<::tokenbroker::testing::ImsEmulatorProcess> ims_;
  std::unique_ptr<::tokenbroker::testing::BrokerProcess> broker_;
};

// The `faults_injected` counter of the emulator.
int FaultsInjected(::tokenbroker::testing::ImsEmulatorProcess& ims);

}  // namespace tokenbroker::client::testing

#endif  // TOKENBROKER_CLIENT_CPP_TESTS_SDK_STACK_H_
