// The --ext-authz-routes table: parsing, the most specific row winning, and
// reloads that keep the last valid table.
#include "server/edge/route_table.h"

#include <cstdio>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

RouteTable Parse(const std::string& json) {
  absl::StatusOr<RouteTable> table = RouteTable::Parse(json);
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *std::move(table) : RouteTable();
}

void ExpectInvalid(const std::string& json, const std::string& fragment) {
  absl::StatusOr<RouteTable> table = RouteTable::Parse(json);
  ASSERT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument) << json;
  EXPECT_THAT(std::string(table.status().message()), HasSubstr(fragment)) << json;
}

TEST(RouteTableParseTest, EmptyArrayMatchesNothing) {
  EXPECT_EQ(Parse("[]").Match("api.example.com", "/"), std::nullopt);
}

TEST(RouteTableParseTest, PathPrefixDefaultsToSlash) {
  RouteTable table = Parse(R"([{"host": "api.example.com", "integration": "acme"}])");
  EXPECT_THAT(table.Match("api.example.com", "/anything"), Optional(std::string("acme")));
}

TEST(RouteTableParseTest, InvalidFilesNameTheRowAndField) {
  ExpectInvalid("{}", "must be a JSON array");
  ExpectInvalid("not json", "must be a JSON array");
  ExpectInvalid(R"([1])", "routes[0]: must be an object");
  ExpectInvalid(R"([{"integration": "acme"}])", "routes[0]: needs a non-empty \"host\"");
  ExpectInvalid(R"([{"host": "a.com"}])", "routes[0]: needs \"integration\"");
  ExpectInvalid(R"([{"host": "a.com", "integration": "Not Valid!"}])", "routes[0]: ");
  ExpectInvalid(R"([{"host": "a.com", "path_prefix": "v1", "integration": "acme"}])",
                "path_prefix must be a string starting with '/'");
  ExpectInvalid(R"([{"host": "a.*.com", "integration": "acme"}])",
                "'*' is allowed only as \"*\" or a leading \"*.\"");
  ExpectInvalid(R"([{"host": "*.", "integration": "acme"}])", "'*' is allowed only");
  ExpectInvalid(R"([{"host": "a.com", "integration": "acme", "prefix": "/"}])",
                "unknown field 'prefix'");
  ExpectInvalid(R"([{"host": "a.com", "integration": "acme"},
                    {"host": "A.com", "path_prefix": "/", "integration": "other"}])",
                "routes[1]: host 'a.com' and path_prefix '/' appear twice");
}

TEST(RouteTableMatchTest, LongestPathPrefixWins) {
  RouteTable table = Parse(R"([
    {"host": "api.example.com", "path_prefix": "/", "integration": "root"},
    {"host": "api.example.com", "path_prefix": "/v1/", "integration": "v1"},
    {"host": "api.example.com", "path_prefix": "/v1/reports", "integration": "reports"}])");
  EXPECT_THAT(table.Match("api.example.com", "/v1/reports/7"), Optional(std::string("reports")));
  EXPECT_THAT(table.Match("api.example.com", "/v1/users"), Optional(std::string("v1")));
  EXPECT_THAT(table.Match("api.example.com", "/v2"), Optional(std::string("root")));
}

TEST(RouteTableMatchTest, LongerPrefixOnAGlobBeatsShorterPrefixOnTheExactHost) {
  RouteTable table = Parse(R"([
    {"host": "api.example.com", "path_prefix": "/", "integration": "exact"},
    {"host": "*.example.com", "path_prefix": "/v1", "integration": "glob"}])");
  EXPECT_THAT(table.Match("api.example.com", "/v1/x"), Optional(std::string("glob")));
  EXPECT_THAT(table.Match("api.example.com", "/v2"), Optional(std::string("exact")));
}

