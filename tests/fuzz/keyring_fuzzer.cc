// The keyring file (--kek-file, a mounted Secret). Invariants: Parse answers
// INVALID_ARGUMENT or a keyring that serializes to text that parses back to
// the same keys, and that an envelope cipher accepts.
#include <cstdint>
#include <string>

#include "server/crypto/envelope_cipher.h"
#include "server/crypto/keyring.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tokenbroker::Keyring;
  auto keyring = Keyring::Parse(tokenbroker::fuzz::AsView(data, size));
  if (!keyring.ok()) {
    FUZZ_CHECK(keyring.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(keyring->Find(keyring->primary_id()) != nullptr);
  auto again = Keyring::Parse(keyring->Serialize().value());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->ids() == keyring->ids() && again->primary_id() == keyring->primary_id());
  for (const std::string& id : keyring->ids()) {
    FUZZ_CHECK(again->Find(id)->value() == keyring->Find(id)->value());
  }
  FUZZ_CHECK(tokenbroker::KeyringEnvelopeCipher::New(*std::move(keyring)).ok());
  return 0;
}
