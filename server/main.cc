// tokenbroker: flags -> ServerOptions -> Server::BuildAndStart; SIGTERM or
// SIGINT -> graceful shutdown.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/log.h"
#include "server/common/process_hardening.h"
#include "server/flags.h"
#include "server/server.h"

int main(int argc, char** argv) {
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::vector<std::string> positional;
  absl::StatusOr<tokenbroker::ServerOptions> options =
      tokenbroker::ParseServerFlags(argc, argv, &positional);
  if (!options.ok()) {
    std::fprintf(stderr, "tokenbroker: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  // Before any secret is read, for the subcommands as well (keyring, rekey,
  // backup handle keys and records). Flag parsing reads no file.
  absl::Status hardened = tokenbroker::HardenProcess(tokenbroker::AllowCoreDumps());
  if (!hardened.ok()) {
    std::fprintf(stderr, "tokenbroker: %s\n", std::string(hardened.message()).c_str());
    return 1;
  }
  if (positional.size() > 1 && tokenbroker::IsAdminCommand(positional[1])) {
    std::vector<std::string> args(positional.begin() + 1, positional.end());
    return tokenbroker::RunAdminCommand(args, tokenbroker::AdminOptionsFromFlags(*options));
  }
  if (positional.size() > 1) {
    std::fprintf(stderr, "tokenbroker: unexpected argument '%s' (see --help)\n",
                 positional[1].c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<tokenbroker::Server>> server =
      tokenbroker::Server::BuildAndStart(*options);
  if (!server.ok()) {
    tokenbroker::Log(tokenbroker::LogLevel::kError, "start-up failed",
                     {{"code", absl::StatusCodeToString(server.status().code())},
                      {"error", std::string(server.status().message())}});
    return 1;
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  absl::Duration grace = tokenbroker::ShutdownGrace();
  absl::Duration delay = tokenbroker::ShutdownDelay();
  tokenbroker::Log(tokenbroker::LogLevel::kInfo, "stopping",
                   {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
                    {"delay", absl::FormatDuration(delay)},
                    {"grace", absl::FormatDuration(grace)}});
  // The exit is bounded: whatever hangs (a stuck store or IMS call), the
  // process is gone shortly after the grace period. A second signal exits now.
  std::thread([grace, delay, stop_signals] {
    sigset_t signals = stop_signals;
    struct timespec timeout = absl::ToTimespec(delay + grace + absl::Seconds(5));
    int second = sigtimedwait(&signals, nullptr, &timeout);
    tokenbroker::Log(tokenbroker::LogLevel::kError,
                     second > 0 ? "second stop signal: exiting now"
                                : "shutdown exceeded its bound: exiting now");
    std::_Exit(1);
  }).detach();
  (*server)->Shutdown(grace, delay);
  // Every call is finished and the audit log flushed; what is left are
  // exchange threads, which may still be waiting for IMS (up to
  // --ims-timeout): nothing they hold needs cleaning up, so they are not
  // waited for. Committed store writes are already durable.
  std::_Exit(0);
}
