// The IMS emulator over HTTPS (or plain HTTP): routes, TLS setup, fault
// injection and the admin endpoints tests use. See README.md beside this
// file for the endpoints.
#ifndef TOKENBROKER_TESTS_IMS_EMULATOR_EMULATOR_SERVER_H_
#define TOKENBROKER_TESTS_IMS_EMULATOR_EMULATOR_SERVER_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/ims_emulator/clients.h"
#include "tests/ims_emulator/crypto.h"
#include "tests/ims_emulator/hold_gate.h"
#include "tests/ims_emulator/ims_emulator.h"

namespace tokenbroker::emulator {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // Serve plain HTTP instead of HTTPS.
  bool plain_http = false;
  // PEM certificate (chain) and private key. Both empty: a self-signed EC
  // P-256 certificate for localhost/127.0.0.1/::1 is generated and written
  // to `cert_out` (required then).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string cert_out;
  // Base URL JWT aud and metascope claims must use. Empty: scheme + Host
  // header of each request.
  std::string public_url;
  // One line per request on stderr (no secrets, no tokens).
  bool log_requests = false;
  // Worker threads. httplib holds one thread per open connection, idle
  // keep-alive ones included (for up to 5 s).
  int threads = 8;
  // The longest a request stays held by POST /emulator/hold (hold_gate.h).
  absl::Duration hold_timeout = absl::Seconds(60);
  EmulatorOptions emulator;
  FaultSettings faults;
  std::vector<ClientConfig> clients;
};

// Owns the HTTP server and the ImsEmulator. Bind() then Serve(); Stop() may
// be called from any thread.
class EmulatorServer {
 public:
  // Builds the TLS context (generating the certificate if needed) and the
  // routes. Errors: INVALID_ARGUMENT (options, TLS files), INTERNAL.
  static absl::StatusOr<std::unique_ptr<EmulatorServer>> New(ServerOptions options);
  ~EmulatorServer();

  // Binds and listens; returns the port. Errors: UNAVAILABLE.
  absl::StatusOr<int> Bind();
  // Accepts connections until Stop(). Blocks.
  void Serve();
  void Stop();

  // "https://127.0.0.1:PORT" (or http://), valid after Bind().
  std::string url() const;
  ImsEmulator& emulator() { return *emulator_; }
  HoldGate& holds() { return *holds_; }

 private:
  explicit EmulatorServer(ServerOptions options) : options_(std::move(options)) {}
  absl::Status SetUpTls();
  void AddRoutes();
  template <typename Wrap>
  void AddConsoleRoutes(const Wrap& wrap);
  // /emulator/hold and /emulator/secrets.
  template <typename Wrap>
  void AddTestRoutes(const Wrap& wrap);

  enum class Flow { kClientCredentials, kJwt };
  // Returns a note for the request log.
  std::string HandleToken(Flow flow, const httplib::Request& req, httplib::Response& res);
  // Answers `fault` (or delays, for kSlow); false when the request is to
  // be answered normally.
  bool AnswerFault(Fault fault, const FaultSettings& faults, const httplib::Request& req,
                   httplib::Response& res, std::string* note);
  // Blocks on `ticket` (HoldGate::Block), then drops the connection: a held
  // request is never answered. Returns `note` for the request log.
  std::string Held(const HoldGate::Ticket& ticket, const httplib::Request& req,
                   httplib::Response& res, std::string note);
  std::string BaseUrl(const httplib::Request& req) const;

  ServerOptions options_;
  int port_ = 0;
  std::unique_ptr<ImsEmulator> emulator_;
  std::unique_ptr<HoldGate> holds_;
  // Generated TLS identity (when no files are given).
  X509Ptr tls_cert_;
  EvpPkeyPtr tls_key_;
  std::unique_ptr<httplib::Server> http_;
};

// Writes `content` to `path` via a temporary file and rename(), so readers
// never see a partial file. Errors: INTERNAL.
absl::Status WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace tokenbroker::emulator

#endif  // TOKENBROKER_TESTS_IMS_EMULATOR_EMULATOR_SERVER_H_
