// UsageText (generated from the flag table) and Run() for what needs no
// server: help, version, usage errors, connection flags that contradict each
// other, and `audit fingerprint`. No sockets: every case fails or finishes
// before a channel is created.
#include "client/tokenctl/tokenctl.h"

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker::tokenctl {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result RunTokenctl(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {},
                   const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  EnvLookup lookup = [env](absl::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  int code = Run(args, lookup, in, out, err);
  return {code, out.str(), err.str()};
}

// --- Usage text ---------------------------------------------------------------

TEST(UsageTextTest, DocumentsEveryFlagWithItsDefaultAndEnvironment) {
  std::string usage = UsageText();
  for (const FlagSpec& flag : Flags()) {
    std::string syntax = flag.is_bool()
                             ? absl::StrCat("  --", flag.name, "\n")
                             : absl::StrCat("  --", flag.name, "=", flag.value_name, "\n");
    EXPECT_THAT(usage, HasSubstr(syntax)) << flag.name;
    if (!flag.env.empty()) {
      EXPECT_THAT(usage, HasSubstr(absl::StrCat("Env ", flag.env))) << flag.name;
    }
  }
  EXPECT_THAT(usage, HasSubstr("Default 10s."));
  EXPECT_THAT(usage, HasSubstr("Default 127.0.0.1:50051."));
}

// The synopsis of each command lists exactly the command flags it accepts,
// and the usage text holds it (wrapped).
TEST(UsageTextTest, SynopsisOfEachCommandListsExactlyItsFlags) {
  std::string unwrapped = absl::StrReplaceAll(UsageText(), {{"\n      ", " "}});
  for (const CommandSpec& spec : Commands()) {
    std::string synopsis = Synopsis(spec);
    EXPECT_THAT(unwrapped, HasSubstr(absl::StrCat("\n  ", synopsis, " "))) << synopsis;
    std::vector<std::string> words = absl::StrSplit(synopsis, ' ');
    for (const FlagSpec& flag : Flags()) {
      bool listed = false;
      for (const std::string& word : words) {
        std::string bare(absl::StripSuffix(absl::StripPrefix(word, "["), "]"));
        std::string name = bare.substr(0, bare.find('='));
        listed = listed || name == absl::StrCat("--", flag.name);
      }
      bool expected = !flag.global() && (flag.accepted & Bit(spec.command)) != 0;
      EXPECT_EQ(listed, expected) << synopsis << ": --" << flag.name;
    }
  }
}

TEST(UsageTextTest, RequiredFlagsAreNotBracketed) {
  std::string usage = UsageText();
  EXPECT_THAT(usage, HasSubstr("  integrations create ID --auth=oauth-s2s --client-id=ID"));
  EXPECT_THAT(usage, HasSubstr("  health [--service=NAME]\n"));
  EXPECT_THAT(usage, HasSubstr("  token watch ID [--show-token]\n"));
  EXPECT_THAT(usage, HasSubstr("  audit fingerprint --audit-key-file=FILE\n"));
}

TEST(UsageTextTest, FitsEightyColumns) {
  for (absl::string_view line : absl::StrSplit(UsageText(), '\n')) {
    EXPECT_LE(line.size(), 79u) << line;
  }
}

// --- Run ----------------------------------------------------------------------

TEST(RunTest, HelpPrintsUsageAndExitsZero) {
  Result help = RunTokenctl({"--help"});
  EXPECT_EQ(help.exit_code, kExitOk);
  EXPECT_EQ(help.out, UsageText());
  EXPECT_THAT(help.err, IsEmpty());
}

TEST(RunTest, NoCommandPrintsUsageToStderrAndExitsTwo) {
  Result none = RunTokenctl({});
  EXPECT_EQ(none.exit_code, kExitUsage);
  EXPECT_THAT(none.out, IsEmpty());
  EXPECT_EQ(none.err, UsageText());
}

TEST(RunTest, VersionPrintsVersion) {
  Result version = RunTokenctl({"version"});
  EXPECT_EQ(version.exit_code, kExitOk);
  EXPECT_THAT(version.out, ::testing::StartsWith("tokenctl "));
  Result json = RunTokenctl({"version", "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"version\""));
}

TEST(RunTest, UnknownFlagForCommandExitsTwo) {
  Result wrong = RunTokenctl({"token", "get", "x", "--service=s"});
  EXPECT_EQ(wrong.exit_code, kExitUsage);
  EXPECT_THAT(wrong.err, HasSubstr("tokenctl: flag --service does not apply to 'token get'"));
  EXPECT_THAT(wrong.err, HasSubstr("Run 'tokenctl help' for usage."));
}

TEST(RunTest, PlaintextWithTlsFlagsIsUsageError) {
  Result both = RunTokenctl({"--plaintext", "--ca-file=ca.pem", "health"});
  EXPECT_EQ(both.exit_code, kExitUsage);
  EXPECT_THAT(both.err, HasSubstr("--plaintext excludes --ca-file\n"));

  Result from_env = RunTokenctl({"--plaintext", "health"},
                                {{"TOKENBROKER_CERT", "c.pem"}, {"TOKENBROKER_KEY", "k.pem"}});
  EXPECT_EQ(from_env.exit_code, kExitUsage);
  EXPECT_THAT(from_env.err, HasSubstr("--plaintext excludes --cert (set by $TOKENBROKER_CERT)"));
}

TEST(RunTest, CertWithoutKeyIsUsageError) {
  Result cert = RunTokenctl({"--cert=c.pem", "integrations", "list"});
  EXPECT_EQ(cert.exit_code, kExitUsage);
  EXPECT_THAT(cert.err, HasSubstr("--cert and --key go together"));
}

TEST(RunTest, UnreadableTlsFileIsUsageErrorNamingIt) {
  Result ca = RunTokenctl({"--ca-file=/nonexistent/ca.pem", "health"});
  EXPECT_EQ(ca.exit_code, kExitUsage);
  EXPECT_THAT(ca.err, HasSubstr("/nonexistent/ca.pem"));
}

class AuditFingerprintRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/tokenctl_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::FILE* f = std::fopen(key_file().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("0123456789abcdef0123456789abcdef\n", f);
    std::fclose(f);
  }
  void TearDown() override {
    std::remove(key_file().c_str());
    std::remove(dir_.c_str());
  }
  std::string key_file() const { return dir_ + "/audit.key"; }
  std::string dir_;
};

// The same vector as fingerprint_test.cc: the command applies the format to
// the key file's content without its newline and to the token on stdin.
TEST_F(AuditFingerprintRunTest, PrintsPinnedFingerprint) {
  Result fp = RunTokenctl({"audit", "fingerprint", "--audit-key-file=" + key_file()}, {},
                          "tokenctl-vector-token\n");
  EXPECT_EQ(fp.exit_code, kExitOk) << fp.err;
  EXPECT_EQ(fp.out, "hmac:b4f08af764370708\n");

  Result json = RunTokenctl({"--json", "audit", "fingerprint", "--audit-key-file=" + key_file()},
                            {}, "tokenctl-vector-token\n");
  EXPECT_THAT(json.out, HasSubstr("\"token_fingerprint\": \"hmac:b4f08af764370708\""));
  EXPECT_THAT(json.out, Not(HasSubstr("tokenctl-vector-token")));
}

TEST_F(AuditFingerprintRunTest, NoTokenIsUsageError) {
  Result fp = RunTokenctl({"audit", "fingerprint", "--audit-key-file=" + key_file()});
  EXPECT_EQ(fp.exit_code, kExitUsage);
  EXPECT_THAT(fp.err, HasSubstr("reads the token on stdin"));
}

}  // namespace
}  // namespace tokenbroker::tokenctl
