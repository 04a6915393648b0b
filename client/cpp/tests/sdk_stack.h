// The real deployment the SDK tests run against: ims-emulator (TLS) and the
// tokenbroker binary on free loopback ports (tests/testing/stack.h), plus
// helpers that register integrations through the SDK's own channel, so that
// they work over TLS as well.
#ifndef TOKENBROKER_CLIENT_CPP_TESTS_SDK_STACK_H_
#define TOKENBROKER_CLIENT_CPP_TESTS_SDK_STACK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/stack.h"
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

class SdkStack {
 public:
  // Starts both processes; `broker_flags` are added to the broker's
  // (--store=memory, --ims-url, --ims-ca-file are always set).
  static absl::StatusOr<std::unique_ptr<SdkStack>> Start(
      const std::vector<std::string>& broker_flags = {});

  ::tokenbroker::testing::ImsEmulatorProcess& ims() { return *ims_; }
  ::tokenbroker::testing::BrokerProcess& broker() { return *broker_; }

  // Plaintext options to the broker, with short retries.
  ClientOptions PlaintextOptions() const;

  // Registers `id` for emulator client `client_id` through `client`.
  absl::Status CreateIntegration(Client& client, const std::string& id,
                                 const std::string& client_id, const std::string& secret);
  absl::Status DeleteIntegration(Client& client, const std::string& id);

 private:
  SdkStack() = default;
  std::unique_ptr<::tokenbroker::testing::ImsEmulatorProcess> ims_;
  std::unique_ptr<::tokenbroker::testing::BrokerProcess> broker_;
};

// The `faults_injected` counter of the emulator.
int FaultsInjected(::tokenbroker::testing::ImsEmulatorProcess& ims);

}  // namespace tokenbroker::client::testing

#endif  // TOKENBROKER_CLIENT_CPP_TESTS_SDK_STACK_H_
