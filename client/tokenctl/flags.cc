#include "client/tokenctl/flags.h"

#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/flags/marshalling.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace tokenbroker::tokenctl {
namespace {

constexpr CommandSet kCreateOAuth = Bit(Command::kIntegrationsCreateOAuth);
constexpr CommandSet kCreateJwt = Bit(Command::kIntegrationsCreateJwt);
constexpr CommandSet kCreate = kCreateOAuth | kCreateJwt;
constexpr CommandSet kList = Bit(Command::kIntegrationsList);
constexpr CommandSet kUpdate = Bit(Command::kIntegrationsUpdate);
constexpr CommandSet kDelete = Bit(Command::kIntegrationsDelete);
constexpr CommandSet kImport = Bit(Command::kIntegrationsImport);
constexpr CommandSet kMigrate = Bit(Command::kIntegrationsMigrate);
constexpr CommandSet kSecretsRotate = Bit(Command::kSecretsRotate);
constexpr CommandSet kTokenGet = Bit(Command::kTokenGet);
constexpr CommandSet kTokenHeaders = Bit(Command::kTokenHeaders);
constexpr CommandSet kTokenRefresh = Bit(Command::kTokenRefresh);
constexpr CommandSet kTokenWatch = Bit(Command::kTokenWatch);
constexpr CommandSet kAuditFingerprint = Bit(Command::kAuditFingerprint);
constexpr CommandSet kHealth = Bit(Command::kHealth);

// Width of the usage text.
constexpr size_t kWidth = 79;

// `--name=VALUE`, or `--name` for a boolean.
std::string FlagSyntax(const FlagSpec& flag) {
  if (flag.is_bool()) return absl::StrCat("--", flag.name);
  return absl::StrCat("--", flag.name, "=", flag.value_name);
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 9;
    if (n == 9 || text.size() - i <= n) return false;  // bad lead byte, or cut short
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += n + 1;
  }
  return true;
}

std::string CommandSpec::DisplayName() const {
  if (selector_flag.empty()) return std::string(words);
  return absl::StrCat(words, " --", selector_flag, "=", selector_value);
}

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {Command::kIntegrationsCreateOAuth, "integrations create", "auth", "oauth-s2s", true,
       "Registers an OAuth server-to-server credential.", "Integrations"},
      {Command::kIntegrationsCreateJwt, "integrations create", "auth", "jwt", true,
       "Registers a JWT (service account) credential.", "Integrations"},
      {Command::kIntegrationsList, "integrations list", "", "", false,
       "A table of all integrations (every page).", "Integrations"},
      {Command::kIntegrationsGet, "integrations get", "", "", true,
       "The integration, with the fingerprints of its secrets.", "Integrations"},
      {Command::kIntegrationsUpdate, "integrations update", "", "", true,
       "Changes exactly the fields whose flags are given.", "Integrations"},
      {Command::kIntegrationsDelete, "integrations delete", "", "", true,
       "Deletes the integration and its cached token.", "Integrations"},
      {Command::kIntegrationsImport, "integrations import", "", "", false,
       "Creates one integration per credential of an Adobe Developer Console\n"
       "\"Download JSON\" file or an AEM service credential file (- reads stdin),\n"
       "all or none; a bad entry creates nothing and the error names its JSON\n"
       "path. IDs come from the credentials' names unless --id is given.\n"
       "Secrets come from the file and are never printed.",
       "Integrations", /*takes_file=*/true},
      {Command::kIntegrationsMigrate, "integrations migrate", "", "", true,
       "Converts a JWT integration to OAuth Server-to-Server, as Adobe converts\n"
       "JWT credentials: same client id, org and technical account; --scopes\n"
       "replace the metascopes; the client secret is --client-secret-file's\n"
       "(one line; read it again from the Developer Console) or else the stored\n"
       "one; the private key is deleted. The server first mints a token with\n"
       "the new flow: if IMS refuses it, nothing changes and the error says why.",
       "Integrations"},
      {Command::kSecretsList, "secrets list", "", "", true,
       "The credential's client secrets at the Adobe Developer Console (uuid,\n"
       "created, last used), whether tokenbroker holds each and which one it\n"
       "mints with. Never their values.",
       "Secrets"},
      {Command::kSecretsRotate, "secrets rotate", "", "", true,
       "Rotates the client secret at the Developer Console: adds one, stores it,\n"
       "proves it at IMS, switches to it, and deletes the old one once the\n"
       "Console reports it unused for the server's --secret-rotation-grace (run\n"
       "again to finish; after a crash, run again to resume). --now: the secret\n"
       "leaked: delete the old one as soon as the new one works.",
       "Secrets"},
      {Command::kTokenGet, "token get", "", "", true,
       "Prints only the access token, so that $(tokenctl token get ID) works.\n"
       "--json: {\"access_token\":...,\"expire_time\":...}.",
       "Tokens"},
      {Command::kTokenHeaders, "token headers", "", "", true,
       "Prints the HTTP headers for Adobe APIs as \"Name: value\" lines.", "Tokens"},
      {Command::kTokenRefresh, "token refresh", "", "", true,
       "Mints a new token now; prints its expiry and fingerprint.", "Tokens"},
      {Command::kTokenWatch, "token watch", "", "", true,
       "One line per token the server pushes (time, expire_time, fingerprint)\n"
       "until Ctrl-C; no deadline. --json: one object per line.",
       "Tokens"},
      {Command::kAuditFingerprint, "audit fingerprint", "", "", false,
       "Reads a token on stdin and prints its fingerprint as the server's audit\n"
       "log writes it (token_fingerprint), to find the RPCs that handed it out.",
       "Audit"},
      {Command::kHealth, "health", "", "", false,
       "Calls grpc.health.v1.Health/Check and prints SERVING, NOT_SERVING,\n"
       "SERVICE_UNKNOWN or UNKNOWN. Exits 0 only when SERVING, 1 otherwise (also\n"
       "when the server cannot be reached), so it works as a probe.\n"
       "--json: {\"service\":...,\"status\":...}.",
       "Health"},
      {Command::kVersion, "version", "", "", false, "Prints tokenctl's version.", "Other"},
  };
  return *commands;
}

