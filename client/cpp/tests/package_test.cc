// The installed package: `cmake --install` this build into a temporary
// prefix, configure and build tests/consumer/ against it with only
// CMAKE_PREFIX_PATH, and run the result against a real server.
#include <filesystem>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sdk_stack.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker::client::testing {
namespace {

using ::testing::HasSubstr;
using ::tokenbroker::testing::CommandResult;
using ::tokenbroker::testing::RunCommand;
using ::tokenbroker::testing::TempDir;

CommandResult RunChecked(const std::vector<std::string>& argv) {
  CommandResult result = RunCommand(argv);
  if (result.exit_code != 0) {
    ADD_FAILURE() << absl::StrJoin(argv, " ") << " exited " << result.exit_code << "\n"
                  << result.out << "\n"
                  << result.err;
  }
  return result;
}

TEST(PackageTest, ExternalProjectFindsInstalledPackageAndRunsAgainstServer) {
  TempDir dir;
  const std::string prefix = dir.File("prefix");
  const std::string build = dir.File("consumer-build");

  RunChecked({TOKENBROKER_CMAKE_COMMAND, "--install", TOKENBROKER_BUILD_DIR, "--prefix", prefix});
  const std::string libdir = prefix + "/" + TOKENBROKER_INSTALL_LIBDIR;
  for (const std::string& file :
       {prefix + "/include/tokenbroker/client/client.h",
        prefix + "/include/tokenbroker/client/token_source.h",
        prefix + "/include/tokenbroker/proto/tokenbroker/v1/token_service.grpc.pb.h",
        prefix + "/include/tokenbroker/proto/google/rpc/error_details.pb.h",
        libdir + "/libtokenbroker_client.a", libdir + "/libtokenbroker_proto.a",
        libdir + "/cmake/tokenbroker/tokenbrokerConfig.cmake",
        libdir + "/cmake/tokenbroker/tokenbrokerConfigVersion.cmake"}) {
    EXPECT_TRUE(std::filesystem::exists(file)) << file;
  }
  // Nothing of the server or the tests; no text file (CMake config, header)
  // points back into the source or build tree. (The archives hold debug
  // info with source paths, as any -g build does.)
  EXPECT_FALSE(std::filesystem::exists(prefix + "/bin"));
  CommandResult grep = RunCommand({"/bin/grep", "-rlI", TOKENBROKER_SOURCE_DIR, prefix});
  EXPECT_EQ(grep.out, "") << "installed files refer to the source tree";

  std::vector<std::string> configure = {TOKENBROKER_CMAKE_COMMAND,
                                        "-S",
                                        TOKENBROKER_CONSUMER_DIR,
                                        "-B",
                                        build,
                                        "-G",
                                        TOKENBROKER_CMAKE_GENERATOR,
                                        "-DCMAKE_BUILD_TYPE=Release",
                                        "-DCMAKE_PREFIX_PATH=" + prefix};
  if (std::string(TOKENBROKER_CXX_LAUNCHER).size() > 0) {
    configure.push_back(std::string("-DCMAKE_CXX_COMPILER_LAUNCHER=") + TOKENBROKER_CXX_LAUNCHER);
  }
  ASSERT_EQ(RunChecked(configure).exit_code, 0);
  ASSERT_EQ(RunChecked({TOKENBROKER_CMAKE_COMMAND, "--build", build}).exit_code, 0);

  auto stack = SdkStack::Start();
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto client = Client::New((*stack)->PlaintextOptions());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*stack)->CreateIntegration(**client, "billing", kLongClient, kLongSecret).ok());

  CommandResult consumer =
      RunChecked({build + "/consumer", (*stack)->broker().address(), "billing"});

  EXPECT_EQ(consumer.exit_code, 0);
  EXPECT_THAT(consumer.out, HasSubstr("header Authorization\nheader x-api-key\n"));
  EXPECT_THAT(consumer.out, HasSubstr("integrations 1\n"));
}

}  // namespace
}  // namespace tokenbroker::client::testing
