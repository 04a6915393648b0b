#include "client/tokenctl/flags.h"

#include <algorithm>
#include <iterator>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"

// The help texts are for `absl::FindCommandLineFlag`'s sake; the usage text
// users see is in commands.cc.
ABSL_FLAG(std::string, server, "",
          "host:port of the tokenbroker server (default: $TOKENBROKER_SERVER, else "
          "127.0.0.1:50051)");
ABSL_FLAG(bool, json, false, "Machine-readable JSON output");
ABSL_FLAG(std::string, ca_file, "", "PEM CA bundle verifying the server: turns TLS on");
ABSL_FLAG(std::string, cert, "", "PEM client certificate chain (mutual TLS)");
ABSL_FLAG(std::string, key, "", "PEM private key of --cert");
ABSL_FLAG(std::string, token_file, "", "File holding a caller token (authorization: Bearer)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "Deadline of each RPC");

ABSL_FLAG(std::string, auth, "", "oauth-s2s or jwt");
ABSL_FLAG(std::string, client_id, "", "The credential's client id");
ABSL_FLAG(std::string, client_secret_file, "",
          "File (or - for stdin) holding one or two client secrets, one per line");
ABSL_FLAG(std::string, org_id, "", "IMS organization id, ...@AdobeOrg");
ABSL_FLAG(std::string, technical_account_id, "", "Technical account id");
ABSL_FLAG(std::string, private_key_file, "", "PEM private key file (or - for stdin), JWT only");
ABSL_FLAG(std::vector<std::string>, scopes, {}, "Comma-separated OAuth scopes");
ABSL_FLAG(std::vector<std::string>, metascopes, {}, "Comma-separated JWT metascopes");
ABSL_FLAG(std::string, ims_url, "", "IMS base URL of the integration");
ABSL_FLAG(std::string, sandbox, "", "Experience Platform sandbox name");
ABSL_FLAG(bool, org_header, false, "Send x-gw-ims-org-id");
ABSL_FLAG(std::string, display_name, "", "Human-readable name");
ABSL_FLAG(std::string, state, "", "active or disabled");
ABSL_FLAG(std::string, etag, "", "Only change/delete if the etag matches");
ABSL_FLAG(int32_t, page_size, 0, "Integrations per ListIntegrations call");

ABSL_FLAG(absl::Duration, min_validity, absl::ZeroDuration(),
          "The token returned stays valid at least this long");
ABSL_FLAG(std::string, audit_key_file, "", "The server's --audit-key-file");
ABSL_FLAG(bool, show_token, false, "token watch/refresh: print the token itself");
ABSL_FLAG(std::string, service, "", "health: the service name to check (\"\": the whole server)");

namespace tokenbroker::tokenctl {
namespace {

// Every flag tokenctl defines, hyphenated. Abseil's own flags (--flagfile,
// --fromenv, ...) are deliberately not reachable.
constexpr absl::string_view kKnownFlags[] = {"server",
                                             "ca-file",
                                             "cert",
                                             "key",
                                             "token-file",
                                             "json",
                                             "timeout",
                                             "auth",
                                             "client-id",
                                             "client-secret-file",
                                             "org-id",
                                             "technical-account-id",
                                             "private-key-file",
                                             "scopes",
                                             "metascopes",
                                             "ims-url",
                                             "sandbox",
                                             "org-header",
                                             "display-name",
                                             "state",
                                             "etag",
                                             "page-size",
                                             "min-validity",
                                             "show-token",
                                             "audit-key-file",
                                             "service"};

bool IsKnown(const std::string& name) {
  return std::find(std::begin(kKnownFlags), std::end(kKnownFlags), name) != std::end(kKnownFlags);
}

absl::CommandLineFlag* Lookup(const std::string& name) {
  return absl::FindCommandLineFlag(absl::StrReplaceAll(name, {{"-", "_"}}));
}

absl::Status Set(absl::CommandLineFlag* flag, const std::string& name, const std::string& value) {
  std::string error;
  if (flag->ParseFrom(value, &error)) return absl::OkStatus();
  std::string expected;
  if (flag->IsOfType<absl::Duration>()) {
    expected = ": expected a duration such as 90s, 5m or 1h";
  } else if (flag->IsOfType<int32_t>()) {
    expected = ": expected an integer";
  } else if (flag->IsOfType<bool>()) {
    expected = ": expected true or false";
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", value, "\" for --", name, expected));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& argv) {
  CommandLine result;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      result.args.insert(result.args.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      result.args.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    name = absl::StrReplaceAll(name, {{"_", "-"}});
    if (name == "help" || name == "h") {
      result.help = true;
      continue;
    }
    if (!IsKnown(name)) {
      // `--no-json` / `--nojson` turn a boolean flag off.
      std::string negated;
      if (absl::StartsWith(name, "no"))
        negated = name.substr(absl::StartsWith(name, "no-") ? 3 : 2);
      absl::CommandLineFlag* flag = IsKnown(negated) ? Lookup(negated) : nullptr;
      if (flag != nullptr && flag->IsOfType<bool>() && !has_value) {
        if (absl::Status s = Set(flag, negated, "false"); !s.ok()) return s;
        result.specified.insert(negated);
        continue;
      }
      if (absl::StartsWith(name, "client-secret") || name == "private-key") {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", name,
                         ": secrets are read only from files or stdin (use "
                         "--client-secret-file or --private-key-file; - means stdin)"));
      }
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    absl::CommandLineFlag* flag = Lookup(name);
    if (flag == nullptr) return absl::InternalError(absl::StrCat("flag --", name, " not linked"));
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (absl::Status s = Set(flag, name, value); !s.ok()) return s;
    result.specified.insert(name);
  }
  return result;
}

}  // namespace tokenbroker::tokenctl
