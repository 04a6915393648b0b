// tokenctl, the command-line client of tokenbroker: everything but `main`.
#ifndef TOKENBROKER_CLIENT_TOKENCTL_TOKENCTL_H_
#define TOKENBROKER_CLIENT_TOKENCTL_TOKENCTL_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace tokenbroker::tokenctl {

// Exit codes.
inline constexpr int kExitOk = 0;
// The server (or the connection to it) returned an error.
inline constexpr int kExitRpcError = 1;
// The command line is wrong: unknown command or flag, missing ID or required
// flag, bad flag value, unreadable secret file. Nothing was sent.
inline constexpr int kExitUsage = 2;

// The text `tokenctl help` prints.
std::string UsageText();

// Runs one tokenctl invocation. `args` is argv without the program name.
// Secrets and JSON input come from `in`; results go to `out`; errors and
// diagnostics to `err`. Returns the exit code.
//
// Not thread-safe and not reentrant: flag values live in Abseil flags. Blocks
// for the RPCs; `token watch` blocks until SIGINT/SIGTERM or the stream ends.
int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_TOKENCTL_H_
