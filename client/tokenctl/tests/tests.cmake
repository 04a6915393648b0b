# tokenctl's unit tests (label `unit`: no sockets, no server): the flag table,
# parsing and per-command validation, the usage text generated from the
# table, and the fingerprint formats tokenctl shares with the server.
#
# Included by ../CMakeLists.txt at the end of the top-level directory (after
# enable_testing()), as client/cpp/tests/tests.cmake is, so paths start from
# CMAKE_CURRENT_LIST_DIR.
include(GoogleTest)
find_package(GTest REQUIRED)

file(GLOB _tb_tokenctl_test_srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*_test.cc)
add_executable(tokenctl_tests ${_tb_tokenctl_test_srcs})
target_link_libraries(tokenctl_tests PRIVATE tokenbroker::tokenctl_lib tokenbroker::fingerprint
  tokenbroker::options GTest::gmock_main)
gtest_discover_tests(tokenctl_tests PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