const CommandSpec& SpecOf(Command command) {
  for (const CommandSpec& spec : Commands()) {
    if (spec.command == command) return spec;
  }
  std::abort();  // every Command has a spec: see the unit tests
}

const std::vector<FlagSpec>& Flags() {
  // clang-format off
  static const auto* flags = new std::vector<FlagSpec>{
      // name, field, value name, help, accepted, required, default, env, update path
      {"server", &Options::server, "HOST:PORT",
       "The server: host:port or a gRPC target URI.",
       kAllCommands, 0, "127.0.0.1:50051", "TOKENBROKER_SERVER", ""},
      {"plaintext", &Options::plaintext, "",
       "Connect without TLS: only to a server on loopback that serves no TLS\n"
       "(make run, make demo); tokens and secrets cross the wire in clear.\n"
       "Excludes --ca-file, --cert and --key.",
       kAllCommands, 0, "", "", ""},
      {"ca-file", &Options::ca_file, "PEM",
       "CA bundle that verifies the server's certificate (default: the system\n"
       "roots).",
       kAllCommands, 0, "", "TOKENBROKER_CA_FILE", ""},
      {"cert", &Options::cert, "PEM",
       "Client certificate chain for mutual TLS (with --key).",
       kAllCommands, 0, "", "TOKENBROKER_CERT", ""},
      {"key", &Options::key, "PEM",
       "Private key of --cert.",
       kAllCommands, 0, "", "TOKENBROKER_KEY", ""},
      {"token-file", &Options::token_file, "FILE",
       "Caller token, sent as \"authorization: Bearer\" on every call.",
       kAllCommands, 0, "", "TOKENBROKER_TOKEN_FILE", ""},
      {"timeout", &Options::timeout, "DURATION",
       "Deadline of each RPC (token watch has none). Positive.",
       kAllCommands, 0, "10s", "", ""},
      {"json", &Options::json, "",
       "JSON output.",
       kAllCommands, 0, "", "", ""},

      {"auth", &Options::auth, "METHOD",
       "The credential's auth method: oauth-s2s or jwt.",
       kCreate, kCreate, "", "", ""},
      {"client-id", &Options::client_id, "ID",
       "The credential's client id (also sent as x-api-key).",
       kCreate | kUpdate, kCreate, "", "", "client_id"},
      {"client-secret-file", &Options::client_secret_file, "FILE",
       "File holding the client secret, one per line (two while rotating);\n"
       "- reads stdin.",
       kCreate | kUpdate | kMigrate, kCreate, "", "", "credentials.client_secrets"},
      {"org-id", &Options::org_id, "ORG",
       "IMS organization id, ...@AdobeOrg.",
       kCreate | kUpdate, kCreate, "", "", "org_id"},
      {"technical-account-id", &Options::technical_account_id, "ID",
       "Technical account id (required with jwt).",
       kCreate | kUpdate, kCreateJwt, "", "", "technical_account_id"},
      {"private-key-file", &Options::private_key_file, "FILE",
       "PEM private key that signs the JWT; - reads stdin.",
       kCreateJwt | kUpdate, kCreateJwt, "", "", "credentials.private_key_pem"},
      {"scopes", &Options::scopes, "LIST",
       "Comma-separated OAuth scopes (oauth-s2s).",
       kCreateOAuth | kUpdate | kMigrate, kCreateOAuth | kMigrate, "", "", "scopes"},
      {"metascopes", &Options::metascopes, "LIST",
       "Comma-separated JWT metascopes (jwt).",
       kCreateJwt | kUpdate, kCreateJwt, "", "", "metascopes"},
      {"ims-url", &Options::ims_url, "URL",
       "IMS base URL of this integration (default: the server's --ims-url).",
       kCreate | kUpdate, 0, "", "", "ims_url"},
      {"sandbox", &Options::sandbox, "NAME",
       "Experience Platform sandbox name (x-sandbox-name).",
       kCreate | kUpdate, 0, "", "", "sandbox_name"},
      {"org-header", &Options::org_header, "",
       "Send x-gw-ims-org-id with the Adobe API headers.",
       kCreate | kUpdate, 0, "", "", "include_org_header"},
      {"display-name", &Options::display_name, "NAME",
       "Human-readable name.",
       kCreate | kUpdate, 0, "", "", "display_name"},
      {"state", &Options::state, "STATE",
       "active or disabled.",
       kUpdate, 0, "", "", "state"},
      {"etag", &Options::etag, "ETAG",
       "Only change or delete the integration if its etag still matches.",
       kUpdate | kDelete | kMigrate, 0, "", "", ""},
      {"rotation-period", &Options::rotation_period, "DURATION",
       "Rotate the client secret this often (e.g. 2160h; 0s: never; default:\n"
       "the server's --secret-rotation-period). OAuth S2S credentials imported\n"
       "from the Developer Console only.",
       kCreateOAuth | kUpdate | kImport, 0, "", "", "secret_rotation_period"},
      {"console-credential", &Options::console_credential, "ORG/CRED",
       "The Developer Console's numeric org and credential ids, e.g.\n"
       "25591412/17950 (project.org.id and credentials[].id of its download).",
       kCreateOAuth | kUpdate, 0, "", "", "console_credential"},
      {"id", &Options::id, "ID",
       "The integration ID (one credential only; default: from its name).",
       kImport, 0, "", "", ""},
      {"credential", &Options::credential, "NAME",
       "Import only the credential of this name.",
       kImport, 0, "", "", ""},
      {"dry-run", &Options::dry_run, "",
       "Print what would be created or replaced; write nothing.",
       kImport, 0, "", "", ""},
      {"update", &Options::update, "",
       "Replace integrations that exist (else an existing ID is an error).",
       kImport, 0, "", "", ""},
      {"now", &Options::now, "",
       "Do not wait for the old secret to go unused (a leaked secret).",
       kSecretsRotate, 0, "", "", ""},
      {"page-size", &Options::page_size, "N",
       "Integrations per ListIntegrations call (0: the server's default).",
       kList, 0, "0", "", ""},
      {"min-validity", &Options::min_validity, "DURATION",
       "The token returned stays valid at least this long (default: the\n"
       "server's --min-validity).",
       kTokenGet | kTokenHeaders, 0, "", "", ""},
      {"show-token", &Options::show_token, "",
       "Also print the token itself.",
       kTokenRefresh | kTokenWatch, 0, "", "", ""},
      {"audit-key-file", &Options::audit_key_file, "FILE",
       "The server's --audit-key-file.",
       kAuditFingerprint, kAuditFingerprint, "", "", ""},
      {"service", &Options::service, "NAME",
       "The health service to check (\"\": the whole server; liveness,\n"
       "readiness).",
       kHealth, 0, "", "", ""},
  };
  // clang-format on
  return *flags;
}

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& flag : Flags()) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