TEST(RouteTableMatchTest, OnATieExactHostBeatsLongerGlobBeatsShorterGlobBeatsStar) {
  RouteTable table = Parse(R"([
    {"host": "*", "integration": "star"},
    {"host": "*.com", "integration": "com"},
    {"host": "*.example.com", "integration": "example"},
    {"host": "api.example.com", "integration": "exact"}])");
  EXPECT_THAT(table.Match("api.example.com", "/"), Optional(std::string("exact")));
  EXPECT_THAT(table.Match("www.example.com", "/"), Optional(std::string("example")));
  EXPECT_THAT(table.Match("adobe.com", "/"), Optional(std::string("com")));
  EXPECT_THAT(table.Match("localhost", "/"), Optional(std::string("star")));
}

TEST(RouteTableMatchTest, GlobNeedsALabelBeforeTheSuffix) {
  RouteTable table = Parse(R"([{"host": "*.example.com", "integration": "acme"}])");
  EXPECT_EQ(table.Match("example.com", "/"), std::nullopt);
  EXPECT_EQ(table.Match("notexample.com", "/"), std::nullopt);
  EXPECT_THAT(table.Match("a.b.example.com", "/"), Optional(std::string("acme")));
}

TEST(RouteTableMatchTest, HostIgnoresCasePortAndTrailingDotPathIgnoresQuery) {
  RouteTable table =
      Parse(R"([{"host": "API.example.com", "path_prefix": "/v1", "integration": "acme"}])");
  EXPECT_THAT(table.Match("api.EXAMPLE.com:8443", "/v1?x=1"), Optional(std::string("acme")));
  EXPECT_THAT(table.Match("api.example.com.", "/v1/a"), Optional(std::string("acme")));
  EXPECT_EQ(table.Match("api.example.com", "/v2?next=/v1"), std::nullopt);
  EXPECT_EQ(table.Match("other.example.com", "/v1"), std::nullopt);
}

TEST(RouteTableMatchTest, BracketedIpv6HostKeepsItsColons) {
  RouteTable table = Parse(R"([{"host": "[::1]", "integration": "acme"}])");
  EXPECT_THAT(table.Match("[::1]:8080", "/"), Optional(std::string("acme")));
}

class ReloadingRouteTableTest : public ::testing::Test {
 protected:
  // Written beside and renamed, as Kubernetes swaps a ConfigMap.
  void Write(const std::string& json) {
    testing::WriteFile(path_ + ".tmp", json);
    std::rename((path_ + ".tmp").c_str(), path_.c_str());
  }
  testing::TempDir dir_;
  std::string path_ = dir_.File("routes.json");
};

TEST_F(ReloadingRouteTableTest, MissingFileIsNotFoundNamingTheFlag) {
  auto table = ReloadingRouteTable::FromFile(dir_.File("absent.json"));
  ASSERT_EQ(table.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(table.status().message()), HasSubstr("--ext-authz-routes"));
}

TEST_F(ReloadingRouteTableTest, InvalidFileAtStartIsInvalidArgumentNamingThePath) {
  Write("[{]");
  auto table = ReloadingRouteTable::FromFile(path_);
  ASSERT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(table.status().message()), HasSubstr(path_));
}

TEST_F(ReloadingRouteTableTest, ReloadAppliesAValidNewFile) {
  Write(R"([{"host": "a.com", "integration": "first"}])");
  auto table = ReloadingRouteTable::FromFile(path_);
  ASSERT_TRUE(table.ok()) << table.status();
  Write(R"([{"host": "a.com", "integration": "second"}])");
  ASSERT_TRUE((*table)->Reload().ok());
  EXPECT_THAT((*table)->Match("a.com", "/"), Optional(std::string("second")));
}

TEST_F(ReloadingRouteTableTest, ReloadOfAnInvalidFileKeepsTheLastValidTable) {
  Write(R"([{"host": "a.com", "integration": "first"}])");
  auto table = ReloadingRouteTable::FromFile(path_);
  ASSERT_TRUE(table.ok()) << table.status();
  Write(R"([{"host": "a.com"}])");
  absl::Status reloaded = (*table)->Reload();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reloaded.message()), HasSubstr("needs \"integration\""));
  EXPECT_THAT((*table)->Match("a.com", "/"), Optional(std::string("first")));
  std::remove(path_.c_str());
  EXPECT_EQ((*table)->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT((*table)->Match("a.com", "/"), Optional(std::string("first")));
}

}  // namespace
}  // namespace tokenbroker
