// The --policy-file (JSON, written by an operator). Parse must answer
// INVALID_ARGUMENT or a policy whose queries are safe to run.
#include <cstdint>
#include <string>

#include "server/auth/policy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto policy = tokenbroker::Policy::Parse(tokenbroker::fuzz::AsView(data, size));
  if (!policy.ok()) {
    FUZZ_CHECK(policy.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  // Run the parsed globs and hashes against names taken from the seeds.
  (void)policy->IdentityForToken("tbct-0123456789abcdef");
  for (const char* identity :
       {"svc-billing", "spiffe://example.org/ns/billing/api", "ops-1.example.org", ""}) {
    (void)policy->Allows(identity, tokenbroker::Permission::kReadTokens, "billing-eu");
    (void)policy->Allows(identity, tokenbroker::Permission::kReadIntegrations, "");
    (void)policy->Allows(identity, tokenbroker::Permission::kManageIntegrations, "");
  }
  return 0;
}
