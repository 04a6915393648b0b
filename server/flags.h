#ifndef TOKENBROKER_SERVER_FLAGS_H_
#define TOKENBROKER_SERVER_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/admin_commands.h"
#include "server/server.h"

namespace tokenbroker {

// Parses argv (every flag may also come from TOKENBROKER_<FLAG_NAME>, the
// command line winning) into ServerOptions. Returns the positional
// arguments in `positional` (argv[0] first). Exits on --help.
absl::StatusOr<ServerOptions> ParseServerFlags(int argc, char** argv,
                                               std::vector<std::string>* positional);

// The subcommands' options, from the flags ParseServerFlags parsed.
AdminOptions AdminOptionsFromFlags(const ServerOptions& server);

absl::Duration ShutdownGrace();
// --shutdown-delay: serving on, readiness off, before the drain starts.
absl::Duration ShutdownDelay();
// --allow-core-dumps: skip the core-dump part of HardenProcess (debugging).
bool AllowCoreDumps();

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_FLAGS_H_
