// A real deployment on loopback for integration tests: ims-emulator over
// TLS on a free port, the tokenbroker binary on a free port pointed at it,
// and gRPC stubs to the broker.
#ifndef TOKENBROKER_TESTS_TESTING_STACK_H_
#define TOKENBROKER_TESTS_TESTING_STACK_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tokenbroker/v1/integration_service.grpc.pb.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

namespace tokenbroker::testing {

// An RSA key pair and self-signed certificate, PEM, for JWT integrations.
struct TestKeyPair {
  std::string private_key_pem;
  std::string certificate_pem;
};
TestKeyPair GenerateTestKeyPair();

class ImsEmulatorProcess {
 public:
  // `clients` is the emulator's clients JSON array; `flags` are extra flags.
  static absl::StatusOr<std::unique_ptr<ImsEmulatorProcess>> Start(
      const std::vector<nlohmann::json>& clients, const std::vector<std::string>& flags = {});

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& ca_file() const { return ca_file_; }
  int port() const { return port_; }
  std::string log() const { return ReadFile(dir_.File("emulator.log")); }

  // GET /emulator/stats.
  nlohmann::json Stats();
  int Exchanges(const std::string& client_id);
  // Successful exchanges of `client_id` by `grant_type`: client_credentials
  // (OAuth S2S, /ims/token/v3) or jwt_bearer (/ims/exchange/jwt).
  int Exchanges(const std::string& client_id, const std::string& grant_type);
  // Token requests received so far, counted on arrival (before any latency
  // fault): > 0 means a request is in flight or answered.
  int TokenRequests();
  // When token requests of `client_id` arrived (its last 2,000).
  std::vector<absl::Time> Arrivals(const std::string& client_id);
  // POST /emulator/faults with `faults`.
  void SetFaults(const nlohmann::json& faults);
  void Reset();
  // POST /emulator/clients: registers or replaces one client (the clients
  // file's JSON). Errors: INTERNAL with the emulator's answer.
  absl::Status PutClient(const nlohmann::json& client);
  // POST /emulator/hold with `hold` (`{}` releases the requests held);
  // returns the hold's status, as HoldStatus(). Errors: INTERNAL.
  absl::StatusOr<nlohmann::json> SetHold(const nlohmann::json& hold);
  // GET /emulator/hold: {"hold", "held_now", "held_total", "seen"}; {} when
  // the emulator does not answer.
  nlohmann::json HoldStatus();
  // GET /emulator/secrets: the client's secrets at the emulated Developer
  // Console, values included ({"uuid", "value", "created_at",
  // "last_used_at"}); an empty array when the emulator does not answer.
  nlohmann::json Secrets(const std::string& client_id);

 private:
  ImsEmulatorProcess() = default;
  TempDir dir_;
  std::string ca_file_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

class BrokerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<BrokerProcess>> Start(
      const std::vector<std::string>& flags);

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<v1::TokenService::Stub> tokens() const {
    return v1::TokenService::NewStub(channel_);
  }
  std::unique_ptr<v1::IntegrationService::Stub> integrations() const {
    return v1::IntegrationService::NewStub(channel_);
  }
  std::string log() const { return ReadFile(dir_.File("broker.log")); }
  Subprocess* process() { return process_.get(); }
  // With --metrics-listen: the port it logged (0 if none), and GET /metrics
  // ("" when it fails).
  int metrics_port() const;
  std::string ScrapeMetrics() const;
  // With --ext-authz-listen: the port it logged ("ext_authz serving"; 0 if
  // none). Logged before the port file is written, so known once Start returns.
  int ext_authz_port() const;

 private:
  BrokerProcess() = default;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A request creating an OAuth S2S integration `id` for emulator client
// `client_id` with `secret`.
v1::CreateIntegrationRequest OAuthIntegration(const std::string& id, const std::string& client_id,
                                              const std::string& secret,
                                              const std::string& ims_url);

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_STACK_H_