EnvLookup ProcessEnvironment() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

std::vector<std::string> UpdateMaskPaths(const Options& options) {
  std::vector<std::string> paths;
  for (const FlagSpec& flag : Flags()) {
    if (!flag.update_path.empty() && options.Has(flag.name)) {
      paths.emplace_back(flag.update_path);
    }
  }
  return paths;
}

namespace {

// Stores `text` in the flag's field of `options`.
absl::Status SetValue(const FlagSpec& flag, absl::string_view text, Options& options) {
  std::string error;
  bool ok = std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(options.*member)>;
        T value{};
        if (!absl::ParseFlag(text, &value, &error)) return false;
        options.*member = std::move(value);
        return true;
      },
      flag.field);
  if (ok) return absl::OkStatus();
  std::string expected;
  if (std::holds_alternative<absl::Duration Options::*>(flag.field)) {
    expected = ": expected a duration such as 90s, 5m or 1h";
  } else if (std::holds_alternative<int32_t Options::*>(flag.field)) {
    expected = ": expected an integer";
  } else if (flag.is_bool()) {
    expected = ": expected true or false";
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", text, "\" for --", flag.name, expected));
}

// The name of a flag argument (`--client_id=x` -> `client-id`), its value
// and whether it had one.
struct FlagArgument {
  std::string name;
  std::string value;
  bool has_value = false;
};

