// The credentials record inside a stored envelope (server/store/SCHEMA.md,
// "Credentials record"): decoded after the envelope opened, so only a holder
// of the key can write one, but a bug in an older writer or a hand-made
// migration can. DecodeCredentialsRecord must answer DATA_LOSS or a record
// that re-encodes to one that decodes to the same secrets.
#include <cstdint>
#include <string>

#include "server/store/stored_record.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

// The plaintext columns the record's bound fields are checked against: those
// of the seeds (SCHEMA.md's example: OAuth S2S, client id `c`).
tokenbroker::Integration Columns() {
  tokenbroker::Integration integration;
  integration.id = "acme";
  integration.auth_method = tokenbroker::AuthMethod::kOAuthServerToServer;
  integration.client_id = "c";
  return integration;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tokenbroker::internal::DecodeCredentialsRecord;
  tokenbroker::Integration integration = Columns();
  absl::Status status =
      DecodeCredentialsRecord(tokenbroker::fuzz::AsView(data, size), &integration);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  tokenbroker::Integration again = Columns();
  auto record = tokenbroker::internal::EncodeCredentialsRecord(integration);
  FUZZ_CHECK(DecodeCredentialsRecord(record.value(), &again).ok());
  FUZZ_CHECK(again.credentials.client_secrets == integration.credentials.client_secrets);
  FUZZ_CHECK(again.credentials.private_key_pem == integration.credentials.private_key_pem);
  return 0;
}
