// Envelope ciphertexts as read from a database file someone may have
// edited. Open, Rewrap and KeyIdOf must answer DATA_LOSS or
// FAILED_PRECONDITION (unknown key) for anything they did not seal.
// The keyring is fixed: the golden envelope of FORMATS.md (seed) opens
// under it, so the fuzzer starts from a header that parses.
#include <cstdint>
#include <memory>
#include <string>

#include "server/crypto/envelope_cipher.h"
#include "server/crypto/keyring.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr char kKeyring[] =
    R"({"version":1,"primary":"k-20261123-ab12cd","keys":[{"id":"k-20261123-ab12cd",)"
    R"("created":"2026-11-23T10:00:00Z","key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]})";
constexpr char kContext[] = "integration/acme/credentials";

tokenbroker::KeyringEnvelopeCipher* Cipher() {
  static tokenbroker::KeyringEnvelopeCipher* cipher = [] {
    auto keyring = tokenbroker::Keyring::Parse(kKeyring);
    FUZZ_CHECK(keyring.ok());
    auto made = tokenbroker::KeyringEnvelopeCipher::New(*std::move(keyring));
    FUZZ_CHECK(made.ok());
    return made->release();
  }();
  return cipher;
}

bool Expected(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDataLoss ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  Cipher();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view ciphertext = tokenbroker::fuzz::AsView(data, size);
  auto key_id = Cipher()->KeyIdOf(ciphertext);
  FUZZ_CHECK(key_id.ok() || Expected(key_id.status()));
  auto opened = Cipher()->Open(ciphertext, kContext);
  FUZZ_CHECK(opened.ok() || Expected(opened.status()));
  auto rewrapped = Cipher()->Rewrap(ciphertext, kContext);
  FUZZ_CHECK(rewrapped.ok() == opened.ok());
  if (opened.ok()) {
    auto reopened = Cipher()->Open(*rewrapped, kContext);
    FUZZ_CHECK(reopened.ok() && reopened->value() == opened->value());
  }
  return 0;
}
