#include "server/common/flag_names.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// NormalizeFlagNames over `args`, as strings.
std::vector<std::string> Normalize(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  std::vector<std::string> storage;
  std::vector<char*> out = NormalizeFlagNames(static_cast<int>(argv.size()), argv.data(), &storage);
  return {out.begin(), out.end()};
}

TEST(NormalizeFlagNamesTest, DashesInFlagNamesBecomeUnderscores) {
  EXPECT_THAT(Normalize({"tokenbroker", "--ims-url=https://ims", "--min-validity", "60s"}),
              ElementsAre("tokenbroker", "--ims_url=https://ims", "--min_validity", "60s"));
}

TEST(NormalizeFlagNamesTest, ValuesAreLeftUntouched) {
  EXPECT_THAT(Normalize({"prog", "--store=sqlite:/var/lib/token-broker/db", "--name=a-b-c"}),
              ElementsAre("prog", "--store=sqlite:/var/lib/token-broker/db", "--name=a-b-c"));
}

TEST(NormalizeFlagNamesTest, SingleDashFlagsAreNormalizedToo) {
  EXPECT_THAT(Normalize({"prog", "-log-level=debug"}), ElementsAre("prog", "-log_level=debug"));
}

TEST(NormalizeFlagNamesTest, ProgramNamePositionalsAndShortArgumentsAreLeftUntouched) {
  EXPECT_THAT(Normalize({"./token-broker", "caller-token", "create", "-v", "--"}),
              ElementsAre("./token-broker", "caller-token", "create", "-v", "--"));
}

TEST(NormalizeFlagNamesTest, NothingAfterABareDoubleDashIsTouched) {
  EXPECT_THAT(Normalize({"prog", "--log-level=info", "--", "--not-a-flag", "-x-y"}),
              ElementsAre("prog", "--log_level=info", "--", "--not-a-flag", "-x-y"));
}

TEST(NormalizeFlagNamesTest, UnderscoreNamesStayAsTheyAre) {
  std::vector<std::string> args = {"prog", "--ims_url=x", "--already_fine"};
  EXPECT_THAT(Normalize(args), ElementsAreArray(args));
}

TEST(NormalizeFlagNamesTest, ReturnedPointersPointIntoStorage) {
  std::string a0 = "prog", a1 = "--a-b";
  char* argv[] = {a0.data(), a1.data()};
  std::vector<std::string> storage;
  std::vector<char*> out = NormalizeFlagNames(2, argv, &storage);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(storage.size(), 2u);
  EXPECT_EQ(out[1], storage[1].data());
  EXPECT_EQ(a1, "--a-b");  // the caller's argv is not modified
}

}  // namespace
}  // namespace tokenbroker
