// The flag table and ParseCommandLine: every command's flags parse, flags a
// command does not take are usage errors, required flags are enforced, and
// values, defaults and environment variables land in Options.
#include "client/tokenctl/flags.h"

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/tokenctl/secrets.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker::tokenctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvLookup NoEnv() {
  return [](absl::string_view) -> std::optional<std::string> { return std::nullopt; };
}

EnvLookup Env(const std::map<std::string, std::string>& vars) {
  return [vars](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& argv,
                                  const EnvLookup& env = NoEnv()) {
  return ParseCommandLine(argv, env);
}

// The argv words that name `spec` (with its ID and selector).
std::vector<std::string> CommandArgv(const CommandSpec& spec) {
  std::vector<std::string> argv = absl::StrSplit(spec.words, ' ');
  if (spec.takes_id) argv.emplace_back("some-id");
  if (spec.takes_file) argv.emplace_back("console.json");
  if (!spec.selector_flag.empty()) {
    argv.push_back(absl::StrCat("--", spec.selector_flag, "=", spec.selector_value));
  }
  return argv;
}

// A valid command-line argument for `flag`.
std::string ValidArgument(const FlagSpec& flag) {
  std::string value = std::visit(
      [](auto member) -> std::string {
        using T = std::remove_reference_t<decltype(std::declval<Options>().*member)>;
        if constexpr (std::is_same_v<T, bool>) return "";
        if constexpr (std::is_same_v<T, absl::Duration>) return "7s";
        if constexpr (std::is_same_v<T, int32_t>) return "7";
        if constexpr (std::is_same_v<T, std::vector<std::string>>) return "a,b";
        return "v";
      },
      flag.field);
  if (flag.is_bool()) return absl::StrCat("--", flag.name);
  return absl::StrCat("--", flag.name, "=", value);
}

// The argv of `spec` with every flag it requires, plus `extra`.
std::vector<std::string> MinimalArgv(const CommandSpec& spec,
                                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = CommandArgv(spec);
  for (const FlagSpec& flag : Flags()) {
    if ((flag.required & Bit(spec.command)) != 0 && flag.name != spec.selector_flag) {
      argv.push_back(ValidArgument(flag));
    }
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// --- The table -------------------------------------------------------------

TEST(FlagTableTest, EveryCommandHasExactlyOneSpec) {
  std::set<Command> seen;
  for (const CommandSpec& spec : Commands()) {
    EXPECT_TRUE(seen.insert(spec.command).second) << spec.DisplayName();
    EXPECT_EQ(&SpecOf(spec.command), &spec);
  }
  EXPECT_EQ(kAllCommands, (CommandSet{1} << seen.size()) - 1);
}

TEST(FlagTableTest, NamesAreUniqueAndHyphenated) {
  std::set<std::string> names;
  for (const FlagSpec& flag : Flags()) {
    EXPECT_TRUE(names.insert(std::string(flag.name)).second) << flag.name;
    EXPECT_THAT(std::string(flag.name), ::testing::MatchesRegex("[a-z]+(-[a-z]+)*"));
    EXPECT_FALSE(flag.help.empty()) << flag.name;
    EXPECT_EQ(flag.value_name.empty(), flag.is_bool()) << flag.name;
    EXPECT_EQ(FindFlag(flag.name), &flag);
  }
}

TEST(FlagTableTest, RequiredFlagsAreAccepted) {
  for (const FlagSpec& flag : Flags()) {
    EXPECT_EQ(flag.required & ~flag.accepted, 0u) << flag.name;
  }
}

TEST(FlagTableTest, SelectorFlagIsRequiredByItsCommands) {
  for (const CommandSpec& spec : Commands()) {
    if (spec.selector_flag.empty()) continue;
    const FlagSpec* flag = FindFlag(spec.selector_flag);
    ASSERT_NE(flag, nullptr) << spec.DisplayName();
    EXPECT_NE(flag->required & Bit(spec.command), 0u) << spec.DisplayName();
  }
}

TEST(FlagTableTest, UpdatePathsBelongToFlagsUpdateAccepts) {
  for (const FlagSpec& flag : Flags()) {
    if (flag.update_path.empty()) continue;
    EXPECT_NE(flag.accepted & Bit(Command::kIntegrationsUpdate), 0u) << flag.name;
  }
}

TEST(FlagTableTest, DefaultsParse) {
  absl::StatusOr<CommandLine> line = Parse({"version"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->options.server, "127.0.0.1:50051");
  EXPECT_EQ(line->options.timeout, absl::Seconds(10));
  EXPECT_FALSE(line->options.plaintext);
  EXPECT_FALSE(line->options.json);
  EXPECT_EQ(line->options.page_size, 0);
  EXPECT_TRUE(line->options.given.empty());
}

// --- Every command's flags ---------------------------------------------------

TEST(ParseCommandLineTest, EveryCommandAcceptsEachOfItsFlags) {
  for (const CommandSpec& spec : Commands()) {
    for (const FlagSpec& flag : Flags()) {
      // The selector (--auth) is part of the command's argv already.
      if ((flag.accepted & Bit(spec.command)) == 0 || flag.name == spec.selector_flag) continue;
      std::vector<std::string> argv = MinimalArgv(spec, {ValidArgument(flag)});
      absl::StatusOr<CommandLine> line = Parse(argv);
      ASSERT_TRUE(line.ok()) << spec.DisplayName() << " " << flag.name << ": " << line.status();
      EXPECT_EQ(line->command, &spec);
      EXPECT_TRUE(line->options.Has(flag.name)) << spec.DisplayName() << " " << flag.name;
      if (spec.takes_id) {
        EXPECT_EQ(line->id, "some-id");
      }
      if (spec.takes_file) {
        EXPECT_EQ(line->file, "console.json");
      }
    }
  }
}

TEST(ParseCommandLineTest, ImportTakesAFileNotAnId) {
  absl::StatusOr<CommandLine> line =
      Parse({"integrations", "import", "Billing Project.json", "--id=billing", "--dry-run"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->file, "Billing Project.json");  // any path, not an integration ID
  EXPECT_EQ(line->options.id, "billing");
  EXPECT_TRUE(line->options.dry_run);

  absl::StatusOr<CommandLine> missing = Parse({"integrations", "import"});
  EXPECT_THAT(missing.status().message(), HasSubstr("missing FILE"));
  absl::StatusOr<CommandLine> bad_id = Parse({"integrations", "import", "f.json", "--id=Bad_Id"});
  EXPECT_EQ(bad_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_id.status().message(), HasSubstr("Bad_Id"));
  absl::StatusOr<CommandLine> negative =
      Parse({"integrations", "import", "f.json", "--rotation-period=-1h"});
  EXPECT_THAT(negative.status().message(), HasSubstr("--rotation-period must not be negative"));
}

TEST(ParseCommandLineTest, EveryCommandRejectsFlagsItDoesNotTake) {
  for (const CommandSpec& spec : Commands()) {
    for (const FlagSpec& flag : Flags()) {
      if ((flag.accepted & Bit(spec.command)) != 0) continue;
      absl::StatusOr<CommandLine> line = Parse(MinimalArgv(spec, {ValidArgument(flag)}));
      ASSERT_FALSE(line.ok()) << spec.DisplayName() << " " << flag.name;
      EXPECT_EQ(line.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(line.status().message(),
                  HasSubstr(absl::StrCat("flag --", flag.name, " does not apply to '",
                                         spec.DisplayName(), "'")));
    }
  }
}

TEST(ParseCommandLineTest, EveryRequiredFlagIsEnforced) {
  for (const CommandSpec& spec : Commands()) {
    for (const FlagSpec& missing : Flags()) {
      if ((missing.required & Bit(spec.command)) == 0 || missing.name == spec.selector_flag) {
        continue;
      }
      std::vector<std::string> argv = CommandArgv(spec);
      for (const FlagSpec& flag : Flags()) {
        if ((flag.required & Bit(spec.command)) != 0 && flag.name != spec.selector_flag &&
            flag.name != missing.name) {
          argv.push_back(ValidArgument(flag));
        }
      }
      absl::StatusOr<CommandLine> line = Parse(argv);
      ASSERT_FALSE(line.ok()) << spec.DisplayName() << " without " << missing.name;
      EXPECT_THAT(line.status().message(),
                  HasSubstr(absl::StrCat("missing required flag --", missing.name, " for '",
                                         spec.DisplayName(), "'")));
    }
  }
}

TEST(ParseCommandLineTest, CreateOAuthSetsEveryField) {
  absl::StatusOr<CommandLine> line =
      Parse({"integrations", "create", "acme", "--auth=oauth-s2s", "--client-id=cid",
             "--client-secret-file=-", "--org-id=O@AdobeOrg", "--scopes=openid,AdobeID",
             "--ims-url=https://ims", "--sandbox=prod", "--org-header", "--display-name=Acme"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command->command, Command::kIntegrationsCreateOAuth);
  EXPECT_EQ(line->id, "acme");
  const Options& o = line->options;
  EXPECT_EQ(o.auth, "oauth-s2s");
  EXPECT_EQ(o.client_id, "cid");
  EXPECT_EQ(o.client_secret_file, "-");
  EXPECT_EQ(o.org_id, "O@AdobeOrg");
  EXPECT_THAT(o.scopes, ElementsAre("openid", "AdobeID"));
  EXPECT_EQ(o.ims_url, "https://ims");
  EXPECT_EQ(o.sandbox, "prod");
  EXPECT_TRUE(o.org_header);
  EXPECT_EQ(o.display_name, "Acme");
}

TEST(ParseCommandLineTest, AuthSelectsTheCreateVariant) {
  absl::StatusOr<CommandLine> jwt =
      Parse({"integrations", "create", "x", "--auth=jwt", "--client-id=c", "--client-secret-file=f",
             "--org-id=o", "--technical-account-id=t", "--private-key-file=k", "--metascopes=m"});
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->command->command, Command::kIntegrationsCreateJwt);

  absl::StatusOr<CommandLine> scopes_with_jwt =
      Parse({"integrations", "create", "x", "--auth=jwt", "--client-id=c", "--client-secret-file=f",
             "--org-id=o", "--technical-account-id=t", "--private-key-file=k", "--metascopes=m",
             "--scopes=s"});
  EXPECT_THAT(scopes_with_jwt.status().message(),
              HasSubstr("flag --scopes does not apply to 'integrations create --auth=jwt'"));
}

TEST(ParseCommandLineTest, MissingOrInvalidAuthIsUsageError) {
  absl::StatusOr<CommandLine> missing = Parse({"integrations", "create", "x"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("missing required flag --auth for 'integrations create' "
                        "(oauth-s2s or jwt)"));
  absl::StatusOr<CommandLine> invalid = Parse({"integrations", "create", "x", "--auth=basic"});
  EXPECT_THAT(invalid.status().message(),
              HasSubstr("invalid --auth \"basic\": expected oauth-s2s or jwt"));
}

TEST(ParseCommandLineTest, UpdateMaskFollowsTheFlagsGiven) {
  absl::StatusOr<CommandLine> line =
      Parse({"integrations", "update", "x", "--state=disabled", "--display-name=N",
             "--client-secret-file=f", "--org-header=false", "--etag=e"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(
      UpdateMaskPaths(line->options),
      ElementsAre("credentials.client_secrets", "include_org_header", "display_name", "state"));
  EXPECT_FALSE(line->options.org_header);
  EXPECT_EQ(line->options.etag, "e");
}

// --- Syntax -----------------------------------------------------------------

TEST(ParseCommandLineTest, AcceptsEverySpelling) {
  absl::StatusOr<CommandLine> line =
      Parse({"--server", "h:1", "-json", "token", "--min_validity=5m", "get", "id"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command->command, Command::kTokenGet);
  EXPECT_EQ(line->id, "id");
  EXPECT_EQ(line->options.server, "h:1");
  EXPECT_TRUE(line->options.json);
  EXPECT_EQ(line->options.min_validity, absl::Minutes(5));
  EXPECT_TRUE(line->options.Has("min-validity"));
}

TEST(ParseCommandLineTest, NegatedBooleansAndLastValueWins) {
  absl::StatusOr<CommandLine> line =
      Parse({"--json", "--no-json", "--timeout=1s", "--timeout=2s", "health", "--service="});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_FALSE(line->options.json);
  EXPECT_EQ(line->options.timeout, absl::Seconds(2));
  EXPECT_TRUE(line->options.Has("service"));
  EXPECT_EQ(line->options.service, "");

  absl::StatusOr<CommandLine> nojson = Parse({"--json", "--nojson", "version"});
  ASSERT_TRUE(nojson.ok()) << nojson.status();
  EXPECT_FALSE(nojson->options.json);
}

TEST(ParseCommandLineTest, DoubleDashEndsFlags) {
  absl::StatusOr<CommandLine> line = Parse({"token", "get", "--", "acme"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->id, "acme");
  // After "--" a word is the ID even if it looks like a flag (and is then
  // refused by the ID rule, not as an unknown flag).
  line = Parse({"token", "get", "--", "-odd-id"});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(), HasSubstr("invalid ID '-odd-id'"));
}

TEST(ParseCommandLineTest, HelpInAnyForm) {
  for (const char* help : {"help", "-h", "--help", "-help"}) {
    absl::StatusOr<CommandLine> line = Parse({help});
    ASSERT_TRUE(line.ok()) << help;
    EXPECT_TRUE(line->help) << help;
  }
  absl::StatusOr<CommandLine> empty = Parse({});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->help);
  EXPECT_EQ(empty->command, nullptr);
}

// --- Errors -----------------------------------------------------------------

struct ErrorCase {
  std::vector<std::string> argv;
  std::string message;
};

TEST(ParseCommandLineTest, UsageErrorsNameTheProblem) {
  const std::vector<ErrorCase> cases = {
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"token"}, "missing command after 'token': expected one of get, headers, refresh, watch"},
      {{"integrations", "rename", "x"},
       "unknown command 'integrations rename': expected one of create, list, get, update, "
       "delete"},
      {{"token", "get"}, "missing ID: usage: tokenctl token get ID"},
      {{"health", "extra"}, "unexpected argument 'extra' for 'health'"},
      {{"token", "get", "x", "--frob"}, "unknown flag --frob"},
      {{"integrations", "create", "x", "--client-secret=s"},
       "secrets are read only from files or stdin"},
      {{"integrations", "create", "x", "--private-key=k"}, "--private-key-file"},
      {{"health", "--service"}, "flag --service needs a value"},
      {{"--timeout=soon", "health"}, "invalid value \"soon\" for --timeout: expected a duration"},
      {{"--timeout=0s", "health"}, "--timeout must be positive"},
      {{"integrations", "list", "--page-size=x"}, "invalid value \"x\" for --page-size: expected"},
      {{"integrations", "list", "--page-size=-1"}, "--page-size must not be negative"},
      {{"token", "get", "x", "--min-validity=-1s"}, "--min-validity must not be negative"},
      {{"--json=maybe", "version"}, "invalid value \"maybe\" for --json: expected true or false"},
      {{"token", "get", "x", "--scopes=openid"}, "flag --scopes does not apply to 'token get'"},
      {{"audit", "fingerprint"}, "missing required flag --audit-key-file for 'audit fingerprint'"},
  };
  for (const ErrorCase& c : cases) {
    absl::StatusOr<CommandLine> line = Parse(c.argv);
    ASSERT_FALSE(line.ok()) << absl::StrJoin(c.argv, " ");
    EXPECT_EQ(line.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(line.status().message(), HasSubstr(c.message)) << absl::StrJoin(c.argv, " ");
  }
}

// --- Environment --------------------------------------------------------------

TEST(ParseCommandLineTest, EnvironmentFillsFlagsNotGiven) {
  absl::StatusOr<CommandLine> line = Parse({"health"}, Env({{"TOKENBROKER_SERVER", "env:1"},
                                                            {"TOKENBROKER_CA_FILE", "ca.pem"},
                                                            {"TOKENBROKER_TOKEN_FILE", "t"}}));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->options.server, "env:1");
  EXPECT_EQ(line->options.ca_file, "ca.pem");
  EXPECT_EQ(line->options.token_file, "t");
  EXPECT_EQ(line->options.from_env, (std::set<std::string>{"server", "ca-file", "token-file"}));
  EXPECT_TRUE(line->options.given.empty());
}

TEST(ParseCommandLineTest, FlagBeatsEnvironment) {
  absl::StatusOr<CommandLine> line =
      Parse({"--server=flag:1", "health"}, Env({{"TOKENBROKER_SERVER", "env:1"}}));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->options.server, "flag:1");
  EXPECT_TRUE(line->options.from_env.empty());
}

TEST(ParseCommandLineTest, OnlyTableFlagsReadTheEnvironment) {
  for (const FlagSpec& flag : Flags()) {
    if (flag.env.empty()) continue;
    EXPECT_TRUE(flag.global()) << flag.name;
    EXPECT_THAT(std::string(flag.env), ::testing::StartsWith("TOKENBROKER_"));
  }
}

}  // namespace
}  // namespace tokenbroker::tokenctl

namespace tokenbroker::tokenctl {
namespace {

TEST(ParseCommandLineTest, NonUtf8IdIsAUsageErrorForEveryCommandTakingOne) {
  for (const CommandSpec& spec : Commands()) {
    if (!spec.takes_id) continue;
    std::vector<std::string> argv = CommandArgv(spec);
    for (std::string& word : argv) {
      if (word == "some-id") word = "\xff\xfe";
    }
    absl::StatusOr<CommandLine> line = Parse(argv);
    ASSERT_FALSE(line.ok()) << spec.DisplayName();
    EXPECT_EQ(line.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(line.status().message(), HasSubstr("invalid ID '\\xff\\xfe'"));
  }
}

TEST(ParseCommandLineTest, IdsFollowTheServersRule) {
  for (const char* bad :
       {"Upper", "1starts-with-digit", "ends-with-", "has_underscore", "integrations/acme", ""}) {
    EXPECT_FALSE(Parse({"token", "get", bad}).ok()) << bad;
  }
  std::string too_long(64, 'a');
  absl::StatusOr<CommandLine> line = Parse({"token", "get", too_long});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(), HasSubstr("1 to 63"));
  EXPECT_TRUE(Parse({"token", "get", std::string(63, 'a')}).ok());
  EXPECT_TRUE(Parse({"token", "get", "acme-2"}).ok());
}

TEST(ParseCommandLineTest, NonUtf8StringFlagIsAUsageError) {
  absl::StatusOr<CommandLine> line =
      Parse({"integrations", "update", "acme", "--display-name=bad\xc3("});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(), HasSubstr("--display-name 'bad\\xc3(' is not valid UTF-8"));
  line = Parse({"integrations", "update", "acme", "--scopes=openid,\xed\xa0\x80"});  // surrogate
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(), HasSubstr("--scopes"));
}

TEST(IsValidUtf8Test, AcceptsUtf8AndRejectsMalformedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x91"));
  EXPECT_FALSE(IsValidUtf8("\xff\xfe"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // cut short
  EXPECT_FALSE(IsValidUtf8("\xe2\x80"));          // cut short
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("a\x80"));             // stray continuation
}

}  // namespace
}  // namespace tokenbroker::tokenctl

namespace tokenbroker::tokenctl {
namespace {

TEST(ReadClientSecretsTest, NonUtf8SecretIsRefusedWithoutEchoingIt) {
  std::istringstream in("good-secret\n\xff\xfe-bad\n");
  absl::StatusOr<std::vector<Secret>> secrets = ReadClientSecrets("-", in);
  ASSERT_FALSE(secrets.ok());
  EXPECT_THAT(secrets.status().message(), HasSubstr("line 2 is not valid UTF-8"));
  EXPECT_THAT(secrets.status().message(), ::testing::Not(HasSubstr("bad")));
}

}  // namespace
}  // namespace tokenbroker::tokenctl