FlagArgument SplitFlagArgument(absl::string_view arg) {
  absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
  FlagArgument result;
  if (size_t eq = body.find('='); eq != absl::string_view::npos) {
    result.value = std::string(body.substr(eq + 1));
    result.has_value = true;
    body = body.substr(0, eq);
  }
  result.name = absl::StrReplaceAll(body, {{"_", "-"}});
  return result;
}

absl::Status UnknownFlag(const std::string& name) {
  if (absl::StartsWith(name, "client-secret") || name == "private-key") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown flag --", name,
                     ": secrets are read only from files or stdin (use "
                     "--client-secret-file or --private-key-file; - means stdin)"));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
}

// Finds the command named by the leading `words`; `used` is how many words
// it takes. Commands sharing their words (integrations create) are told
// apart later, by their selector flag.
absl::StatusOr<const CommandSpec*> FindCommand(const std::vector<std::string>& words,
                                               size_t* used) {
  for (const CommandSpec& spec : Commands()) {
    std::vector<absl::string_view> parts = absl::StrSplit(spec.words, ' ');
    if (parts.size() > words.size()) continue;
    bool match = true;
    for (size_t i = 0; i < parts.size(); ++i) match = match && parts[i] == words[i];
    if (match) {
      *used = parts.size();
      return &spec;
    }
  }
  std::vector<std::string> subcommands;
  for (const CommandSpec& spec : Commands()) {
    if (absl::StartsWith(spec.words, words[0] + " ")) {
      std::string sub(spec.words.substr(words[0].size() + 1));
      if (subcommands.empty() || subcommands.back() != sub) subcommands.push_back(sub);
    }
  }
  if (subcommands.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown command '", words[0], "'"));
  }
  std::string given = words.size() >= 2
                          ? absl::StrCat("unknown command '", words[0], " ", words[1], "'")
                          : absl::StrCat("missing command after '", words[0], "'");
  return absl::InvalidArgumentError(
      absl::StrCat(given, ": expected one of ", absl::StrJoin(subcommands, ", ")));
}

