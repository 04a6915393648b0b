#include "server/common/log.h"

#include <sstream>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/secret.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// What one call of Log writes to stderr.
std::string Logged(LogLevel level, absl::string_view message,
                   std::initializer_list<LogField> fields = {}) {
  ::testing::internal::CaptureStderr();
  Log(level, message, fields);
  return ::testing::internal::GetCapturedStderr();
}

class LogTest : public ::testing::Test {
 protected:
  ~LogTest() override { SetMinLogLevel(LogLevel::kInfo); }  // the default
};

TEST_F(LogTest, LogWritesOneJsonObjectPerLineWithTimeLevelMessageAndFields) {
  std::string out = Logged(LogLevel::kWarning, "token exchange failed",
                           {{"integration", "acme"}, {"attempt", "2"}});
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  nlohmann::ordered_json line = nlohmann::ordered_json::parse(out);
  std::vector<std::string> keys;
  for (const auto& item : line.items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ::testing::ElementsAre("time", "level", "msg", "integration", "attempt"));
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["msg"], "token exchange failed");
  EXPECT_EQ(line["integration"], "acme");
  EXPECT_THAT(line["time"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z"));
}

TEST_F(LogTest, LogEscapesQuotesNewlinesAndControlCharactersInKeysAndValues) {
  const std::string value = "a\"b\nc\\d\te\x01";
  std::string out = Logged(LogLevel::kInfo, "msg\nwith newline", {{"k\"ey", value}});
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "a value broke the line: " << out;
  nlohmann::json line = nlohmann::json::parse(out);
  EXPECT_EQ(line["k\"ey"], value);
  EXPECT_EQ(line["msg"], "msg\nwith newline");
}

TEST_F(LogTest, LogReplacesInvalidUtf8InsteadOfThrowing) {
  std::string out = Logged(LogLevel::kInfo, "bad bytes", {{"peer", std::string("\xc3\x28")}});
  nlohmann::json line = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(line.is_discarded()) << out;
}

TEST_F(LogTest, LogDropsLinesBelowTheMinimumLevel) {
  EXPECT_EQ(Logged(LogLevel::kDebug, "hidden"), "");  // default: info
  SetMinLogLevel(LogLevel::kError);
  EXPECT_EQ(Logged(LogLevel::kWarning, "hidden"), "");
  EXPECT_THAT(Logged(LogLevel::kError, "shown"), HasSubstr("\"level\":\"error\""));
  SetMinLogLevel(LogLevel::kDebug);
  EXPECT_THAT(Logged(LogLevel::kDebug, "shown"), HasSubstr("\"level\":\"debug\""));
}

TEST(ParseLogLevelTest, ParseLogLevelAcceptsTheFourNamesOnly) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_TRUE(ParseLogLevel("info", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  for (const char* bad : {"", "INFO", "warn", "trace", "info "}) {
    level = LogLevel::kError;
    EXPECT_FALSE(ParseLogLevel(bad, &level)) << bad;
    EXPECT_EQ(level, LogLevel::kError) << "changed by a rejected name: " << bad;
  }
}

// A secret cannot reach a log line: a LogField value is a std::string, and
// SecretString converts to none of the types that would build one, nor
// streams.
template <typename T>
concept Streamable = requires(std::ostream& os, const T& t) {
  os << t;
};

static_assert(!std::is_convertible_v<SecretString, std::string>);
static_assert(!std::is_constructible_v<std::string, SecretString>);
static_assert(!std::is_convertible_v<SecretString, absl::string_view>);
static_assert(!std::is_constructible_v<LogField, const char*, SecretString>);
static_assert(!std::is_convertible_v<SecretString, absl::AlphaNum>);
static_assert(!Streamable<SecretString>);

TEST_F(LogTest, ASecretLoggedByItsFingerprintNeverPrintsItsValue) {
  SecretString secret(std::string("p@ssw0rd-value"));
  std::string out =
      Logged(LogLevel::kInfo, "secret stored", {{"fingerprint", Fingerprint(secret.value())}});
  EXPECT_THAT(out, Not(HasSubstr("p@ssw0rd-value")));
  EXPECT_THAT(out, HasSubstr("sha256:"));
}

}  // namespace
}  // namespace tokenbroker
