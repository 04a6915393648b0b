// tokenctl's commands and flags: one table of flag specs that drives parsing,
// per-command validation and the usage text, and the Options struct each
// invocation parses into.
//
// Design note: tokenctl parses argv itself, without Abseil's flag registry,
// because a CLI needs what absl::ParseCommandLine does not give: usage errors
// exit with code 2 (absl exits 1), flags are spelled with hyphens
// (`--client-id`), each command accepts only its own flags (a mistyped or
// misplaced flag is reported, not silently ignored), and options belong to
// one invocation rather than to process-wide globals, so that Run() can be
// called from tests. Values are still parsed with absl::ParseFlag, so
// booleans, durations and lists read as they would with Abseil flags.
#ifndef TOKENBROKER_CLIENT_TOKENCTL_FLAGS_H_
#define TOKENBROKER_CLIENT_TOKENCTL_FLAGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokenbroker::tokenctl {

// Every command. `integrations create` is two: the value of --auth selects
// which, and with it the flags that are required or accepted.
enum class Command {
  kIntegrationsCreateOAuth,
  kIntegrationsCreateJwt,
  kIntegrationsList,
  kIntegrationsGet,
  kIntegrationsUpdate,
  kIntegrationsDelete,
  kIntegrationsImport,
  kIntegrationsMigrate,
  kSecretsList,
  kSecretsRotate,
  kTokenGet,
  kTokenHeaders,
  kTokenRefresh,
  kTokenWatch,
  kAuditFingerprint,
  kHealth,
  kVersion,
};

// A set of commands, one bit per Command.
using CommandSet = uint32_t;
constexpr CommandSet Bit(Command command) { return CommandSet{1} << static_cast<int>(command); }
inline constexpr CommandSet kAllCommands = (Bit(Command::kVersion) << 1) - 1;

struct CommandSpec {
  Command command;
  // The command words, e.g. "integrations create".
  absl::string_view words;
  // For commands that share their words: the flag and value that select this
  // one, e.g. {"auth", "oauth-s2s"}. Empty otherwise.
  absl::string_view selector_flag;
  absl::string_view selector_value;
  // Whether the command takes an integration ID.
  bool takes_id;
  // What it does, for the usage text: lines without indentation.
  absl::string_view help;
  // Section of the usage text: "Integrations", "Tokens", ...
  absl::string_view section;
  // Whether the command takes a FILE operand instead (integrations import).
  bool takes_file = false;

  // "integrations create --auth=jwt" or "token get", for messages.
  std::string DisplayName() const;
};

// Every command, in the order of the usage text.
const std::vector<CommandSpec>& Commands();
const CommandSpec& SpecOf(Command command);

// The options of one invocation. Each field is the value of the flag of the
// same name (hyphens for underscores). Members start as their type's empty
// value; ParseCommandLine applies the defaults of the flag table, the one
// place that states them.
struct Options {
  // Connection (every command).
  std::string server;
  bool plaintext = false;
  std::string ca_file;
  std::string cert;
  std::string key;
  std::string token_file;
  absl::Duration timeout;
  bool json = false;
  // integrations
  std::string auth;
  std::string client_id;
  std::string client_secret_file;
  std::string org_id;
  std::string technical_account_id;
  std::string private_key_file;
  std::vector<std::string> scopes;
  std::vector<std::string> metascopes;
  std::string ims_url;
  std::string sandbox;
  bool org_header = false;
  std::string display_name;
  std::string state;
  std::string etag;
  int32_t page_size = 0;
  absl::Duration rotation_period;
  std::string console_credential;
  // integrations import
  std::string id;
  std::string credential;
  bool dry_run = false;
  bool update = false;
  // secrets rotate
  bool now = false;
  // token
  absl::Duration min_validity;
  bool show_token = false;
  // audit, health
  std::string audit_key_file;
  std::string service;

  // The flags given on the command line, by name ("client-id").
  std::set<std::string> given;
  // The flags whose value came from their environment variable.
  std::set<std::string> from_env;

  bool Has(absl::string_view flag) const { return given.count(std::string(flag)) > 0; }
};

// Where a flag's value goes: the Options member, whose type is the flag's
// kind (string, bool, duration, integer, comma-separated list).
using OptionField = std::variant<std::string Options::*, bool Options::*, absl::Duration Options::*,
                                 int32_t Options::*, std::vector<std::string> Options::*>;

// One flag: the single place that names it.
struct FlagSpec {
  // Hyphenated, without `--`: "client-id".
  absl::string_view name;
  OptionField field;
  // Placeholder of the value in the usage text (`--client-id=ID`); empty for
  // booleans.
  absl::string_view value_name;
  absl::string_view help;
  // The commands that accept it (kAllCommands: a global flag) and those that
  // require it.
  CommandSet accepted;
  CommandSet required;
  // The default, parsed like a value given on the command line; "" means the
  // type's empty value.
  absl::string_view default_value;
  // Environment variable read when the flag is not given; "" for none.
  absl::string_view env;
  // `integrations update`: the update_mask path this flag sets; "" if it
  // sets none.
  absl::string_view update_path;

  bool global() const { return accepted == kAllCommands; }
  bool is_bool() const { return std::holds_alternative<bool Options::*>(field); }
};

// Every flag, in the order of the usage text.
const std::vector<FlagSpec>& Flags();
// The flag named `name`, or null.
const FlagSpec* FindFlag(absl::string_view name);

// A parsed command line.
struct CommandLine {
  // `help`, `-h` or `--help`: print the usage and nothing else.
  bool help = false;
  // The command; null when `help` is set or argv holds no command words (empty, or flags only):
  // tokenctl then prints the usage.
  const CommandSpec* command = nullptr;
  // The integration ID, for commands that take one.
  std::string id;
  // The FILE operand, for commands that take one.
  std::string file;
  Options options;
};

// Reads the environment: std::getenv in production; a map in tests.
using EnvLookup = std::function<std::optional<std::string>(absl::string_view name)>;
EnvLookup ProcessEnvironment();

// Parses argv (without the program name) into the command, its ID and its
// options, and checks them against the flag table: every flag is known and
// accepted by the command, required flags are given, values parse. Flags may
// come before or after the command words. Accepts `--name=value`,
// `--name value`, a single leading `-`, `--bool`, `--bool=true|false`,
// `--no-bool`/`--nobool`, and `--` to end the flags; `_` may stand for `-`
// in names. A flag given twice keeps its last value. Flags not given take
// their environment variable, else their default.
// Errors: INVALID_ARGUMENT with a message for the user (unknown command or
// flag, flag not accepted by the command, missing value, ID or required flag,
// malformed or out-of-range value, unexpected argument).
absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& argv,
                                             const EnvLookup& env);

// The text `tokenctl help` prints, generated from Commands() and Flags().
std::string UsageText();

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates), as
// proto3 string fields require.
bool IsValidUtf8(absl::string_view text);

// One command's synopsis in the usage text, on one line: its words, ID,
// selector, the flags it requires, then the other flags it takes in
// brackets (global flags are listed once, apart). E.g.
// `token get ID [--min-validity=DURATION]`.
std::string Synopsis(const CommandSpec& spec);

// `integrations update`: the update_mask paths of the flags given, in table
// order.
std::vector<std::string> UpdateMaskPaths(const Options& options);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_FLAGS_H_
