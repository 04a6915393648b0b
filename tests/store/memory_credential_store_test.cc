#include "server/store/memory_credential_store.h"

#include "tests/store/credential_store_conformance.h"

namespace tokenbroker::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Memory, CredentialStoreConformanceTest,
    ::testing::Values(StoreFactory{"memory",
                                   [](const Clock* clock) -> std::unique_ptr<CredentialStore> {
                                     return std::make_unique<InMemoryCredentialStore>(clock);
                                   }}),
    [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

}  // namespace
}  // namespace tokenbroker::testing
