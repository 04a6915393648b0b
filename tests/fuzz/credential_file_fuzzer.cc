// Adobe credential files (server/console/console_file.h): the Developer
// Console's download and AEM's service credentials, as a user hands them to
// `tokenctl integrations import`. Invariants: a refusal is INVALID_ARGUMENT
// and quotes nothing of the file (its message is built from fixed key names
// and indices, so it stays short); an accepted credential has an ID the
// server's rule accepts, a client id and one or two non-empty secrets; and
// any string, taken as a credential name, suggests a valid ID.
#include <cstdint>
#include <string>

#include "server/api/convert.h"
#include "server/console/console_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input = tokenbroker::fuzz::AsView(data, size);
  FUZZ_CHECK(
      tokenbroker::ValidateIntegrationId(tokenbroker::SuggestIntegrationId(input), "id").ok());

  auto file = tokenbroker::ParseCredentialFile(input);
  if (!file.ok()) {
    FUZZ_CHECK(file.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(file.status().message().size() <= 256);
    return 0;
  }
  FUZZ_CHECK(file->format == "console" || file->format == "aem");
  for (const tokenbroker::ImportedCredential& credential : file->credentials) {
    const tokenbroker::Integration& integration = credential.integration;
    FUZZ_CHECK(tokenbroker::ValidateIntegrationId(integration.id, "id").ok());
    FUZZ_CHECK(!credential.json_path.empty());
    FUZZ_CHECK(!integration.client_id.empty());
    const size_t secrets = integration.credentials.client_secrets.size();
    FUZZ_CHECK(secrets == 1 || secrets == 2);
    for (const auto& secret : integration.credentials.client_secrets) {
      FUZZ_CHECK(!secret.value().empty());
    }
    FUZZ_CHECK(integration.display_name.size() <= 128);
  }
  return 0;
}
