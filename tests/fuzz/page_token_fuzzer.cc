// Page tokens come back from callers of ListIntegrations: any bytes.
// Invariant: a token that decodes re-encodes to one that decodes to the same id.
#include <cstdint>
#include <string>

#include "server/store/page_token.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto last_id = tokenbroker::DecodePageToken(tokenbroker::fuzz::AsView(data, size));
  if (!last_id.ok()) {
    FUZZ_CHECK(last_id.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  auto again = tokenbroker::DecodePageToken(tokenbroker::EncodePageToken(*last_id));
  FUZZ_CHECK(again.ok() && *again == *last_id);
  return 0;
}
