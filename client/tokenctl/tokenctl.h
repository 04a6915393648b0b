// tokenctl, the command-line client of tokenbroker: everything but `main`.
// It reaches the server through the C++ SDK (tokenbroker::client: channel,
// TLS, caller token) and calls the generated stubs on the SDK's channel, so
// that errors keep every detail the server sent.
#ifndef TOKENBROKER_CLIENT_TOKENCTL_TOKENCTL_H_
#define TOKENBROKER_CLIENT_TOKENCTL_TOKENCTL_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "client/tokenctl/flags.h"

namespace tokenbroker::tokenctl {

// Exit codes.
inline constexpr int kExitOk = 0;
// The server (or the connection to it) returned an error.
inline constexpr int kExitRpcError = 1;
// The command line is wrong: unknown command or flag, a flag the command
// does not take, missing ID or required flag, bad flag value, unreadable
// secret file. Nothing was sent.
inline constexpr int kExitUsage = 2;

// Runs one tokenctl invocation. `args` is argv without the program name;
// `env` supplies the flags' environment variables (ProcessEnvironment() in
// main). Secrets and JSON input come from `in`; results go to `out`; errors
// and diagnostics to `err`. Returns the exit code.
//
// Options belong to the invocation: concurrent calls do not share state
// (but `token watch` blocks SIGINT and SIGTERM in the calling thread).
// Blocks for the RPCs; `token watch` until SIGINT/SIGTERM or the stream ends.
int Run(const std::vector<std::string>& args, const EnvLookup& env, std::istream& in,
        std::ostream& out, std::ostream& err);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_TOKENCTL_H_
