// PostgreSQL NOTIFY payloads on `tokenbroker_changes`: any client of the
// database may send one. DecodeChangePayload must ignore (nullopt) what it
// does not understand; what it decodes must re-encode to the same change
// (ids and origins in ASCII: the encoder replaces bytes that are not UTF-8,
// which the API never lets into an id).
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "server/store/change_payload.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

bool IsAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return absl::ascii_isascii(c); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tokenbroker::internal::DecodeChangePayload;
  auto received = DecodeChangePayload(tokenbroker::fuzz::AsView(data, size));
  if (!received) return 0;
  FUZZ_CHECK(!received->change.id.empty());
  auto again = DecodeChangePayload(
      tokenbroker::internal::EncodeChangePayload(received->change, received->origin));
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->change.kind == received->change.kind);
  FUZZ_CHECK(again->change.deleted == received->change.deleted);
  if (IsAscii(received->change.id) && IsAscii(received->origin)) {
    FUZZ_CHECK(again->change.id == received->change.id && again->origin == received->origin);
  }
  return 0;
}