// Picks among the commands that share `spec`'s words by their selector flag.
absl::StatusOr<const CommandSpec*> Select(const CommandSpec* spec, const Options& options) {
  if (spec->selector_flag.empty()) return spec;
  std::vector<std::string> values;
  for (const CommandSpec& candidate : Commands()) {
    if (candidate.words != spec->words) continue;
    values.emplace_back(candidate.selector_value);
  }
  std::string choices = absl::StrJoin(values, " or ");
  const FlagSpec* flag = FindFlag(spec->selector_flag);
  if (!options.Has(flag->name)) {
    return absl::InvalidArgumentError(absl::StrCat("missing required flag --", flag->name, " for '",
                                                   spec->words, "' (", choices, ")"));
  }
  const std::string& value = options.*std::get<std::string Options::*>(flag->field);
  for (const CommandSpec& candidate : Commands()) {
    if (candidate.words == spec->words && candidate.selector_value == value) return &candidate;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid --", flag->name, " \"", value, "\": expected ", choices));
}

// The flags given must be accepted by the command, its required ones given.
absl::Status CheckFlags(const CommandSpec& spec, const Options& options) {
  for (const std::string& name : options.given) {
    if ((FindFlag(name)->accepted & Bit(spec.command)) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " does not apply to '", spec.DisplayName(), "'"));
    }
  }
  std::vector<std::string> missing;
  for (const FlagSpec& flag : Flags()) {
    if ((flag.required & Bit(spec.command)) != 0 && !options.Has(flag.name)) {
      missing.push_back(absl::StrCat("--", flag.name));
    }
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("missing required flag", missing.size() > 1 ? "s " : " ",
                   absl::StrJoin(missing, ", "), " for '", spec.DisplayName(), "'"));
}

// `text` for an error message: C-escaped, at most 64 bytes of it.
std::string Quote(absl::string_view text) {
  constexpr size_t kMax = 64;
  if (text.size() <= kMax) return absl::StrCat("'", absl::CHexEscape(text), "'");
  return absl::StrCat("'", absl::CHexEscape(text.substr(0, kMax)), "...' (", text.size(),
                      " bytes)");
}

// The server's rule for integration IDs (server/api/convert.cc), checked
// here so that a bad ID is a usage error instead of a request the server
// cannot parse (proto3 strings must be UTF-8).
absl::Status CheckIntegrationId(absl::string_view id) {
  bool ok = !id.empty() && id.size() <= 63 && absl::ascii_islower(id.front()) && id.back() != '-';
  for (char c : id) ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ID ", Quote(id),
                   ": an integration ID is 1 to 63 lower-case letters, digits and '-', "
                   "starting with a letter and not ending with '-'"));
}

// Every string flag ends up in a proto3 string field, which must be UTF-8.
absl::Status CheckUtf8(const Options& options) {
  for (const FlagSpec& flag : Flags()) {
    std::vector<std::string> values;
    if (auto* field = std::get_if<std::string Options::*>(&flag.field)) {
      values.push_back(options.*(*field));
    } else if (auto* list = std::get_if<std::vector<std::string> Options::*>(&flag.field)) {
      values = options.*(*list);
    }
    for (const std::string& value : values) {
      if (!IsValidUtf8(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag.name, " ", Quote(value), " is not valid UTF-8"));
      }
    }
  }
  return absl::OkStatus();
}

