// The CredentialStore contract, as one suite every backend must pass.
//
// A backend joins by adding one file that instantiates the suite:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, CredentialStoreConformanceTest,
//       ::testing::Values(StoreFactory{"sqlite", [](const Clock* clock) {...}}),
//       [](const auto& info) { return info.param.name; });
#ifndef TOKENBROKER_TESTS_STORE_CREDENTIAL_STORE_CONFORMANCE_H_
#define TOKENBROKER_TESTS_STORE_CREDENTIAL_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/store/credential_store.h"

namespace tokenbroker::testing {

struct StoreFactory {
  std::string name;
  // Returns a new, empty store using `clock` for create/update times.
  std::function<std::unique_ptr<CredentialStore>(const Clock* clock)> make;
};

// gtest prints parameters of failing tests: name the backend, not its bytes.
inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

class CredentialStoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_STORE_CREDENTIAL_STORE_CONFORMANCE_H_
