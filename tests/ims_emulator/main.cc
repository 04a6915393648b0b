// ims-emulator: a local Adobe IMS for tests, demos and benchmarks.
// See README.md beside this file.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/flag_names.h"
#include "tests/ims_emulator/clients.h"
#include "tests/ims_emulator/emulator_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0",
          "Address to listen on, HOST:PORT ([V6]:PORT for IPv6); port 0 picks a free port.");
ABSL_FLAG(std::string, port_file, "",
          "Write the chosen port number to this file once listening (written to a temporary "
          "file, then renamed, so readers never see a partial file).");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) to serve. With --tls-key; without both, a self-signed EC "
          "P-256 certificate for DNS:localhost, IP:127.0.0.1, IP:::1 is generated.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert.");
ABSL_FLAG(std::string, cert_out, "",
          "Where to write the generated certificate (PEM, certificate only: use it as the "
          "client's CA file). Required unless --tls-cert/--tls-key or --plain-http.");
ABSL_FLAG(bool, plain_http, false, "Serve plain HTTP instead of HTTPS (loopback tests only).");
ABSL_FLAG(std::string, clients, "",
          "JSON file {\"clients\":[{\"client_id\",\"client_secrets\":[1 or 2],\"org_id\","
          "\"technical_account_id\",\"certificate_pem\" or \"certificate_file\",\"scopes\","
          "\"metascopes\",\"token_lifetime_seconds\"}]}. An invalid file exits with code 2.");
ABSL_FLAG(absl::Duration, token_lifetime, absl::Hours(24),
          "Lifetime of minted access tokens (a client's token_lifetime_seconds overrides it).");
ABSL_FLAG(absl::Duration, jwt_max_exp_ahead, absl::Hours(24),
          "How far in the future a JWT's exp may be.");
ABSL_FLAG(std::string, public_url, "",
          "Base URL JWT aud ({base}/c/{client_id}) and metascope claims ({base}/s/{name}) must "
          "use. Default: https:// (http:// with --plain-http) + the request's Host header.");
ABSL_FLAG(double, fault_error_rate, 0,
          "Fraction of token requests answered 500 {\"error\":\"server_error\"}.");
ABSL_FLAG(absl::Duration, fault_latency, absl::ZeroDuration(),
          "Delay added before every token endpoint response.");
ABSL_FLAG(double, fault_429_rate, 0,
          "Fraction of token requests answered 429 with Retry-After: --retry-after-seconds.");
ABSL_FLAG(int, retry_after_seconds, 1, "Retry-After value (seconds) of injected 429s.");
ABSL_FLAG(double, fault_5xx_rate, 0, "Fraction of token requests answered 503.");
ABSL_FLAG(double, fault_drop_rate, 0,
          "Fraction of token requests whose connection is closed without any response (the "
          "socket is shut down after the request was read).");
ABSL_FLAG(double, fault_malformed_rate, 0,
          "Fraction of token requests answered 200 with a truncated, non-JSON body.");
ABSL_FLAG(double, fault_hang_rate, 0,
          "Fraction of token requests left unanswered for --fault-hang, after which the "
          "connection is reset (set --fault-hang past the client's timeout).");
ABSL_FLAG(absl::Duration, fault_hang, absl::Seconds(60), "How long a hung request waits.");
ABSL_FLAG(double, fault_reset_rate, 0,
          "Fraction of token requests whose connection is reset (TCP RST) with no response.");
ABSL_FLAG(double, fault_slow_rate, 0,
          "Fraction of token requests answered normally after --fault-slow.");
ABSL_FLAG(absl::Duration, fault_slow, absl::Seconds(2), "How long a slow answer takes.");
ABSL_FLAG(bool, log_requests, false,
          "Print one line per request on stderr (method, path, status, latency, x-debug-id, "
          "client_id, injected fault; never secrets or tokens).");
ABSL_FLAG(absl::Duration, hold_timeout, absl::Seconds(60),
          "The longest a request held by POST /emulator/hold waits for its release (it is "
          "then dropped unanswered).");
ABSL_FLAG(int, threads, 8,
          "Worker threads; each open connection (idle keep-alive ones included) holds one.");