// Range checks of values that parsed.
absl::Status CheckValues(const Options& options) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive");
  }
  if (options.min_validity < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--min-validity must not be negative");
  }
  if (options.page_size < 0) return absl::InvalidArgumentError("--page-size must not be negative");
  if (options.rotation_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--rotation-period must not be negative");
  }
  if (options.Has("id")) return CheckIntegrationId(options.id);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& argv,
                                             const EnvLookup& env) {
  CommandLine result;
  Options& options = result.options;
  for (const FlagSpec& flag : Flags()) {
    if (flag.default_value.empty()) continue;
    if (absl::Status s = SetValue(flag, flag.default_value, options); !s.ok()) {
      return absl::InternalError(absl::StrCat("default of --", flag.name, ": ", s.message()));
    }
  }

  std::vector<std::string> words;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      words.insert(words.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      words.push_back(arg);
      continue;
    }
    FlagArgument parsed = SplitFlagArgument(arg);
    if (parsed.name == "help" || parsed.name == "h") {
      result.help = true;
      continue;
    }
    const FlagSpec* flag = FindFlag(parsed.name);
    if (flag == nullptr && !parsed.has_value && absl::StartsWith(parsed.name, "no")) {
      // `--no-json` / `--nojson` turn a boolean flag off.
      const FlagSpec* negated =
          FindFlag(parsed.name.substr(absl::StartsWith(parsed.name, "no-") ? 3 : 2));
      if (negated != nullptr && negated->is_bool()) {
        options.*std::get<bool Options::*>(negated->field) = false;
        options.given.insert(std::string(negated->name));
        continue;
      }
    }
    if (flag == nullptr) return UnknownFlag(parsed.name);
    if (!parsed.has_value) {
      if (flag->is_bool()) {
        parsed.value = "true";
      } else if (i + 1 < argv.size()) {
        parsed.value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", flag->name, " needs a value"));
      }
    }
    if (absl::Status s = SetValue(*flag, parsed.value, options); !s.ok()) return s;
    options.given.insert(std::string(flag->name));
  }

  if (result.help || (!words.empty() && words[0] == "help")) {
    result.help = true;
    return result;
  }
  if (words.empty()) return result;

  for (const FlagSpec& flag : Flags()) {
    if (flag.env.empty() || options.Has(flag.name)) continue;
    std::optional<std::string> value = env(flag.env);
    if (!value.has_value()) continue;
    if (absl::Status s = SetValue(flag, *value, options); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(s.message(), " (from $", flag.env, ")"));
    }
    options.from_env.insert(std::string(flag.name));
  }

  size_t used = 0;
  absl::StatusOr<const CommandSpec*> spec = FindCommand(words, &used);
  if (!spec.ok()) return spec.status();
  std::vector<std::string> operands(words.begin() + used, words.end());
  if (((*spec)->takes_id || (*spec)->takes_file) && operands.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("missing ", (*spec)->takes_id ? "ID" : "FILE",
                                                   ": usage: tokenctl ", (*spec)->words, " ",
                                                   (*spec)->takes_id ? "ID" : "FILE"));
  }
  size_t expected = (*spec)->takes_id || (*spec)->takes_file ? 1 : 0;
  if (operands.size() > expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", operands[expected], "' for '", (*spec)->words, "'"));
  }
  if ((*spec)->takes_file) {
    result.file = operands[0];
  } else if (expected == 1) {
    if (absl::Status s = CheckIntegrationId(operands[0]); !s.ok()) return s;
    result.id = operands[0];
  }
  spec = Select(*spec, options);
  if (!spec.ok()) return spec.status();
  result.command = *spec;
  if (absl::Status s = CheckFlags(**spec, options); !s.ok()) return s;
  if (absl::Status s = CheckValues(options); !s.ok()) return s;
  if (absl::Status s = CheckUtf8(options); !s.ok()) return s;
  return result;
}

std::string Synopsis(const CommandSpec& spec) {
  std::vector<std::string> words = {std::string(spec.words)};
  if (spec.takes_id) words.emplace_back("ID");
  if (spec.takes_file) words.emplace_back("FILE");
  if (!spec.selector_flag.empty()) {
    words.push_back(absl::StrCat("--", spec.selector_flag, "=", spec.selector_value));
  }
  for (const FlagSpec& flag : Flags()) {
    if ((flag.required & Bit(spec.command)) != 0 && flag.name != spec.selector_flag) {
      words.push_back(FlagSyntax(flag));
    }
  }
  for (const FlagSpec& flag : Flags()) {
    if (!flag.global() && (flag.accepted & Bit(spec.command)) != 0 &&
        (flag.required & Bit(spec.command)) == 0) {
      words.push_back(absl::StrCat("[", FlagSyntax(flag), "]"));
    }
  }
  return absl::StrJoin(words, " ");
}

// ---------------------------------------------------------------------------
// Usage text

namespace {

// Appends `words` to `out` as lines of at most kWidth columns: the first
// starts with `first`, the others with `indent` spaces.
void AppendWrapped(const std::vector<std::string>& words, const std::string& first, size_t indent,
                   std::string* out) {
  std::string line = first;
  bool line_has_word = false;
  for (const std::string& word : words) {
    if (line_has_word && line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(out, line, "\n");
      line = std::string(indent, ' ');
      line_has_word = false;
    }
    if (line_has_word) line += ' ';
    line += word;
    line_has_word = true;
  }
  absl::StrAppend(out, line, "\n");
}

// Each line of `text`, indented by `indent` spaces.
void AppendIndented(absl::string_view text, size_t indent, std::string* out) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::StrAppend(out, std::string(indent, ' '), line, "\n");
  }
}

