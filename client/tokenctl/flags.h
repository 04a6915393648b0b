// tokenctl's flags and its command-line parser.
//
// Design note: the flags are ordinary Abseil flags (typed values, one
// definition each), but tokenctl parses argv itself instead of calling
// absl::ParseCommandLine, because a CLI needs three things that parser does
// not give: usage errors must exit with code 2 (absl exits 1), flags are
// spelled with hyphens (`--client-id`; absl names are C++ identifiers), and
// each command accepts only its own flags, so that a mistyped or misplaced
// flag is reported instead of silently ignored.
#ifndef TOKENBROKER_CLIENT_TOKENCTL_FLAGS_H_
#define TOKENBROKER_CLIENT_TOKENCTL_FLAGS_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

// Global flags.
ABSL_DECLARE_FLAG(std::string, server);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(absl::Duration, timeout);
ABSL_DECLARE_FLAG(std::string, ca_file);
ABSL_DECLARE_FLAG(std::string, cert);
ABSL_DECLARE_FLAG(std::string, key);
ABSL_DECLARE_FLAG(std::string, token_file);
ABSL_DECLARE_FLAG(std::string, audit_key_file);

// Integration flags.
ABSL_DECLARE_FLAG(std::string, auth);
ABSL_DECLARE_FLAG(std::string, client_id);
ABSL_DECLARE_FLAG(std::string, client_secret_file);
ABSL_DECLARE_FLAG(std::string, org_id);
ABSL_DECLARE_FLAG(std::string, technical_account_id);
ABSL_DECLARE_FLAG(std::string, private_key_file);
ABSL_DECLARE_FLAG(std::vector<std::string>, scopes);
ABSL_DECLARE_FLAG(std::vector<std::string>, metascopes);
ABSL_DECLARE_FLAG(std::string, ims_url);
ABSL_DECLARE_FLAG(std::string, sandbox);
ABSL_DECLARE_FLAG(bool, org_header);
ABSL_DECLARE_FLAG(std::string, display_name);
ABSL_DECLARE_FLAG(std::string, state);
ABSL_DECLARE_FLAG(std::string, etag);
ABSL_DECLARE_FLAG(int32_t, page_size);

// Token flags.
ABSL_DECLARE_FLAG(absl::Duration, min_validity);
ABSL_DECLARE_FLAG(bool, show_token);

// Health flags.
ABSL_DECLARE_FLAG(std::string, service);

namespace tokenbroker::tokenctl {

// The flags every command accepts, by their hyphenated names.
inline const std::vector<std::string>& GlobalFlagNames() {
  static const auto* names = new std::vector<std::string>{"server", "json", "timeout",   "ca-file",
                                                          "cert",   "key",  "token-file"};
  return *names;
}

// The result of parsing argv.
struct CommandLine {
  // The arguments that are not flags: the command words and the ID.
  std::vector<std::string> args;
  // The hyphenated names of the flags given, e.g. "client-id".
  std::set<std::string> specified;
  // `help`, `-h`, `--help` or `-help` was given as a flag.
  bool help = false;

  bool Has(const std::string& flag) const { return specified.count(flag) > 0; }
};

// Parses `argv` (without the program name), storing flag values in the Abseil
// flags. Accepts `--name=value`, `--name value`, `-name...`, `--bool`,
// `--bool=true|false`, `--no-bool`/`--nobool`, and `--` to end the flags.
// Only tokenctl's own flags are known; hyphens and underscores in names are
// interchangeable.
// Errors: INVALID_ARGUMENT (unknown flag, missing or malformed value), with a
// message for the user.
absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& argv);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_FLAGS_H_
