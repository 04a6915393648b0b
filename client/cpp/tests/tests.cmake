# SDK tests: GoogleTest, against the real binaries (TOKENBROKER_BIN_DIR) and,
# for interactions, an in-process fake TokenService; conformance_test.cc runs
# the shared scenarios of client/conformance/. Label `sdk`.
# tokenbroker::testing (tests/testing: subprocess and stack helpers) is linked
# here only: the installed package never depends on it or on server/.
#
# Included by ../CMakeLists.txt at the end of the top-level directory (after
# enable_testing() and tests/), so paths start from CMAKE_CURRENT_LIST_DIR.
set(_tb_sdk_tests ${CMAKE_CURRENT_LIST_DIR})
include(GoogleTest)
find_package(GTest REQUIRED)

set(_tb_sdk_test_srcs client_test.cc conformance_test.cc curl_headers_test.cc error_test.cc
  fake_server_test.cc package_test.cc retry_test.cc sdk_stack.cc tls_test.cc token_source_test.cc)
list(TRANSFORM _tb_sdk_test_srcs PREPEND ${_tb_sdk_tests}/)
add_executable(tokenbroker_client_tests ${_tb_sdk_test_srcs})
target_include_directories(tokenbroker_client_tests PRIVATE ${_tb_sdk_tests}
  ${_tb_sdk_tests}/../src)
target_link_libraries(tokenbroker_client_tests PRIVATE tokenbroker::client tokenbroker::proto
  tokenbroker::testing tokenbroker::options gRPC::grpc++ GTest::gmock_main CURL::libcurl
  nlohmann_json::nlohmann_json OpenSSL::Crypto)
target_compile_definitions(tokenbroker_client_tests PRIVATE
  TOKENBROKER_CMAKE_COMMAND="${CMAKE_COMMAND}"
  TOKENBROKER_CMAKE_GENERATOR="${CMAKE_GENERATOR}"
  TOKENBROKER_CXX_LAUNCHER="${CMAKE_CXX_COMPILER_LAUNCHER}"
  TOKENBROKER_BUILD_DIR="${CMAKE_BINARY_DIR}"
  TOKENBROKER_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  TOKENBROKER_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}"
  TOKENBROKER_CONSUMER_DIR="${_tb_sdk_tests}/consumer"
  TOKENBROKER_CONFORMANCE_FILE="${_tb_sdk_tests}/../../conformance/scenarios.json")
# The tests run the real binaries; the package test installs the SDK.
add_dependencies(tokenbroker_client_tests tokenbroker ims-emulator)
gtest_discover_tests(tokenbroker_client_tests
  PROPERTIES LABELS sdk TIMEOUT 300
  ENVIRONMENT "TOKENBROKER_BIN_DIR=${CMAKE_BINARY_DIR}/bin"
  DISCOVERY_TIMEOUT 60)
