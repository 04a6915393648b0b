// The operator's subcommands of the tokenbroker binary (keyring, rekey,
// backup, restore, check, migrate). Like server.cc they sit at the composition root:
// they pick the store and the cipher from flags.
#ifndef TOKENBROKER_SERVER_ADMIN_COMMANDS_H_
#define TOKENBROKER_SERVER_ADMIN_COMMANDS_H_

#include <string>
#include <vector>

#include "server/server.h"

namespace tokenbroker {

struct AdminOptions {
  ServerOptions server;  // store, kek_file
  std::string to;        // backup --to
  std::string from;      // restore --from
  std::string key_id;    // keyring remove --key-id
  std::string identity;  // caller-token create --identity
  bool force = false;    // restore over an existing database
};

// True when `command` (argv[1]) names a subcommand.
bool IsAdminCommand(const std::string& command);
// Runs `args` (command and its positional words). Prints progress and a
// summary to stdout, errors to stderr. Returns the exit code: 0 ok,
// 1 failed, 2 usage error.
int RunAdminCommand(const std::vector<std::string>& args, const AdminOptions& options);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_ADMIN_COMMANDS_H_