namespace tokenbroker::emulator {
namespace {

constexpr int kConfigError = 2;

int Fail(absl::string_view message) {
  std::cerr << "ims-emulator: " << message << std::endl;
  return kConfigError;
}

bool ParseListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  return absl::SimpleAtoi(listen.substr(colon + 1), port) && *port >= 0 && *port <= 65535;
}

bool ValidRate(double rate) { return rate >= 0 && rate <= 1; }

int Run() {
  ServerOptions options;
  if (!ParseListen(absl::GetFlag(FLAGS_listen), &options.host, &options.port)) {
    return Fail(
        absl::StrCat("--listen: expected HOST:PORT, got \"", absl::GetFlag(FLAGS_listen), "\""));
  }
  options.plain_http = absl::GetFlag(FLAGS_plain_http);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.cert_out = absl::GetFlag(FLAGS_cert_out);
  options.public_url = absl::GetFlag(FLAGS_public_url);
  options.log_requests = absl::GetFlag(FLAGS_log_requests);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.hold_timeout = absl::GetFlag(FLAGS_hold_timeout);
  if (options.hold_timeout <= absl::ZeroDuration()) return Fail("--hold-timeout must be > 0");
  options.emulator.token_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  options.emulator.jwt_max_exp_ahead = absl::GetFlag(FLAGS_jwt_max_exp_ahead);
  if (options.emulator.token_lifetime < absl::Seconds(1) ||
      options.emulator.jwt_max_exp_ahead <= absl::ZeroDuration()) {
    return Fail("--token-lifetime must be >= 1s and --jwt-max-exp-ahead > 0");
  }

  FaultSettings& faults = options.faults;
  faults.error_rate = absl::GetFlag(FLAGS_fault_error_rate);
  faults.latency = absl::GetFlag(FLAGS_fault_latency);
  faults.rate_429 = absl::GetFlag(FLAGS_fault_429_rate);
  faults.retry_after_seconds = absl::GetFlag(FLAGS_retry_after_seconds);
  faults.rate_5xx = absl::GetFlag(FLAGS_fault_5xx_rate);
  faults.drop_rate = absl::GetFlag(FLAGS_fault_drop_rate);
  faults.malformed_rate = absl::GetFlag(FLAGS_fault_malformed_rate);
  faults.hang_rate = absl::GetFlag(FLAGS_fault_hang_rate);
  faults.hang = absl::GetFlag(FLAGS_fault_hang);
  faults.reset_rate = absl::GetFlag(FLAGS_fault_reset_rate);
  faults.slow_rate = absl::GetFlag(FLAGS_fault_slow_rate);
  faults.slow = absl::GetFlag(FLAGS_fault_slow);
  for (double rate :
       {faults.error_rate, faults.rate_429, faults.rate_5xx, faults.drop_rate,
        faults.malformed_rate, faults.hang_rate, faults.reset_rate, faults.slow_rate}) {
    if (!ValidRate(rate)) return Fail("--fault-*-rate flags must be in [0, 1]");
  }
  if (faults.latency < absl::ZeroDuration() || faults.retry_after_seconds < 0 ||
      faults.hang < absl::ZeroDuration() || faults.slow < absl::ZeroDuration()) {
    return Fail(
        "--fault-latency, --fault-hang, --fault-slow and --retry-after-seconds must not be "
        "negative");
  }

  if (!absl::GetFlag(FLAGS_clients).empty()) {
    auto clients = LoadClientsFile(absl::GetFlag(FLAGS_clients));
    if (!clients.ok()) return Fail(absl::StrCat("--clients: ", clients.status().message()));
    options.clients = *std::move(clients);
  }

  auto server = EmulatorServer::New(std::move(options));
  if (!server.ok()) return Fail(server.status().message());
  auto port = (*server)->Bind();
  if (!port.ok()) return Fail(port.status().message());

  std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    absl::Status written = WriteFileAtomically(port_file, absl::StrCat(*port, "\n"));
    if (!written.ok()) return Fail(written.message());
  }
  std::cout << "ims-emulator listening on " << (*server)->url() << std::endl;

  // SIGINT/SIGTERM are blocked in every thread (see main) and taken here.
  std::promise<void> served;
  std::future<void> served_future = served.get_future();
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> ended_early{false};
  std::thread serve([&] {
    (*server)->Serve();
    if (!stop_requested) {
      ended_early = true;
      kill(getpid(), SIGTERM);  // Wakes sigwait: serving stopped on its own.
    }
    served.set_value();
  });
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int signal = 0;
  sigwait(&signals, &signal);
  stop_requested = true;
  (*server)->Stop();
  // httplib's workers finish their connection's current request, but an idle
  // keep-alive connection holds its worker for up to 5 s: do not wait for it.
  if (served_future.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
    std::cout.flush();
    std::fflush(nullptr);
    _exit(0);
  }
  serve.join();
  if (ended_early) return Fail("the server stopped accepting connections");
  return 0;
}

}  // namespace
}  // namespace tokenbroker::emulator

int main(int argc, char** argv) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "ims_emulator/main.cc");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.normalize_filename = [](absl::string_view file) { return std::string(file); };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(
      "A local Adobe IMS for tests, demos and benchmarks: OAuth server-to-server "
      "(/ims/token/v3, /ims/token/v2), JWT exchange (/ims/exchange/jwt), admin endpoints under "
      "/emulator/ and fault injection.\nUsage: ims-emulator --cert-out=ca.pem "
      "--clients=clients.json [--port-file=F] [flags]\n"
      "Flag names may be written with dashes or underscores (--port-file, --port_file).");
  std::vector<std::string> storage;
  std::vector<char*> args = tokenbroker::NormalizeFlagNames(argc, argv, &storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  // Before any thread starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A peer that closes first must not kill us on write (httplib sends
  // without MSG_NOSIGNAL, and injected drops write to a shut-down socket).
  signal(SIGPIPE, SIG_IGN);
  return tokenbroker::emulator::Run();
}