void AppendSynopsis(const CommandSpec& spec, std::string* out) {
  AppendWrapped(absl::StrSplit(Synopsis(spec), ' '), "  ", 6, out);
}

// A flag's entry in the flag lists: syntax, help, default, environment and,
// for a command flag, the commands that accept it.
void AppendFlag(const FlagSpec& flag, std::string* out) {
  absl::StrAppend(out, "  ", FlagSyntax(flag), "\n");
  AppendIndented(flag.help, 6, out);
  std::vector<std::string> notes;
  if (!flag.default_value.empty() && flag.default_value != "0") {
    notes.push_back(absl::StrCat("Default ", flag.default_value, "."));
  }
  if (!flag.env.empty()) notes.push_back(absl::StrCat("Env ", flag.env, "."));
  if (!flag.global()) {
    std::vector<std::string> commands;
    for (const CommandSpec& spec : Commands()) {
      if ((flag.accepted & Bit(spec.command)) == 0) continue;
      // Both variants of a command: name it once, without the selector.
      bool all_variants = true;
      for (const CommandSpec& other : Commands()) {
        if (other.words == spec.words && (flag.accepted & Bit(other.command)) == 0) {
          all_variants = false;
        }
      }
      std::string name = all_variants ? std::string(spec.words) : spec.DisplayName();
      if (commands.empty() || commands.back() != name) commands.push_back(name);
    }
    notes.push_back(absl::StrCat("For: ", absl::StrJoin(commands, ", "), "."));
  }
  if (!notes.empty()) {
    std::vector<std::string> words = absl::StrSplit(absl::StrJoin(notes, " "), ' ');
    AppendWrapped(words, "      ", 6, out);
  }
}

}  // namespace

std::string UsageText() {
  std::string out =
      "tokenctl: manage tokenbroker integrations and get Adobe IMS access tokens.\n"
      "\n"
      "Usage: tokenctl [global flags] COMMAND [ID] [flags]\n";
  absl::string_view section;
  for (const CommandSpec& spec : Commands()) {
    if (spec.section != section) {
      section = spec.section;
      absl::StrAppend(&out, "\n", section, ":\n");
    }
    AppendSynopsis(spec, &out);
    AppendIndented(spec.help, 6, &out);
  }
  absl::StrAppend(&out, "  help\n      Prints this text (also -h, --help).\n");

  absl::StrAppend(&out, "\nGlobal flags (every command):\n");
  for (const FlagSpec& flag : Flags()) {
    if (flag.global()) AppendFlag(flag, &out);
  }
  absl::StrAppend(&out, "\nCommand flags:\n");
  for (const FlagSpec& flag : Flags()) {
    if (!flag.global()) AppendFlag(flag, &out);
  }
  absl::StrAppend(&out,
                  "\n"
                  "TLS is the default: the server is verified against --ca-file or the\n"
                  "system roots. A server without TLS (tokenbroker without --tls-cert, as\n"
                  "make run and make demo start it) needs --plaintext; tokenctl never falls\n"
                  "back to plaintext by itself.\n"
                  "\n"
                  "Secrets are read only from files or stdin (-), never from the command line.\n"
                  "Tokens are printed only by 'token get' and 'token headers' (and with\n"
                  "--show-token). Booleans: --flag, --flag=false, --no-flag. Durations look\n"
                  "like 90s, 5m, 1h. Flags may come before or after the command.\n"
                  "\n"
                  "Exit codes: 0 success; 1 the server or the connection failed (the error and\n"
                  "its details go to stderr), or 'health' found the server not SERVING; 2 usage\n"
                  "error (unknown command or flag, a flag the command does not take, missing ID\n"
                  "or required flag, bad value, unreadable file): nothing was sent.\n");
  return out;
}

}  // namespace tokenbroker::tokenctl
